"""Sentence embeddings through ONNX Runtime or OpenVINO: the CPU back-ends of the semantic level.

sentence-transformers offers both back-ends through `optimum-onnx` and `optimum-intel`, but on
the registries here neither installs beside transformers 5 (optimum-onnx 0.1.0 needs
transformers < 4.58; optimum-intel pulls another torch with CUDA). So the model's transformer is
exported here with `torch.onnx.export`, once per model (cached by the model folder's
fingerprint), optionally quantised to int8 weights (ONNX Runtime's dynamic quantisation), and
run by `onnxruntime` or `openvino` directly. The sentence-transformers pipeline around it is
rebuilt from the model folder's own files: its tokenizer, its pooling (mean, CLS or max, from
`1_Pooling/config.json`; mean when the folder has none, as sentence-transformers does).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.model_identity import folder_fingerprint

BACKENDS = ("torch", "onnx", "openvino")


def export_root() -> Path:
    return Path(os.environ.get("CURATE_EXPORT_CACHE", Path.home() / ".cache" / "curate" / "exports"))


def exported_model(model_dir: str, quantize: bool) -> Path:
    """The ONNX file of a sentence-transformers folder's transformer, exported on first use."""
    folder = Path(model_dir)
    if not folder.is_dir():
        raise ValueError(f"the onnx and openvino back-ends need a local model folder, got {model_dir!r}")
    target = export_root() / f"{folder.name}-{folder_fingerprint(folder)}{'-int8pc' if quantize else ''}"
    onnx_file = target / "model.onnx"
    if onnx_file.exists():
        return onnx_file
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        _export(folder, tmp / "fp32.onnx")
        if quantize:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            # Per-channel scales: one per output column keeps the small columns of MiniLM's weights apart.
            quantize_dynamic(str(tmp / "fp32.onnx"), str(tmp / "model.onnx"), weight_type=QuantType.QInt8,
                             per_channel=True)
            (tmp / "fp32.onnx").unlink()
        else:
            (tmp / "fp32.onnx").rename(tmp / "model.onnx")
        os.rename(tmp, target)  # atomic: a half-written export is never loaded
    except OSError:
        if not onnx_file.exists():  # not another process winning the race
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return onnx_file


def _export(folder: Path, out: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(str(folder), dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    sample = tokenizer(["an example sentence", "another"], padding=True, return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]
    axes = {n: {0: "batch", 1: "tokens"} for n in names} | {"last_hidden_state": {0: "batch", 1: "tokens"}}

    class ByName(torch.nn.Module):  # the inputs by keyword: forward's positional order varies by model
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: Any) -> Any:
            return self.model(**dict(zip(names, inputs))).last_hidden_state

    with torch.no_grad():
        torch.onnx.export(ByName().eval(), tuple(sample[n] for n in names), str(out), input_names=names,
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17, dynamo=False)


def pooling_mode(folder: Path) -> str:
    """mean, cls or max, as the folder's sentence-transformers Pooling module says."""
    config = folder / "1_Pooling" / "config.json"
    if not config.is_file():
        return "mean"
    c = json.loads(config.read_text())
    for mode, key in (("cls", "pooling_mode_cls_token"), ("max", "pooling_mode_max_tokens"),
                      ("mean", "pooling_mode_mean_tokens")):
        if c.get(key):
            others = [k for k, v in c.items() if k.startswith("pooling_mode") and v and k != key]
            if others:
                raise ValueError(f"{config}: pooling {key} with {others} is not supported by the onnx back-end")
            return mode
    raise ValueError(f"{config}: no pooling mode the onnx back-end supports (mean, cls, max)")


class ExportedEncoder:
    """The `encode` of a SentenceTransformer, over an exported transformer."""

    def __init__(self, model_dir: str, backend: str, quantize: bool, max_seq_length: int):
        from transformers import AutoTokenizer

        if backend not in ("onnx", "openvino"):
            raise ValueError(f"backend must be onnx or openvino here, got {backend!r}")
        self.folder = Path(model_dir)
        self.onnx_file = exported_model(model_dir, quantize)
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.folder))
        self.pooling = pooling_mode(self.folder)
        self.max_seq_length = max_seq_length
        self.backend = backend
        self._run = self._onnxruntime() if backend == "onnx" else self._openvino()
        self._dim: int | None = None

    def _onnxruntime(self) -> Any:
        import onnxruntime as ort

        session = ort.InferenceSession(str(self.onnx_file), providers=["CPUExecutionProvider"])
        names = {i.name for i in session.get_inputs()}
        return lambda feed: session.run(["last_hidden_state"], {k: v for k, v in feed.items() if k in names})[0]

    def _openvino(self) -> Any:
        import openvino as ov

        compiled = ov.Core().compile_model(str(self.onnx_file), "CPU", {"PERFORMANCE_HINT": "LATENCY"})
        names = {i.get_any_name() for i in compiled.inputs}
        request = compiled.create_infer_request()
        return lambda feed: request.infer({k: v for k, v in feed.items() if k in names})[compiled.outputs[0]]

    def get_embedding_dimension(self) -> int:
        if self._dim is None:
            self._dim = int(self.encode(["dimension"]).shape[1])
        return self._dim

    def encode(self, texts: list[str], batch_size: int = 32, normalize_embeddings: bool = True,
               **_: Any) -> np.ndarray:
        out = []
        for start in range(0, len(texts), batch_size):
            feed = self.tokenizer(texts[start:start + batch_size], padding=True, truncation=True,
                                  max_length=self.max_seq_length, return_tensors="np")
            feed = {k: v.astype(np.int64) for k, v in feed.items()}
            hidden = np.asarray(self._run(feed), dtype=np.float32)
            out.append(self._pool(hidden, feed["attention_mask"]))
        vecs = np.concatenate(out) if out else np.empty((0, 0), np.float32)
        if normalize_embeddings and len(vecs):
            vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        return vecs

    def _pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.pooling == "cls":
            return hidden[:, 0]
        m = mask[:, :, None].astype(np.float32)
        if self.pooling == "max":
            return np.where(m > 0, hidden, -1e9).max(axis=1)
        return (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
