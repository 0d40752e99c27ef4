"""The one list of the pipeline's steps, read by the local runner, the Prefect flow and the CLI.

A step is a name (the CLI's command, `--until`, an ablation's `after:`) and the stages it runs
for a given config: none when it is switched off, one per enabled dedup level or augmenter.
Adding a stage is one class (see `pipeline.stage`) and one entry here. Training and the
ablation come after the data steps (`MODEL_STEPS`); they read the split, not a stage input.

`python -m pipeline.steps [--config FILE]` prints the list, and the stages a config expands to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from pipeline.config import PipelineConfig
    from pipeline.stage import Stage


@dataclass(frozen=True)
class Step:
    name: str
    help: str
    stages: Callable[["PipelineConfig"], list["Stage"]]


def cache_dir(config: "PipelineConfig") -> Path:
    """Caches shared by runs (sentence embeddings)."""
    return Path(config.run.cache_dir or Path(config.run.out_dir) / "cache") / "embeddings"


def _collect(config: "PipelineConfig") -> list["Stage"]:
    from pipeline.collect.stage import CollectStage

    return [CollectStage(config.sources, config.collect)]


def _clean(config: "PipelineConfig") -> list["Stage"]:
    if not config.clean.enabled:
        return []
    from pipeline.clean.stage import CleanStage

    return [CleanStage(config.clean)]


def _dedup(config: "PipelineConfig") -> list["Stage"]:
    from pipeline.dedup.config import LEVELS
    from pipeline.dedup.stage import DedupStage

    stages: list["Stage"] = [DedupStage(level, config.dedup, cache_dir(config)) for level in LEVELS
                             if getattr(config.dedup, level).enabled]
    if config.dedup.reference_sets and config.dedup.ngram.enabled:
        from pipeline.dedup.ngram_stage import NgramDecontamStage

        stages.append(NgramDecontamStage(config.dedup))
    return stages


def _score(config: "PipelineConfig") -> list["Stage"]:
    """One stage per scorer; a scorer that calls a server is given its client here."""
    if not config.score.enabled:
        return []
    from pipeline.score.scorers import endpoint_client
    from pipeline.score.stage import ScoreStage

    scores = Path(config.run.cache_dir or Path(config.run.out_dir) / "cache") / "scores"
    return [ScoreStage(spec, scores, endpoint_client(spec)) for spec in config.score.scorers]


def _augment(config: "PipelineConfig") -> list["Stage"]:
    if not config.augment.enabled:
        return []
    from pipeline.augment.stage import AugmentStage

    return [AugmentStage(config.augment, spec, cache_dir(config))
            for spec in config.augment.augmenters]


def _annotate(config: "PipelineConfig") -> list["Stage"]:
    """Pulled annotations applied, when enabled and any were pulled into the run directory."""
    if not config.annotate.enabled:
        return []
    from pipeline.annotate.apply import AnnotateStage
    from pipeline.annotate.store import existing_stores

    stores = existing_stores(config.run.out_dir, config.annotate)
    if not stores:
        return []
    return [AnnotateStage(stores, config.annotate.merge_rule, config.annotate.min_annotators)]


def _split(config: "PipelineConfig") -> list["Stage"]:
    from pipeline.split.stage import SplitStage

    return [SplitStage(config.split)]


STEPS: tuple[Step, ...] = (
    Step("collect", "read every source into records", _collect),
    Step("clean", "normalise, redact PII, score and filter", _clean),
    Step("dedup", "exact, near-duplicate and semantic dedup, one stage per enabled level; n-gram "
         "decontamination against the reference sets", _dedup),
    Step("score", "model and word-list scores (perplexity/IFD, judge, classifier, flagged words), then a "
         "decision; one stage per scorer", _score),
    Step("augment", "one stage per augmenter, outputs gated and with lineage", _augment),
    Step("annotate", "accepted human annotations applied (when pulled)", _annotate),
    Step("split", "train/validation/test by group; benchmark copies removed", _split),
)
MODEL_STEPS: tuple[str, ...] = ("train", "ablation")
STEP_NAMES: tuple[str, ...] = (*(s.name for s in STEPS), *MODEL_STEPS)


def steps_until(until: str | None) -> tuple[Step, ...]:
    """The data steps to run for `--until` (all of them for a model step or None)."""
    if until is not None and until not in STEP_NAMES:
        raise ValueError(f"unknown step {until!r}; steps: {', '.join(STEP_NAMES)}")
    if until is None or until in MODEL_STEPS:
        return STEPS
    return STEPS[: [s.name for s in STEPS].index(until) + 1]


def describe(config: "PipelineConfig | None" = None) -> str:
    lines = []
    for i, step in enumerate(STEPS, 1):
        lines.append(f"{i}. {step.name:<9} {step.help}")
        if config is not None:
            for stage in step.stages(config):
                mode = "shards in parallel" if stage.parallel else "shards in order, one task"
                lines.append(f"     - {stage.name} ({type(stage).__name__}, {mode})")
    for j, name in enumerate(MODEL_STEPS, len(STEPS) + 1):
        lines.append(f"{j}. {name:<9} " + ("fine-tune and evaluate every `train` task" if name == "train"
                                          else "train every task on each data variant (`after:` a step or stage)"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m pipeline.steps", description="the pipeline's steps, in order")
    parser.add_argument("--config", help="a config file: also list the stages it runs")
    args = parser.parse_args(argv)
    config = None
    if args.config:
        from pipeline.config import load_config

        config = load_config(args.config)
    print(describe(config))


if __name__ == "__main__":
    main()
