"""What a training run produced: metrics, history and provenance, as written to `training.json`."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULT_FILE = "training.json"


@dataclass
class TrainResult:
    task: str  # "classification" or "sft"
    model_name: str  # the config's model ("minilm", "smollm2", a folder or a hub id)
    model_dir: str  # where the fine-tuned weights (or the LoRA adapter) and tokenizer were saved
    data_version: str  # the fingerprint of the data the model was trained on
    metrics: dict[str, float]  # flat test metrics, plus the validation score the run selected on
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)  # label -> precision/recall/f1/n
    confusion: dict[str, Any] = field(default_factory=dict)  # {labels, matrix}: rows true, columns predicted
    slices: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # kind -> value -> metrics + n
    history: list[dict[str, Any]] = field(default_factory=list)  # one dict per epoch
    train_seconds: float = 0.0
    tokens_per_second: float = 0.0  # non-padding training tokens per second of the training loop
    n_train: int = 0
    n_validation: int = 0
    n_test: int = 0
    n_train_examples: int = 0  # examples per epoch, after drops and oversampling
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> count, e.g. response_truncated
    truncated: dict[str, int] = field(default_factory=dict)  # split -> examples kept but cut to max_length
    # SFT: split -> token accounting under the model's tokenizer and chat template (sft_data.TokenCounts)
    tokens: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # e.g. too many train records truncated
    best_epoch: int | None = None
    samples: list[dict[str, str]] = field(default_factory=list)  # SFT: a few test prompts, references, answers
    trainable_parameters: int = 0
    total_parameters: int = 0
    base_model_path: str = ""  # what the weights were loaded from
    config: dict[str, Any] = field(default_factory=dict)  # the resolved TrainConfig
    library_versions: dict[str, str] = field(default_factory=dict)
    code_version: str = ""
    seconds_total: float = 0.0
    processes: int = 1  # training processes (a distributed launch: one per GPU or host)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict; NaN and infinities (e.g. an overflowing perplexity) become null."""
        return _finite(asdict(self))

    def write(self, directory: Path) -> Path:
        path = Path(directory) / RESULT_FILE
        path.write_text(json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n")
        return path

    @classmethod
    def read(cls, directory: Path) -> "TrainResult":
        return cls(**json.loads((Path(directory) / RESULT_FILE).read_text()))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
