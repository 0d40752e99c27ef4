"""The clean stage: normalise, redact PII, score, and keep or reject each record.

Kept records carry their scores as columns, so later stages and reports can re-threshold
without re-scoring. Rejected records go to the reject table with the first failing check
as `reason` and every failing check in `detail`.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyarrow as pa

from pipeline.clean.quality import SCORE_NAMES
from pipeline.clean.record import Outcome, RecordCleaner
from pipeline.clean.config import CleanConfig
from pipeline.records import operation
from pipeline.parts import BatchResult
from pipeline.rows import reject_row, reject_rows
from pipeline.stage import BatchStage

STAGE = "clean"
# Columns the stage adds; an input that already has them (a re-clean) gets them replaced.
SCORE_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    *((f"score_{name}", pa.float64()) for name in SCORE_NAMES),
    ("lang", pa.string()),
    ("score_lang_conf", pa.float64()),
    ("pii_redactions", pa.int64()),
)
RESERVED_COLUMNS = frozenset(name for name, _ in SCORE_COLUMNS)
# The columns cleaning reads or rewrites; all others pass through as Arrow arrays, untouched.
CONTENT_COLUMNS = ("text", "label", "system", "prompt", "response", "messages", "code", "language")


class CleanStage(BatchStage):
    name = STAGE
    version = "1"

    def __init__(self, config: CleanConfig | None = None):
        super().__init__(config if config is not None else CleanConfig())
        self.config: CleanConfig
        self._cleaner: RecordCleaner | None = None

    def setup(self) -> None:
        self._cleaner = RecordCleaner(self.config)
        self._cleaner.setup()

    def kept_schema(self, input_schema: pa.Schema) -> pa.Schema:
        fields = [f for f in input_schema if f.name not in RESERVED_COLUMNS]
        return pa.schema(fields + [pa.field(name, type_) for name, type_ in SCORE_COLUMNS])

    def process_batch(self, batch: pa.RecordBatch) -> BatchResult:
        self.ensure_setup()
        cleaner = self._cleaner
        assert cleaner is not None
        names = batch.schema.names
        content = {c: batch.column(c).to_pylist() for c in CONTENT_COLUMNS if c in names}
        kinds = batch.column("kind").to_pylist()
        operations = batch.column("operations").to_pylist()
        columns = _ScoreColumns()
        kept_idx, rejected_idx, failures = [], [], {}
        counters: Counter[str] = Counter()

        records = [{c: values[i] for c, values in content.items()} for i in range(batch.num_rows)]
        for i, out in enumerate(cleaner.clean_batch(kinds, records)):
            for c, values in content.items():
                values[i] = out.fields[c]
            operations[i] = _lineage(operations[i], out, self.config.normalize.unicode_form)
            columns.append(out)
            if out.normalized_fields:
                counters["normalized_records"] += 1
            for pii_kind, n in out.pii_counts.items():
                counters[f"pii_{pii_kind}"] += n
            if out.failures:
                rejected_idx.append(i)
                failures[i] = out.failures
            else:
                kept_idx.append(i)

        schema = self.kept_schema(batch.schema)
        replaced = {**content, "operations": operations, **columns.values}
        arrays = [
            pa.array(replaced[f.name], type=f.type) if f.name in replaced else batch.column(f.name) for f in schema
        ]
        full = pa.Table.from_arrays(arrays, schema=schema)
        kept = full.take(pa.array(kept_idx, type=pa.int64())) if rejected_idx else full
        rejected = _reject_table(full, rejected_idx, failures)
        return BatchResult(kept=kept, rejected=rejected, counters=dict(counters))


class _ScoreColumns:
    """The added columns, filled one record at a time."""

    def __init__(self) -> None:
        self.values: dict[str, list[Any]] = {name: [] for name, _ in SCORE_COLUMNS}
        self._score_lists = [(name, self.values[f"score_{name}"]) for name in SCORE_NAMES]

    def append(self, out: Outcome) -> None:
        for name, values in self._score_lists:
            values.append(out.scores.get(name))
        self.values["lang"].append(out.lang)
        self.values["score_lang_conf"].append(out.lang_conf)
        self.values["pii_redactions"].append(sum(out.pii_counts.values()))


def _lineage(ops: list[dict[str, str]] | None, out: Outcome, unicode_form: str) -> list[dict[str, str]]:
    """The record's operations, plus one entry per transformation that changed it."""
    ops = list(ops or [])
    if out.normalized_fields:
        ops.append(operation(f"{STAGE}.normalize", STAGE, unicode_form=unicode_form, fields=out.normalized_fields))
    if out.pii_counts:
        ops.append(operation(f"{STAGE}.pii_redact", STAGE, counts=dict(sorted(out.pii_counts.items()))))
    return ops


def _reject_table(full: pa.Table, rejected_idx: list[int], failures: dict[int, list]) -> pa.Table:
    if not rejected_idx:
        return reject_rows([])
    rows = full.take(pa.array(rejected_idx, type=pa.int64())).to_pylist()
    return reject_rows([reject_row(STAGE, failures[i][0].reason,
                                   "; ".join(f"{f.reason}: {f.detail}" for f in failures[i]), row)
                        for i, row in zip(rejected_idx, rows)])
