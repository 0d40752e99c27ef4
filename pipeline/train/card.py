"""The model card (`README.md` in the model folder): what the model is, and the data version it
was trained on, so a model found anywhere names the exact records behind it."""

from __future__ import annotations

from typing import Any

from pipeline.train.result import TrainResult


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def model_card(result: TrainResult) -> str:
    """Hugging Face model-card text: YAML metadata, then the training data, settings and test metrics."""
    import yaml

    config = result.config
    meta = {"library_name": "peft" if config.get("method") == "lora" else "transformers",
            "base_model": result.base_model_path or result.model_name,
            "pipeline_tag": "text-classification" if result.task == "classification" else "text-generation",
            "tags": ["curate", f"data-version-{result.data_version[:12]}"]}
    lines = ["---", yaml.safe_dump(meta, sort_keys=True).strip(), "---", "",
             f"# {result.task} model trained by curate", "",
             f"- **Data version**: `{result.data_version}` (the exact train, validation and test record ids; "
             "`curate export --version` writes them as a dataset)",
             f"- **Base model**: `{result.model_name}` ({result.base_model_path})",
             f"- **Records**: {result.n_train:,} train, {result.n_validation:,} validation, {result.n_test:,} test",
             f"- **Training**: backend {config.get('backend', 'builtin')}, method {config.get('method')}, "
             f"{len(result.history)} epoch(s), best epoch {result.best_epoch}, learning rate "
             f"{config.get('learning_rate')}, batch {config.get('batch_size')}, max_length {config.get('max_length')}, "
             f"seed {config.get('seed')}; {result.processes} process(es), {result.train_seconds:.1f} s, "
             f"{result.tokens_per_second:,.0f} tokens/s",
             f"- **Code version**: `{result.code_version}`", "", "## Test metrics", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {_fmt(v)} |" for k, v in sorted(result.metrics.items()) if v is not None]
    if result.warnings:
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in result.warnings]
    return "\n".join(lines) + "\n"
