"""train_and_evaluate: fine-tune on the train split, select on validation, measure on test, save.

Reads top to bottom: pick the task from the records' kind, resolve the config, cap the splits,
load the model, make the chosen part trainable, encode, train, evaluate, and write the model
with `training.json` into `out_dir` through a temporary folder (a killed run leaves nothing
that looks finished).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa

from pipeline.fingerprint import code_version, library_versions
from pipeline.train.batching import deterministic_subset, seed_everything
from pipeline.train.config import TrainConfig
from pipeline.train.result import TrainResult

TEST_ITEMS_FILE = "test_items.parquet"  # one row per test record: what stats.py resamples
TASK_BY_KIND = {"classification": "classification", "instruction": "sft", "code": "sft"}
_TRAINING_LIBRARIES = ("torch", "transformers", "peft", "accelerate", "tokenizers", "scikit-learn")


def train_and_evaluate(
    train: pa.Table,
    validation: pa.Table,
    test: pa.Table,
    config: TrainConfig,
    out_dir: Path,
    *,
    data_version: str,
    progress: Callable[[str, int | None], Callable[[int], None]] | None = None,
) -> TrainResult:
    from pipeline.train.loop import train_loop
    from pipeline.train.models import apply_method, check_max_length, count_parameters

    started = time.perf_counter()
    task_name = task_of(train, validation, test)
    config = config.resolved(task_name)
    device = pick_device(config.device)
    seed_everything(config.seed)  # before loading: the new classification head is drawn here
    splits, dropped = cap_splits(train, validation, test, config)

    task = make_task(task_name, *splits, config, device)
    model, tokenizer, base_path = task.load()
    check_max_length(model, config.max_length)
    if config.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model = apply_method(model, config, task_name).to(device)
    train_examples = task.prepare(tokenizer)
    if config.backend == "hf":
        from pipeline.train.hf_backend import hf_train

        loop = hf_train(model, tokenizer, task, train_examples, config, device, Path(out_dir), progress)
    else:
        loop = train_loop(model, train_examples, task.pad_id, task.validate, config, device,
                          score_key=task.score_key, higher_is_better=task.higher_is_better, loss_fn=task.loss,
                          progress=progress)
    from pipeline.train.distributed import is_main_process

    if not is_main_process():  # another process of a distributed launch: process 0 tests and saves
        return TrainResult(task=task_name, model_name=str(config.model), model_dir=str(Path(out_dir).resolve()),
                           data_version=data_version, metrics={}, history=loop.history, processes=loop.processes)
    evaluation = task.test(model, progress)
    trainable, total = count_parameters(model)

    result = TrainResult(
        task=task_name, model_name=str(config.model), model_dir=str(Path(out_dir).resolve()),
        data_version=data_version,
        metrics=evaluation["metrics"],
        per_class=evaluation.get("per_class", {}), confusion=evaluation.get("confusion", {}),
        slices=evaluation["slices"], history=loop.history, train_seconds=loop.train_seconds,
        tokens_per_second=loop.tokens_per_second, n_train=splits[0].num_rows,
        n_validation=splits[1].num_rows, n_test=splits[2].num_rows, n_train_examples=len(train_examples),
        dropped=dict(sorted((dropped + task.dropped).items())), truncated=dict(task.truncated),
        best_epoch=loop.best_epoch, samples=evaluation.get("samples", []), trainable_parameters=trainable,
        total_parameters=total, base_model_path=base_path, config=config.model_dump(mode="json"),
        library_versions=library_versions(_TRAINING_LIBRARIES), code_version=code_version(),
        processes=loop.processes,
    )
    result.tokens = getattr(task, "tokens", {})
    result.warnings = truncation_warnings(result.tokens, config.max_length, config.warn_truncated_share)
    result.seconds_total = time.perf_counter() - started
    save_outputs(model, tokenizer, result, Path(out_dir), evaluation.get("items"))
    if config.backend == "hf":
        from pipeline.train.hf_backend import checkpoint_dir

        shutil.rmtree(checkpoint_dir(Path(out_dir)), ignore_errors=True)  # the model is saved: resume is moot
    return result


def truncation_warnings(tokens: dict[str, Any], max_length: int, limit: float) -> list[str]:
    """A warning when more than `limit` of the train records are cut to max_length."""
    train = tokens.get("train") or {}
    share = train.get("truncated_share")
    if share is None or share <= limit:
        return []
    return [f"{share:.0%} of the train records ({train['truncated']:,} of {train['records']:,}) are longer than "
            f"max_length={max_length} tokens and lose their ends (records average "
            f"{train['tokens_per_record']:.0f} tokens); raise max_length or shorten the records"]


def task_of(*tables: pa.Table) -> str:
    """'classification' or 'sft', from the one record kind all splits share."""
    kinds = Counter(k for t in tables for k in t.column("kind").to_pylist())
    if len(kinds) != 1:
        raise ValueError(f"train_and_evaluate needs records of one kind across the splits; got {dict(kinds)}"
                         if kinds else "train_and_evaluate got no records")
    kind = next(iter(kinds))
    if kind not in TASK_BY_KIND:
        raise ValueError(f"unknown record kind {kind!r}; expected one of {sorted(TASK_BY_KIND)}")
    if tables[0].num_rows == 0:
        raise ValueError("the train split is empty")
    return TASK_BY_KIND[kind]


def pick_device(choice: str) -> Any:
    import torch

    if choice == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but torch sees no CUDA device")
    use_cuda = choice == "cuda" or (choice == "auto" and torch.cuda.is_available())
    return torch.device("cuda" if use_cuda else "cpu")


def cap_splits(train: pa.Table, validation: pa.Table, test: pa.Table,
               config: TrainConfig) -> tuple[list[pa.Table], Counter]:
    """The splits cut to the configured sizes; the records left out are counted, not hidden."""
    limits = {"train": config.max_train_records, "validation": config.max_eval_records, "test": config.max_eval_records}
    out, dropped = [], Counter()
    for (name, limit), table in zip(limits.items(), (train, validation, test)):
        capped = deterministic_subset(table, limit)
        if capped.num_rows < table.num_rows:
            dropped[f"{name}.over_max_records"] = table.num_rows - capped.num_rows
        out.append(capped)
    return out, dropped


def make_task(name: str, train: pa.Table, validation: pa.Table, test: pa.Table, config: TrainConfig, device: Any):
    if name == "classification":
        from pipeline.train.classify import ClassificationTask

        return ClassificationTask(train, validation, test, config, device)
    from pipeline.train.sft import SftTask

    return SftTask(train, validation, test, config, device)


def save_outputs(model: Any, tokenizer: Any, result: TrainResult, out_dir: Path,
                 items: dict[str, list] | None = None) -> None:
    """Weights (or the LoRA adapter), tokenizer, training.json and the per-test-item outputs
    (`test_items.parquet`), swapped into `out_dir` at once."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the model folder is meant to be shared
    try:
        model.save_pretrained(tmp)  # a PeftModel saves just its adapter (and the new head)
        tokenizer.save_pretrained(tmp)
        result.write(tmp)
        from pipeline.train.card import model_card

        (tmp / "README.md").write_text(model_card(result))  # replaces any card the base model shipped
        if items is not None:
            import pyarrow.parquet as pq

            pq.write_table(pa.table(items), tmp / TEST_ITEMS_FILE)
        old = None
        if out_dir.exists():  # a re-run replaces the previous model only once the new one is complete
            old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
            os.rename(out_dir, old)
        os.rename(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
