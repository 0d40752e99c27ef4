"""One-permutation signatures on a torch device (the GPU), bit for bit those of the CPU path.

What runs on the device is the per-character work after tokenising: the n-gram polynomial over
every unit, the salted mix, the bin and value of each shingle, the per-bin minimum and the
densification. Tokenising (``str.lower``, the ``\\w`` table) stays on the CPU in numpy: it reads
Python strings. torch has no unsigned 64-bit arithmetic on CUDA, so uint64 values travel as
int64 bit patterns: addition, multiplication and xor wrap identically in two's complement, and
a logical right shift is an arithmetic one with the sign-extended bits masked off.

The CPU path (`kernels.oph_sketch`) is the reference; tests run this module on the CPU
and require equal signatures and shingle hashes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.similarity.minhash import MAX_HASH
from pipeline.similarity.shingling import _POLY, layout

_EMPTY = int(MAX_HASH)

_MIX = (30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB), (31, None)


def _signed(value: int) -> int:
    """The int64 with the bit pattern of the uint64 `value`."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _shr(x: Any, shift: int) -> Any:
    """Logical right shift of int64 bit patterns."""
    return (x >> shift) & ((1 << (64 - shift)) - 1)


def _mix64(x: Any) -> Any:
    """shingling.mix64 on int64 bit patterns."""
    for shift, mult in _MIX:
        x = x ^ _shr(x, shift)
        if mult is not None:
            x = x * _signed(mult)
    return x


def _ngram_hashes(torch: Any, units: Any, valid: np.ndarray, slots: np.ndarray | None, short: np.ndarray | None,
                  n: int, salt: int, device: str) -> Any:
    """shingling.ngrams on the device: the mixed hash of every n-gram, documents in order."""
    m = len(units) - n + 1
    if m > 0:
        acc = units[:m].clone()
        for k in range(1, n):
            acc = acc * _signed(int(_POLY)) + units[k: m + k]
        full = acc[torch.from_numpy(valid[:m]).to(device)]
    else:
        full = torch.zeros(0, dtype=torch.int64, device=device)
    if slots is not None:  # documents shorter than n units: one shingle each, from the CPU path
        out = torch.empty(len(slots), dtype=torch.int64, device=device)
        at = torch.from_numpy(slots).to(device)
        out[~at] = full
        out[at] = torch.from_numpy(short.view(np.int64)).to(device)
        full = out
    if salt:
        full = full ^ _signed(salt)
    return _mix64(full)


def sketch_window(units: np.ndarray, lengths: np.ndarray, n: int, salt: int, probe: np.ndarray, device: str,
                  keep_shingles: bool = True) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(signatures uint32 (docs, bins), top 32 bits of every shingle hash (None unless kept, so
    they never leave the device for nothing), shingle counts) of one window whose units and
    per-document unit counts were computed on the CPU."""
    import torch

    k = probe.shape[0]
    counts, valid, slots, short = layout(units, lengths, n)
    u = torch.from_numpy(np.ascontiguousarray(units).view(np.int64)).to(device)
    h = _ngram_hashes(torch, u, valid, slots, short, n, salt, device)
    docs = len(counts)
    flat = torch.full((docs * k,), _EMPTY, dtype=torch.int64, device=device)
    if len(h):
        bins = (_shr(h, 32) * k) >> 32
        values = torch.clamp(h & 0xFFFFFFFF, max=_EMPTY - 1)
        doc = torch.repeat_interleave(torch.arange(docs, device=device), torch.from_numpy(counts).to(device))
        flat.scatter_reduce_(0, doc * k + bins, values, reduce="amin", include_self=True)
    has = torch.from_numpy(counts > 0).to(device)
    _densify(torch, flat, has, torch.from_numpy(probe).to(device), k)
    sig = flat.reshape(docs, k).cpu().numpy().astype(np.uint32)
    top = _shr(h, 32).cpu().numpy().astype(np.uint32) if keep_shingles else None
    return sig, top, counts


def _densify(torch: Any, flat: Any, has_shingles: Any, probe: Any, k: int) -> None:
    """kernels.oph_sketch's densification on the device: each empty bin of a document with
    shingles takes the first non-empty bin of its probe sequence, read before any is filled."""
    empty = (flat == _EMPTY).reshape(-1, k) & has_shingles[:, None]
    cells = torch.nonzero(empty.reshape(-1)).squeeze(1)
    row_start, col = cells - cells % k, cells % k
    fill = torch.empty_like(cells)
    todo = torch.arange(len(cells), device=flat.device)
    for t in range(k):
        if not len(todo):
            break
        v = flat[row_start[todo] + probe[col[todo], t]]
        hit = v != _EMPTY
        fill[todo[hit]] = v[hit]
        todo = todo[~hit]
    flat[cells] = fill


def resolve_device(device: str) -> str:
    from pipeline.devices import resolve_device as resolve

    return resolve(device, "near.device")
