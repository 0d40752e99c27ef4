"""The Hugging Face backend: `transformers.Trainer` for classification, TRL's `SFTTrainer` for
instruction and code records.

It replaces only the optimisation loop: the model, the method (full, freeze, LoRA), the encoded
examples and the final test come from the same task code as the built-in loop's, so the two
backends' metrics mean the same thing. What it adds is the Trainer's: a checkpoint every epoch
and automatic resume of a killed run, DDP over several GPUs or hosts (pipeline/train/launch.py),
bf16 or fp16 chosen by the device, early stopping with the best epoch's weights restored.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from pipeline.train.batching import IGNORE_INDEX
from pipeline.train.config import TrainConfig
from pipeline.train.loop import LoopResult, mixed_precision

log = logging.getLogger(__name__)


def checkpoint_dir(model_dir: Path) -> Path:
    """Where a model's epoch checkpoints live while it trains (beside it, hidden)."""
    return model_dir.parent / ".checkpoints" / model_dir.name


def training_arguments(config: TrainConfig, device: Any, output_dir: Path, sft: bool, has_eval: bool) -> dict:
    """The Trainer's arguments, mirroring the built-in loop's settings one for one."""
    precision = mixed_precision(device)
    scheduler = {"constant": "constant_with_warmup"}.get(config.scheduler, config.scheduler)
    metric = "loss" if sft else "macro_f1"
    return dict(
        output_dir=str(output_dir), seed=config.seed, data_seed=config.seed,
        learning_rate=config.learning_rate, weight_decay=config.weight_decay, num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size, per_device_eval_batch_size=config.eval_batch_size,
        gradient_accumulation_steps=config.grad_accum_steps,
        warmup_steps=min(float(config.warmup_ratio), 0.999999),  # a float below 1 is a ratio (ceil), as ours
        lr_scheduler_type=scheduler, max_grad_norm=config.max_grad_norm, optim="adamw_torch_fused",
        bf16=precision == "bf16", fp16=precision == "fp16", use_cpu=device.type == "cpu",
        gradient_checkpointing=False,  # applied to the model before the method wrapped it (stage.py)
        eval_strategy="epoch" if has_eval else "no", save_strategy="epoch", save_total_limit=2,
        logging_strategy="epoch", report_to="none", disable_tqdm=True,
        load_best_model_at_end=bool(config.early_stopping_patience and has_eval),
        metric_for_best_model=metric if has_eval else None, greater_is_better=not sft if has_eval else None,
        remove_unused_columns=False, dataloader_num_workers=0,
    )


def _classification_data(examples: list[dict]) -> Any:
    from datasets import Dataset

    return Dataset.from_dict({"input_ids": [e["input_ids"] for e in examples],
                              "labels": [e["labels"] for e in examples]})


def _sft_data(examples: list[dict]) -> Any:
    """Tokenized examples for TRL: the loss covers the `completion_mask` tokens (the answer), as
    the built-in loop's masked labels do."""
    from datasets import Dataset

    return Dataset.from_dict({"input_ids": [e["input_ids"] for e in examples],
                              "completion_mask": [[int(t != IGNORE_INDEX) for t in e["labels"]] for e in examples]})


def _macro_f1(labels: list[str]) -> Callable[[Any], dict[str, float]]:
    from pipeline.train.metrics import classification_report

    def compute(prediction: Any) -> dict[str, float]:
        report = classification_report(prediction.label_ids.tolist(), prediction.predictions.argmax(-1).tolist(),
                                        labels)
        return {"macro_f1": report["macro_f1"]}

    return compute


def make_trainer(model: Any, tokenizer: Any, task: Any, train_examples: list[dict], config: TrainConfig,
                 device: Any, output_dir: Path) -> Any:
    from transformers import DataCollatorWithPadding, EarlyStoppingCallback

    sft = task.name != "classification"
    validation = task.examples["validation"]
    args = training_arguments(config, device, output_dir, sft, has_eval=bool(validation))
    callbacks = [EarlyStoppingCallback(config.early_stopping_patience)] if args["load_best_model_at_end"] else []
    if sft:
        from trl import SFTConfig, SFTTrainer

        # The examples are already templated and cut to max_length (sft_data.py), as for the built-in loop.
        return SFTTrainer(model=model, processing_class=tokenizer, train_dataset=_sft_data(train_examples),
                          eval_dataset=_sft_data(validation) if validation else None, callbacks=callbacks,
                          args=SFTConfig(**args, completion_only_loss=True, max_length=None, packing=False))
    from transformers import Trainer, TrainingArguments

    trainer_class = _weighted_trainer() if task.weights is not None else Trainer
    trainer = trainer_class(model=model, args=TrainingArguments(**args), processing_class=tokenizer,
                            train_dataset=_classification_data(train_examples),
                            eval_dataset=_classification_data(validation) if validation else None,
                            data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=_macro_f1(task.labels),
                            callbacks=callbacks)
    trainer.task = task
    return trainer


def _weighted_trainer() -> type:
    from transformers import Trainer

    class WeightedTrainer(Trainer):
        """Class-weighted cross-entropy (`imbalance: class_weights`): the task's own loss."""

        def compute_loss(self, model: Any, inputs: dict, return_outputs: bool = False, num_items_in_batch: Any = None):
            loss = self.task.loss(model, inputs)
            return (loss, None) if return_outputs else loss

    return WeightedTrainer


def hf_train(model: Any, tokenizer: Any, task: Any, train_examples: list[dict], config: TrainConfig, device: Any,
             model_dir: Path, progress: Any = None) -> LoopResult:
    """Train with the Trainer, resuming from the last epoch checkpoint of an interrupted run."""
    from transformers.trainer_utils import get_last_checkpoint

    from transformers.trainer_callback import PrinterCallback

    output_dir = checkpoint_dir(model_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    trainer = make_trainer(model, tokenizer, task, train_examples, config, device, output_dir)
    trainer.remove_callback(PrinterCallback)  # its raw log dicts; the progress callback reports instead
    trainer.add_callback(_progress_callback(progress, config.epochs))
    resume = get_last_checkpoint(str(output_dir))
    if resume:
        log.info("resuming %s from %s", model_dir.name, resume)
    output = trainer.train(resume_from_checkpoint=resume)
    out = loop_result(trainer.state.log_history, output.metrics, train_examples, config,
                      resumed_from=resume, best=trainer.state.best_model_checkpoint)
    out.processes = trainer.args.world_size  # as the Trainer saw it: DDP processes, if launched so
    return out


def _progress_callback(progress: Any, epochs: int) -> Any:
    """Optimizer steps on the caller's progress bar (or a tqdm bar), and one line per epoch, as
    the built-in loop shows them."""
    from transformers import TrainerCallback

    from pipeline.train.loop import _log, _progress

    class Progress(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.advance, self.close = _progress(progress, "train", state.max_steps - state.global_step)

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.advance(1)

        def on_evaluate(self, args: Any, state: Any, control: Any, metrics: dict | None = None, **kw: Any) -> None:
            shown = "".join(f"  val_{k.removeprefix('eval_')} {v:.4f}" for k, v in (metrics or {}).items()
                            if k in ("eval_loss", "eval_macro_f1"))
            _log(f"epoch {round(state.epoch or 0)}/{epochs}{shown}  (hf)")

        def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.close()

    return Progress()


def loop_result(logs: list[dict], metrics: dict, examples: list[dict], config: TrainConfig,
                resumed_from: str | None = None, best: str | None = None) -> LoopResult:
    """The built-in loop's record of a run, from the Trainer's log: one history row per epoch."""
    rows: dict[int, dict[str, Any]] = {}
    for entry in logs:
        epoch = round(entry.get("epoch", 0))
        if not epoch:
            continue
        row = rows.setdefault(epoch, {"epoch": epoch})
        if "loss" in entry:
            row["train_loss"], row["lr"] = entry["loss"], entry.get("learning_rate")
        for key, value in entry.items():
            if key.startswith("eval_") and key not in ("eval_runtime", "eval_samples_per_second",
                                                        "eval_steps_per_second"):
                row["val_" + key.removeprefix("eval_")] = value
            if key == "eval_runtime":
                row["val_seconds"] = value
    history = [rows[k] for k in sorted(rows)]
    eval_seconds = sum(r.get("val_seconds") or 0.0 for r in history)
    seconds = max(float(metrics.get("train_runtime", 0.0)) - eval_seconds, 1e-9)
    # Tokens of the epochs this process trained (a resumed run's earlier epochs ran elsewhere).
    epochs_here = (len(history) or config.epochs) - (_epoch_of(resumed_from) or 0 if resumed_from else 0)
    tokens = sum(len(e["input_ids"]) for e in examples) * max(epochs_here, 0)
    out = LoopResult(history=history, train_seconds=seconds, train_tokens=tokens)
    out.best_epoch = _epoch_of(best) if best else (history[-1]["epoch"] if history else None)
    if resumed_from:
        out.history[0]["resumed_from"] = Path(resumed_from).name
    return out


def _epoch_of(checkpoint: str) -> int | None:
    import json

    state = Path(checkpoint) / "trainer_state.json"
    return round(json.loads(state.read_text())["epoch"]) if state.is_file() else None
