"""What an augment stage did, per augmenter: generated, kept, rejected per gate, and examples."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CANDIDATES = "candidates.parquet"


@dataclass
class AugmenterSummary:
    name: str
    method: str
    generated: int = 0
    kept: int = 0
    decisions: Counter = field(default_factory=Counter)  # reason -> count, "kept" included
    examples: list[dict[str, Any]] = field(default_factory=list)  # kept: field, before, after, scores


def augment_summary(stage_dir: str | Path, examples: int = 2, chars: int = 160) -> list[AugmenterSummary]:
    """Per augmenter, from candidates.parquet and the kept parts; [] when the folder is no augment stage."""
    import pyarrow.parquet as pq

    stage_dir = Path(stage_dir)
    if not (stage_dir / CANDIDATES).is_file():
        return []
    cands = pq.read_table(stage_dir / CANDIDATES).to_pylist()
    out: dict[str, AugmenterSummary] = {}
    wanted: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in cands:
        s = out.setdefault(c["augmenter"], AugmenterSummary(c["augmenter"], c["method"]))
        s.generated += 1
        s.decisions[c["decision"]] += 1
        if c["decision"] == "kept":
            s.kept += 1
            if len(wanted[c["augmenter"]]) < examples:
                wanted[c["augmenter"]].append(c)
    ids = {c["id"] for w in wanted.values() for c in w} | {c["parent_id"] for w in wanted.values() for c in w}
    if ids:
        import pyarrow.compute as pc

        kept = pq.read_table(stage_dir / "kept")
        rows = {r["id"]: r for r in kept.filter(pc.is_in(kept.column("id"), value_set=_array(ids))).to_pylist()}
        for name, chosen in wanted.items():
            for c in chosen:
                parent, child = rows.get(c["parent_id"]), rows.get(c["id"])
                if parent is None or child is None:
                    continue
                for f in c["fields"].split(","):
                    before, after = changed_lines(str(parent.get(f) or ""), str(child.get(f) or ""))
                    out[name].examples.append({
                        "field": f, "before": _cut(before, chars), "after": _cut(after, chars),
                        "scores": {k: c[k] for k in ("similarity", "length_ratio", "alpha_equivalent", "equivalent",
                                                     "tests_passed", "label_prob") if c.get(k) is not None},
                    })
    return list(out.values())


def changed_lines(before: str, after: str) -> tuple[str, str]:
    """The first run of lines that differ (a function's renamed lines, not its unchanged header)."""
    import difflib

    a, b = before.splitlines(), after.splitlines()
    if len(a) <= 1 and len(b) <= 1:
        return before, after
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != "equal":
            return "\n".join(a[i1:i2]).strip() or "(nothing)", "\n".join(b[j1:j2]).strip() or "(nothing)"
    return before, after


def _array(values: set[str]) -> Any:
    import pyarrow as pa

    return pa.array(sorted(values), type=pa.string())


def _cut(value: Any, chars: int) -> str:
    text = str(value or "").replace("\n", "⏎ ")
    return text[:chars] + ("…" if len(text) > chars else "")
