"""What the split looks like, measured on the records as they are written, never assumed.

Counts per split and per label, groups that straddle splits (0 unless assignment is broken),
and leakage: held-out records whose exact compared content also appears in train.
"""

from __future__ import annotations

from collections import Counter


class SplitTally:
    """Accumulates the manifest counters of the split stage, one kept record at a time."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._group_split: dict[str, str] = {}
        self._straddling: set[str] = set()
        self._train_content: set[bytes] = set()
        # Held-out content is counted per hash, so leakage can be settled once train is complete.
        self._held_out: dict[str, Counter[bytes]] = {"validation": Counter(), "test": Counter()}

    def add(self, split: str, group: str, content: bytes | None, label: str | None) -> None:
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
