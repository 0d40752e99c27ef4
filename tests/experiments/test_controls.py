"""Random controls keep whole groups and match the size; ablation settings that cannot give an
interval are refused."""

from __future__ import annotations

import pyarrow as pa
import pytest
from pydantic import ValidationError

from pipeline.experiments.config import AblationConfig
from pipeline.experiments.controls import REPEAT_MARK, random_control
from pipeline.records import RECORD_SCHEMA, empty_record


def records(groups: list[int]) -> pa.Table:
    """Records in groups of the given sizes (group g's records share group_id g)."""
    rows = [empty_record(id=f"r{g}-{i}", kind="classification", source="s", origin="o", group_id=f"g{g}",
                         text=f"text {g} {i}", label="x")
            for g, size in enumerate(groups) for i in range(size)]
    return pa.Table.from_pylist(rows, schema=RECORD_SCHEMA)


def group_sizes(table: pa.Table) -> dict[str, int]:
    out: dict[str, int] = {}
    for g in table.column("group_id").to_pylist():
        out[g] = out.get(g, 0) + 1
    return out


@pytest.mark.parametrize("size", [0, 1, 37, 80, 119, 120])
def test_a_smaller_control_has_the_size_and_whole_groups(size):
    table = records([1, 2, 3, 5, 1] * 10)  # 120 records, 50 groups
    whole = group_sizes(table)
    control = random_control(table, size, seed=4)
    assert control.num_rows == size
    assert all(whole[g] == n for g, n in group_sizes(control).items())  # no group is split
    assert len(set(control.column("id").to_pylist())) == size
    assert set(control.column("id").to_pylist()) <= set(table.column("id").to_pylist())


def test_the_control_is_random_but_reproducible():
    table = records([1] * 200)
    a, b, c = (random_control(table, 50, seed=s).column("id").to_pylist() for s in (1, 1, 2))
    assert a == b and a != c


def test_a_larger_control_repeats_whole_groups_under_ids_of_their_own():
    table = records([1, 2, 3] * 10)  # 60 records
    control = random_control(table, 100, seed=0)
    assert control.num_rows == 100
    ids = control.column("id").to_pylist()
    assert len(set(ids)) == 100 and ids[:60] == table.column("id").to_pylist()
    repeats = control.slice(60)
    assert all(REPEAT_MARK in i for i in repeats.column("id").to_pylist())
    assert repeats.column("parent_id").to_pylist() == [i.split(REPEAT_MARK)[0] for i in repeats.column("id").to_pylist()]
    whole = group_sizes(table)
    assert all(n % whole[g] == 0 for g, n in group_sizes(control).items())  # groups repeated whole


def test_intervals_need_two_seeds():
    with pytest.raises(ValidationError, match="intervals need seeds >= 2"):
        AblationConfig(seeds=1)
    assert AblationConfig(seeds=1, intervals=False).seeds == 1
    assert AblationConfig().seeds == 3 and AblationConfig().random_control


def test_the_ablation_cap_keeps_each_variant_s_share_and_controls_match_it():
    from pipeline.workflows.ablation import _arms

    ablation = AblationConfig(variants=[{"name": "raw", "after": "collect"}, {"name": "clean", "after": "clean"},
                                        {"name": "more", "after": "augment"}])
    trains = {"raw": records([1] * 400), "clean": records([1] * 300), "more": records([1] * 360)}
    arms, tables = _arms(ablation, trains, cap=100, seed=0)
    assert [a.name for a in arms] == ["raw", "clean", "clean~random", "more", "more~random"]
    sizes = {name: t.num_rows for name, t in tables.items()}
    assert sizes == {"raw": 100, "clean": 75, "clean~random": 75, "more": 90, "more~random": 90}
    assert set(tables["clean~random"].column("id").to_pylist()) <= set(tables["raw"].column("id").to_pylist())
    assert arms[1].control == "clean~random" and arms[2].previous == "raw"
    same = {"raw": records([1] * 50), "clean": records([1] * 50), "more": records([1] * 50)}
    arms, _ = _arms(ablation, same, cap=None, seed=0)
    assert [a.name for a in arms] == ["raw", "clean", "more"]  # equal sizes: the previous variant is the control
