"""Where a model runs: one answer to `device: auto | cpu | cuda` for every stage that has a model."""

from __future__ import annotations

from pathlib import Path


def resolve_device(device: str, setting: str = "device") -> str:
    """'auto' -> 'cuda' when torch sees a GPU, else 'cpu'. Without an NVIDIA driver on the machine,
    'auto' answers 'cpu' without importing torch (a second of start-up the CPU path does not need);
    'cuda' without a GPU fails now, naming the setting (`setting`, e.g. "near.device")."""
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"{setting} must be auto, cpu or cuda, got {device!r}")
    if device == "cpu" or (device == "auto" and not Path("/proc/driver/nvidia/version").exists()):
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if device == "cuda":
        raise RuntimeError(f"{setting} 'cuda' was asked for but torch sees no GPU (torch {torch.__version__}); "
                           f"set {setting}: cpu or auto")
    return "cpu"
