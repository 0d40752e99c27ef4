"""The planted-defect benchmark's settings: which clean data, which defects, how to train.

Point `data` at your own clean labelled JSONL (`text_field`, `label_field`, optionally a
`group_field` whose equal values must stay in one split) to measure the pipeline on it; the
default is Brown corpus genre passages.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from pipeline.config_base import Strict
from pipeline.defects.plant import DefectRates, FlipMode
from pipeline.train import TrainConfig


def _cpu_training() -> TrainConfig:
    # MiniLM, sized for 2 CPU cores: a few minutes per training run.
    return TrainConfig(model="minilm", epochs=2, batch_size=16, max_length=96, learning_rate=1e-4)


class DefectBenchConfig(Strict):
    data: str = Field(default="brown", description="'brown' (Brown genre passages) or a JSONL file of clean records")
    text_field: str = "text"
    label_field: str = "label"
    group_field: str | None = Field(default=None, description="records sharing a value stay in one split")
    max_items: int | None = Field(default=1500, ge=10, description="whole groups sampled up to this many records")
    per_group: int | None = Field(default=3, ge=1, description="at most this many records of a group (a Brown "
                                  "document), so the sample spans many groups: a test split of a few "
                                  "documents measures those documents, not the model")
    test_share: float = Field(default=0.2, gt=0, lt=1)
    validation_share: float = Field(default=0.1, gt=0, lt=1)
    rates: DefectRates = Field(default_factory=DefectRates)
    flip: FlipMode = Field(default="pair", description="label flips to any other label (uniform) or to the "
                           "next one in sorted order (pair: two classes confused with each other)")
    seed: int = Field(default=0, ge=0, description="sampling, splitting and planting")
    out_dir: str = "runs/defects"
    pipeline: dict[str, Any] = Field(default_factory=dict, description="merged into the pipeline config "
                                     "(e.g. clean or dedup settings) the corrupted data runs through")
    models: list[Literal["tfidf", "head", "finetune"]] = Field(
        default=["tfidf", "head"], min_length=1, description="tfidf: TF-IDF + logistic regression; head: a "
        "classifier head on frozen MiniLM embeddings, trained to convergence; finetune: MiniLM fine-tuned "
        "with `train` (minutes per run on a CPU)")
    head_hidden: int = Field(default=256, ge=1)
    head_iterations: int = Field(default=200, ge=1)
    train: TrainConfig = Field(default_factory=_cpu_training)
    seeds: int = Field(default=3, ge=2, le=50, description="training seeds per arm (intervals need >= 2)")
    review_share: float = Field(default=0.2, gt=0, le=1, description="share of the curated train records "
                                "selected for label review; the reviewer (simulated from the planted truth) "
                                "restores a flipped record's label and confirms the others")
    review_features: Literal["embeddings", "tfidf"] = Field(
        default="embeddings", description="what the out-of-fold model behind the review selection reads")
    resamples: int = Field(default=1000, ge=100)
