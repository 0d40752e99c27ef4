"""Score a saved model on other evaluation splits, exactly as training scored it.

The champion gate needs this: a champion measured on an older test set (before annotations
relabelled some of its records) is scored again on the challenger's test set, so the two are
compared on one yardstick. The metrics come from the same task code as training's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.train.config import TrainConfig


def rescore(model_dir: str | Path, validation: pa.Table, test: pa.Table, config: TrainConfig) -> dict[str, Any]:
    """The test metrics (and validation scores) of the model saved in `model_dir` on these splits."""
    from pipeline.train.stage import pick_device, task_of

    task_name = task_of(test, validation)
    config = config.resolved(task_name)
    device = pick_device(config.device)
    if task_name == "classification":
        from pipeline.train.classify import ClassificationTask, label_set
        from pipeline.train.models import load_trained_classifier

        model, tokenizer = load_trained_classifier(model_dir)
        task = ClassificationTask(test, validation, test, config, device)
        known = [model.config.id2label[i] for i in range(len(model.config.id2label))]
        # The model's own label order, then labels it never saw (it can never predict them).
        task.labels = known + [label for label in label_set(validation, test) if label not in known]
    else:
        from pipeline.train.models import load_trained_causal_lm
        from pipeline.train.sft import SftTask

        model, tokenizer = load_trained_causal_lm(model_dir)
        task = SftTask(test, validation, test, config, device)
    task.prepare(tokenizer)
    return task.test(model.to(device))["metrics"]
