"""The `annotate:` section: which projects, what to push, how to merge, when to retrain.

The server's URL and token are not configuration: they come from the environment
($CURATE_LS_URL, $CURATE_LS_TOKEN) or a Prefect Secret block (see deploy/), never from a file
that may be committed or logged.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.annotate.push import PushConfig
from pipeline.annotate.select import SelectConfig, StrategyConfig
from pipeline.config_base import Strict


def _default_select() -> SelectConfig:
    return SelectConfig(strategies=[
        StrategyConfig(name="label_errors", budget=50),
        StrategyConfig(name="least_confident", budget=50),
        StrategyConfig(name="near_duplicates", budget=20),
        StrategyConfig(name="augment_borderline", budget=20),
        StrategyConfig(name="random", budget=10),
    ], max_tasks=150)


class AnnotateConfig(Strict):
    """Human review in Label Studio: push the records that most need it, pull what annotators did."""

    enabled: bool = Field(default=False, description="apply pulled annotations (stage `annotate`, after augment)")
    project: str = Field(default="curate", min_length=3, pattern=r"^[A-Za-z0-9_.\- ]+$",
                         description="projects are named '<project> <kind>', one per record kind")
    kinds: list[Literal["classification", "instruction", "code"]] = Field(
        default_factory=lambda: ["classification", "instruction", "code"], min_length=1)
    annotators_per_task: int = Field(default=1, ge=1, le=20,
                                     description="Label Studio's maximum annotations (overlap) per task")
    max_annotators_per_task: int = Field(default=5, ge=1, le=50, description="an unclear task is sent to one "
                                         "more annotator after each pull, up to this many")
    merge_rule: Literal["majority", "unanimity"] = "majority"
    min_annotators: int = Field(default=1, ge=1, description="decisions wait for this many annotators")
    select: SelectConfig = Field(default_factory=_default_select)
    push: PushConfig = Field(default_factory=PushConfig)
    max_scored: int | None = Field(default=5000, ge=1, description="records per kind the model scores for "
                                   "selection (a deterministic sample; None: all). Scoring runs the model on each")
    score_max_length: int = Field(default=512, ge=16, le=8192, description="tokens per record when scoring "
                                  "(longer ones are truncated; an LM's cost grows with it)")
    pull_page_size: int = Field(default=500, ge=1, le=5000, description="tasks per page when pulling")
    retrain_threshold: int = Field(default=20, ge=1,
                                   description="retrain once this many new accepted decisions exist since the last")
    retrain_window_s: int = Field(
        default=3600, ge=1, le=30 * 86400, description="deployments: a burst of retrain_threshold accepted "
        "decisions within this many seconds starts a retrain at once (its event trigger's window); slower "
        "ones start it when a sync finds the threshold reached")
