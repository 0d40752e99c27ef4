"""The `train:` section of the pipeline YAML: what to fine-tune, how, and how to evaluate it.

Defaults are chosen to give a useful model on 2 CPU cores in minutes; every field says why
it exists. Fields left as `None` are resolved per task by `resolved()` (the resolved config
is what `training.json` records).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from pipeline.config_base import Strict

# The offline defaults: all-MiniLM-L6-v2 (a 22.7M-parameter BERT) for classification,
# SmolLM2-135M-Instruct (a Llama) for generative SFT. Any other string is a local folder or a hub id.
DEFAULT_MODELS = {"classification": "minilm", "sft": "smollm2"}
# Full fine-tuning moves every weight, so it wants a small step; LoRA trains a few new
# low-rank matrices from zero and needs a larger one to get anywhere in a few epochs.
DEFAULT_LEARNING_RATES = {"full": 5e-5, "freeze": 1e-4, "lora": 5e-4}


class TrainConfig(Strict):
    """Fine-tune a pretrained model on the train split, select on validation, report on test."""

    # -- which trainer
    backend: Literal["builtin", "hf"] = Field(
        default="builtin", description="builtin: this project's loop (one device); hf: transformers.Trainer "
        "(classification) or TRL's SFTTrainer (instruction, code), with checkpoints every epoch and resume, "
        "and several GPUs or hosts under `accelerate launch -m pipeline.train.launch`")
    gradient_checkpointing: bool = Field(
        default=False, description="recompute activations in the backward pass: less memory, ~30% slower")
    # -- model and method
    model: str | None = Field(
        default=None,
        description="'minilm', 'smollm2', a local model folder or a hub id; default: minilm for "
        "classification records, smollm2 for instruction and code records",
    )
    method: Literal["full", "freeze", "lora"] = Field(
        default="full", description="full: train every weight; freeze: only the top layers + head; lora: adapters"
    )
    freeze_top_layers: int = Field(
        default=2, ge=0, le=256, description="method freeze: train the top N transformer layers (0 = head only)"
    )
    lora_r: int = Field(default=8, ge=1, le=512, description="LoRA rank")
    lora_alpha: float = Field(default=16.0, gt=0, description="LoRA scaling numerator (scale = alpha / r)")
    lora_dropout: float = Field(default=0.05, ge=0, lt=1)
    lora_target_modules: list[str] | None = Field(
        default=None, description="module names to adapt; default: peft's per-architecture choice "
        "(query/value for BERT, q_proj/v_proj for Llama)"
    )
    # -- optimisation
    learning_rate: float | None = Field(
        default=None, gt=0, le=1, description="peak learning rate; default 5e-5 full, 1e-4 freeze, 5e-4 lora"
    )
    weight_decay: float = Field(default=0.01, ge=0, le=1, description="AdamW decay (never on biases or norms)")
    epochs: int = Field(default=3, ge=1, le=1000)
    batch_size: int = Field(default=16, ge=1, le=4096, description="examples per forward pass")
    grad_accum_steps: int = Field(default=1, ge=1, le=1024, description="forward passes per optimiser step")
    max_length: int = Field(default=256, ge=8, le=131072, description="tokens per example, after truncation")
    warmup_ratio: float = Field(default=0.1, ge=0, le=1, description="fraction of steps with a rising LR")
    scheduler: Literal["linear", "cosine", "constant"] = Field(default="linear", description="LR after warm-up")
    max_grad_norm: float = Field(default=1.0, gt=0, description="gradient clipping")
    early_stopping_patience: int | None = Field(
        default=None, ge=1, description="stop after N epochs without a better validation score "
        "(macro-F1 for classification, loss for SFT) and restore the best weights; None: train every epoch"
    )
    imbalance: Literal["none", "class_weights", "oversample"] = Field(
        default="none", description="classification only: weight the loss by inverse class frequency, "
        "or repeat minority-class examples up to the majority count"
    )
    seed: int = Field(default=0, ge=0, description="seeds python, numpy, torch and the data order")
    warn_truncated_share: float = Field(
        default=0.1, ge=0, le=1, description="SFT: warn when more than this share of the train records is cut "
        "to max_length (their answers lose their ends)")
    # -- size caps for CPU demos (a deterministic subset: the records with the smallest id hashes)
    max_train_records: int | None = Field(default=None, ge=1)
    max_eval_records: int | None = Field(default=None, ge=1, description="caps validation and test each")
    device: Literal["auto", "cpu", "cuda"] = Field(
        default="auto", description="auto: CUDA when available (bf16 autocast, or fp16 with loss scaling on "
        "GPUs without bf16), else CPU in fp32"
    )
    # -- evaluation
    eval_batch_size: int | None = Field(default=None, ge=1, description="default: 2 x batch_size")
    max_new_tokens: int = Field(default=64, ge=1, le=4096, description="greedy generation length on test")
    generation_metric: Literal["exact_match", "rouge_l"] = Field(
        default="rouge_l", description="exact_match for short answers, rouge_l for free text"
    )
    code_test_timeout_s: float = Field(default=10.0, gt=0, le=600, description="wall time per code test run")

    @model_validator(mode="after")
    def _lora_fields_need_lora(self) -> "TrainConfig":
        if self.lora_target_modules is not None and self.method != "lora":
            raise ValueError("lora_target_modules is set but method is not 'lora'")
        return self

    def resolved(self, task: Literal["classification", "sft"]) -> "TrainConfig":
        """A copy with the per-task and per-method defaults filled in."""
        if task == "sft" and self.imbalance != "none":
            raise ValueError("imbalance applies to classification records only")
        return self.model_copy(
            update={
                "model": self.model or DEFAULT_MODELS[task],
                "learning_rate": self.learning_rate or DEFAULT_LEARNING_RATES[self.method],
                "eval_batch_size": self.eval_batch_size or 2 * self.batch_size,
            }
        )
