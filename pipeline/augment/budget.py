"""How many candidates each record gets, and how many kept outputs a parent or a label may have.

Two ways to size the output:
  multipliers  `copies` per record of each augmenter, scaled per label (`label_multipliers`;
               a fractional count rounds up or down by a seeded coin, so 0.5 means every
               other record on average, reproducibly);
  balance      classification labels smaller than `balance_target` x the largest label are
               augmented up to it; each record of such a label gets enough candidates for
               its share (with room for the gates' rejections), and once a label has its
               quota, further candidates are rejected as `budget:label_quota`.
`max_per_record` caps the kept outputs of one parent in both modes (`budget:per_record`).
Each augmenter is a stage of its own, run in order: a budget starts from what the input already
holds (earlier augmenters' outputs count towards a label's size and a parent's cap), and the
whole shortfall of a label is asked of the current augmenter.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from typing import Any

from pipeline.augment.config import AugmenterConfig, BudgetConfig

# Gates reject part of what is made; make this much more than a label needs.
BALANCE_OVERSAMPLE = 1.5


def _coin(record_id: str, name: str, p: float) -> bool:
    h = hashlib.blake2b(f"budget\x1f{record_id}\x1f{name}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") / float(1 << 64) < p


class Budget:
    def __init__(self, config: BudgetConfig, label_counts: Counter, originals: Counter | None = None,
                 children: Counter | None = None):
        """`label_counts`: records per label (all); `originals`: those that may be augmented
        (no parent); `children`: outputs already made per parent id."""
        self.config = config
        self.kept_per_parent: Counter = Counter(children or {})
        self.kept_per_label: Counter = Counter()
        self.quota: dict[str, int] = {}
        self.per_record: dict[str, int] = {}
        originals = originals if originals is not None else label_counts
        if config.balance and label_counts:
            n_max = max(label_counts.values())
            for label, n in label_counts.items():
                need = max(0, math.ceil(config.balance_target * n_max) - n)
                self.quota[label] = need
                base = max(originals.get(label, 0), 1)
                self.per_record[label] = math.ceil(BALANCE_OVERSAMPLE * need / base) if need else 0

    def copies_for(self, row: dict[str, Any], spec: AugmenterConfig) -> int:
        label = row.get("label") if row["kind"] == "classification" else None
        if self.config.balance and label is not None:
            return min(self.per_record.get(label, 0), 100)
        factor = self.config.label_multipliers.get(label, 1.0) if label is not None else 1.0
        exact = spec.copies * factor
        whole = math.floor(exact)
        return whole + int(_coin(row["id"], spec.name or spec.method, exact - whole))

    def admit(self, parent: dict[str, Any]) -> str | None:
        """None when a passing candidate of this parent may be kept (and counts it), else the reason."""
        cap = self.config.max_per_record
        if cap is not None and self.kept_per_parent[parent["id"]] >= cap:
            return "budget:per_record"
        label = parent.get("label") if parent["kind"] == "classification" else None
        if self.config.balance and label is not None and self.kept_per_label[label] >= self.quota.get(label, 0):
            return "budget:label_quota"
        self.kept_per_parent[parent["id"]] += 1
        if label is not None:
            self.kept_per_label[label] += 1
        return None

    def counters(self) -> dict[str, int]:
        out = {f"budget:kept_label:{k}": v for k, v in self.kept_per_label.items()}
        out.update({f"budget:quota:{k}": v for k, v in self.quota.items()})
        out.update({f"budget:short:{k}": q - self.kept_per_label[k] for k, q in self.quota.items()
                    if self.kept_per_label[k] < q})
        return out
