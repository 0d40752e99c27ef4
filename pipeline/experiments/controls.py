"""Size-matched random controls: is a stage better than a random subset of the same size?

A curated variant is usually smaller than the one before it, so "curated beats raw" could be the
size, or chance. The control is the previous variant's train split cut at random to the curated
variant's number of records, whole groups at a time (records sharing a `group_id` are never
split, as in the split stage), and trained with the same seeds. When a stage adds records
(augmentation), the control is the previous train split topped up with repeats of randomly drawn
whole groups: does the stage beat seeing the same records again?
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

REPEAT_MARK = "~repeat"  # a repeated record's id: its original's id, this mark and the repeat number


def _groups(table: pa.Table) -> tuple[list[str], dict[str, list[int]]]:
    """The groups in first-seen order, and the rows of each."""
    rows: dict[str, list[int]] = {}
    for i, (gid, rid) in enumerate(zip(table.column("group_id").to_pylist(), table.column("id").to_pylist())):
        rows.setdefault(gid or rid, []).append(i)  # a record without a group is its own group
    return list(rows), rows


def _fill(order: list[str], rows: dict[str, list[int]], size: int) -> list[int]:
    """Rows of whole groups taken in `order` while they fit in `size` (a group that would overflow
    is skipped and smaller ones later in the order still fill the gap)."""
    taken: list[int] = []
    for gid in order:
        if len(taken) + len(rows[gid]) <= size:
            taken.extend(rows[gid])
            if len(taken) == size:
                break
    return taken


def random_control(previous: pa.Table, size: int, seed: int) -> pa.Table:
    """`previous` cut (or topped up with repeats) to `size` records at random, whole groups at a
    time; as close to `size` as whole groups allow."""
    if size < 0:
        raise ValueError(f"size must be >= 0, got {size}")
    names, rows = _groups(previous)
    rng = np.random.default_rng(seed)
    if size <= previous.num_rows:
        order = [names[i] for i in rng.permutation(len(names))]
        return previous.take(pa.array(sorted(_fill(order, rows, size)), pa.int64()))
    extra: list[int] = []
    while previous.num_rows + len(extra) < size and names:
        order = [names[i] for i in rng.permutation(len(names))]
        more = _fill(order, rows, size - previous.num_rows - len(extra))
        if not more:
            break
        extra.extend(more)
    copies = previous.take(pa.array(extra, pa.int64()))
    # Repeats get ids of their own (ids stay unique in a data version) and name their original.
    ids = copies.column("id").to_pylist()
    seen: dict[str, int] = {}
    new_ids = []
    for rid in ids:
        seen[rid] = seen.get(rid, 0) + 1
        new_ids.append(f"{rid}{REPEAT_MARK}{seen[rid]}")
    copies = copies.set_column(copies.schema.get_field_index("id"), "id", pa.array(new_ids, pa.string()))
    copies = copies.set_column(copies.schema.get_field_index("parent_id"), "parent_id", pa.array(ids, pa.string()))
    return pa.concat_tables([previous, copies])
