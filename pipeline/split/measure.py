"""What the split looks like, measured on the records as they are written, never assumed.

Counts per split and per label, groups that straddle splits (0 unless assignment is broken),
and leakage: held-out records whose exact compared content also appears in train, and those
with a near duplicate in train (MinHash estimate of character 5-gram Jaccard at or above a threshold).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

_SPLIT_CODES = {"train": 0, "validation": 1, "test": 2}


class SplitTally:
    """Accumulates the manifest counters of the split stage, one kept record at a time."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._group_split: dict[str, str] = {}
        self._straddling: set[str] = set()
        self._train_content: set[bytes] = set()
        # Held-out content is counted per hash, so leakage can be settled once train is complete.
        self._held_out: dict[str, Counter[bytes]] = {"validation": Counter(), "test": Counter()}
        self.row_splits: list[int] = []  # split code per kept record, in input order (rejected: -1)

    def skip(self) -> None:
        """A rejected input row: it has no split."""
        self.row_splits.append(-1)

    def add(self, split: str, group: str, content: bytes | None, label: str | None) -> None:
        self.row_splits.append(_SPLIT_CODES[split])
        self.counts[f"split:{split}"] += 1
        if label is not None:
            self.counts[f"split:{split}:label={label}"] += 1
        first = self._group_split.setdefault(group, split)
        if first != split:
            self._straddling.add(group)
        if content is None:
            return
        if split == "train":
            self._train_content.add(content)
        else:
            self._held_out[split][content] += 1

    def counters(self) -> dict[str, int]:
        """The final counters; zeros are kept so a reader can tell "none" from "not measured"."""
        out = {f"split:{name}": 0 for name in ("train", "validation", "test")}
        out.update(self.counts)
        for split, held in self._held_out.items():
            out[f"leakage:{split}_exact_in_train"] = sum(n for c, n in held.items() if c in self._train_content)
        out["groups:total"] = len(self._group_split)
        out["groups:straddling"] = len(self._straddling)
        return out


class NearLeakage:
    """Held-out records with a near duplicate in train, found with the dedup stage's MinHash LSH."""

    def __init__(self, threshold: float, num_perm: int = 64):
        from pipeline.similarity.lsh import optimal_bands
        from pipeline.similarity.minhash import MinHasher

        self.threshold = threshold
        self.hasher = MinHasher(num_perm=num_perm, ngram=5, unit="char", seed=1)  # as dedup's default
        self.bands, self.rows = optimal_bands(threshold, num_perm)

    def signatures(self, texts: list[str | None]) -> np.ndarray:
        return self.hasher.signatures(texts)

    def count(self, signatures: list[np.ndarray], row_splits: list[int]) -> dict[str, int]:
        from pipeline.similarity.lsh import band_keys, cross_candidate_pairs, estimated_jaccard

        out = {"leakage:validation_near_in_train": 0, "leakage:test_near_in_train": 0}
        if not signatures:
            return out
        sig, splits = np.concatenate(signatures), np.asarray(row_splits)
        train = np.flatnonzero(splits == 0)
        for name, code in (("validation", 1), ("test", 2)):
            held = np.flatnonzero(splits == code)
            if len(held) == 0 or len(train) == 0:
                continue
            pairs = cross_candidate_pairs(band_keys(sig[held], self.bands, self.rows),
                                          band_keys(sig[train], self.bands, self.rows))
            if len(pairs) == 0:
                continue
            sims = estimated_jaccard(sig[held], sig[train], pairs)
            out[f"leakage:{name}_near_in_train"] = len(np.unique(pairs[sims >= self.threshold, 0]))
        return out
