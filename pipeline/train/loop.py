"""The training loop shared by classification and SFT: one readable loop, nanoGPT style.

AdamW with warm-up and a schedule, gradient accumulation and clipping, one validation line
per epoch, early stopping on the validation score with the best weights restored.
"""

from __future__ import annotations

import contextlib
import logging
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from pipeline.train.batching import iterate_batches, to_device
from pipeline.train.config import TrainConfig

log = logging.getLogger(__name__)


@dataclass
class LoopResult:
    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int | None = None
    train_seconds: float = 0.0  # optimisation only; validation time is reported per epoch
    train_tokens: int = 0  # non-padding tokens seen by forward passes
    processes: int = 1  # processes that trained together (the hf backend under a distributed launch)

    @property
    def tokens_per_second(self) -> float:
        return self.train_tokens / self.train_seconds if self.train_seconds else 0.0


def mixed_precision(device: Any) -> str | None:
    """bf16 on a CUDA GPU that has it, fp16 (with loss scaling) on one that does not; CPU: fp32,
    where bf16 is slower."""
    import torch

    if device.type != "cuda":
        return None
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def autocast(device: Any) -> Any:
    """Autocast to the device's mixed precision over fp32 master weights."""
    import torch

    precision = mixed_precision(device)
    if precision is None:
        return contextlib.nullcontext()
    return torch.autocast("cuda", dtype=torch.bfloat16 if precision == "bf16" else torch.float16)


def make_optimizer(model: Any, config: TrainConfig, device: Any) -> Any:
    """AdamW; biases and norm weights (the 1-d tensors) get no weight decay, as in nanoGPT."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": config.weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    groups = [g for g in groups if g["params"]]
    # The fused kernel is what transformers.Trainer uses by default; it is faster on CPU too.
    return torch.optim.AdamW(groups, lr=config.learning_rate, fused=device.type in ("cpu", "cuda"))


def make_scheduler(optimizer: Any, config: TrainConfig, total_steps: int) -> Any:
    from transformers import get_scheduler

    name = {"constant": "constant_with_warmup"}.get(config.scheduler, config.scheduler)
    warmup = math.ceil(config.warmup_ratio * total_steps)
    return get_scheduler(name, optimizer, num_warmup_steps=warmup, num_training_steps=total_steps)


def default_loss(model: Any, batch: dict[str, Any]) -> Any:
    return model(**batch).loss


def train_loop(
    model: Any,
    examples: list[dict[str, Any]],
    pad_id: int,
    validate: Callable[[Any], dict[str, float]],
    config: TrainConfig,
    device: Any,
    *,
    score_key: str,
    higher_is_better: bool,
    loss_fn: Callable[[Any, dict[str, Any]], Any] = default_loss,
    progress: Callable[[str, int | None], Callable[[int], None]] | None = None,
) -> LoopResult:
    import torch

    accum = config.grad_accum_steps
    n_batches = math.ceil(len(examples) / config.batch_size)
    steps_per_epoch = math.ceil(n_batches / accum)
    optimizer = make_optimizer(model, config, device)
    scheduler = make_scheduler(optimizer, config, steps_per_epoch * config.epochs)
    trainable = [p for p in model.parameters() if p.requires_grad]
    # fp16 gradients underflow without loss scaling; bf16 and fp32 need none (the scaler is then a no-op).
    scaler = torch.amp.GradScaler("cuda", enabled=mixed_precision(device) == "fp16")
    advance, close = _progress(progress, "train", steps_per_epoch * config.epochs)
    out, best_score, best_state, stale = LoopResult(), None, None, 0

    for epoch in range(1, config.epochs + 1):
        model.train()
        t0, loss_sum, epoch_tokens = time.perf_counter(), torch.zeros((), device=device), 0
        batches = iterate_batches(examples, config.batch_size, pad_id, shuffle=True, seed=config.seed, epoch=epoch)
        for i, (_, batch) in enumerate(batches):
            epoch_tokens += int(batch["attention_mask"].sum())  # counted on the host: no device sync
            batch = to_device(batch, device)
            # The last accumulation group of an epoch may be short: average over its real size.
            group_size = min(accum, n_batches - (i // accum) * accum)
            with autocast(device):
                loss = loss_fn(model, batch)
            scaler.scale(loss / group_size).backward()
            loss_sum += loss.detach()  # summed on the device; read once per epoch
            if (i + 1) % accum == 0 or i + 1 == n_batches:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(trainable, config.max_grad_norm)
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                advance(1)
        seconds = time.perf_counter() - t0
        out.train_seconds += seconds
        out.train_tokens += epoch_tokens

        t1 = time.perf_counter()
        scores = validate(model)
        row = {"epoch": epoch, "train_loss": loss_sum.item() / max(n_batches, 1), **scores, "seconds": seconds,
               "val_seconds": time.perf_counter() - t1, "tokens_per_second": epoch_tokens / seconds,
               "lr": scheduler.get_last_lr()[0]}
        out.history.append(row)
        _epoch_line(row, config.epochs, scores)

        score = scores[score_key]
        if score is None:  # an empty validation split cannot select an epoch: keep the last
            continue
        if best_score is None or (score > best_score if higher_is_better else score < best_score):
            best_score, out.best_epoch, stale = score, epoch, 0
            if config.early_stopping_patience is not None:
                best_state = _snapshot(model)
        else:
            stale += 1
            if config.early_stopping_patience is not None and stale >= config.early_stopping_patience:
                _log(f"early stop: no better {score_key} for {stale} epoch(s); best was epoch {out.best_epoch}")
                break
    close()

    if best_state is not None:  # early stopping asks for the best epoch's weights, not the last
        _restore(model, best_state)
    else:  # without early stopping the last epoch's weights are the ones kept
        out.best_epoch = len(out.history)
    return out


def _snapshot(model: Any) -> dict[str, Any]:
    """Copies of the trainable tensors only: frozen ones cannot have changed."""
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def _restore(model: Any, state: dict[str, Any]) -> None:
    import torch

    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in state.items():
            params[name].copy_(value)


def _epoch_line(row: dict[str, Any], epochs: int, scores: dict[str, float]) -> None:
    shown = "".join(f"  {k} {v:.4f}" if v is not None else f"  {k} -" for k, v in scores.items())
    _log(f"epoch {row['epoch']}/{epochs}  train_loss {row['train_loss']:.4f}{shown}  "
         f"{row['seconds']:.1f}s  {row['tokens_per_second']:,.0f} tok/s")


def _log(line: str) -> None:
    from tqdm.auto import tqdm

    log.info(line)
    tqdm.write(line, file=sys.stderr)  # prints above an active tqdm bar instead of through it


def _progress(factory: Any, stage: str, total: int) -> tuple[Callable[[int], None], Callable[[], None]]:
    """(advance, close) from the caller's progress factory, or a tqdm bar when none is given."""
    if factory is not None:
        return factory(stage, total), lambda: None
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=stage, leave=False)
    return bar.update, bar.close
