"""Test items sorted by how close they are to the train split (real MinHash and MiniLM)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from pipeline.experiments.leakage import STRATA, leakage_strata, metrics_by_stratum
from pipeline.records import empty_record, records_to_table

LONG = ("The quarterly report shows that revenue from the northern region grew by twelve percent while "
        "costs in the southern warehouses fell after the new inventory system was introduced in March.")


def table(texts: list[str], prefix: str) -> pa.Table:
    return records_to_table([empty_record(id=f"{prefix}{i}", kind="classification", source="s", origin="o",
                                          group_id=f"{prefix}{i}", text=t, label="x") for i, t in enumerate(texts)])


def test_each_test_item_gets_its_closest_stratum_and_the_strata_partition_the_test_set(tmp_path):
    train = table([LONG, "The cat sat quietly on the warm mat by the kitchen door.",
                   "Stock prices fell sharply on Monday after the central bank raised interest rates."], "tr")
    test = table([
        "  the QUARTERLY report shows that revenue from the northern region grew by twelve percent while "
        "costs in the southern warehouses fell after the new inventory system was introduced in March.",  # exact
        LONG.replace("twelve", "eleven"),  # near: one word changed
        "On Monday share prices dropped steeply once the central bank increased interest rates.",  # semantic
        "Photosynthesis converts light energy into chemical energy stored in glucose.",  # none
    ], "te")
    strata = leakage_strata(train, test, "classification", semantic_threshold=0.7, cache_dir=tmp_path)
    assert strata == ["exact", "near", "semantic", "none"]
    columns = {"true": np.array([0, 0, 1, 1]), "pred": np.array([0, 0, 0, 1])}
    by = metrics_by_stratum(columns, strata, ["accuracy"])
    assert sum(s["n"] for s in by.values()) == 4 and set(by) == set(STRATA)
    assert by["semantic"]["accuracy"] == 0.0 and by["exact"]["accuracy"] == 1.0
