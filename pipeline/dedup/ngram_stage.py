"""N-gram decontamination as a stage (decontam_ngram): a record that shares a word n-gram with
a reference set (a benchmark) is rejected, naming the set, the reference record and the span.

The exact, near and semantic levels compare whole records with the references; a benchmark
question pasted inside a longer answer is only a part of its record, and only n-gram overlap
finds it. Every field of every record is scanned (whatever its kind: contamination does not
respect kinds), each field on its own so no n-gram spans two fields. Per batch, on any worker:
each worker process builds the reference index once (`setup`), then scans with binary search.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyarrow as pa

from pipeline.dedup.config import DedupConfig
from pipeline.fingerprint import hash_json
from pipeline.parts import BatchResult
from pipeline.records import CONTENT_FIELDS
from pipeline.rows import reject_row, reject_rows
from pipeline.stage import BatchStage

STAGE = "decontam_ngram"
_SPAN_WORDS = 60  # words of the overlapping span quoted in the reject detail
CONTENT_FIELDS_ALL = tuple(dict.fromkeys(f for fields in CONTENT_FIELDS.values() for f in fields))


def scanned_fields(config: DedupConfig, kind: str) -> tuple[str, ...]:
    chosen = (config.ngram.fields or {}).get(kind)
    return tuple(chosen) if chosen else tuple(f for f in CONTENT_FIELDS[kind] if f not in ("label", "language"))


def reference_fields(config: DedupConfig, ref: Any) -> tuple[str, ...]:
    """ngram.reference_fields for the set's kind, else the set's own fields_compared, else every
    content field but the label."""
    chosen = (config.ngram.reference_fields or {}).get(ref.kind)
    if chosen:
        return tuple(chosen)
    return ref.compared_or(tuple(f for f in CONTENT_FIELDS[ref.kind] if f not in ("label", "language")))


class NgramDecontamStage(BatchStage):
    name = STAGE
    version = "1"

    def __init__(self, config: DedupConfig):
        super().__init__(config)
        self.config: DedupConfig
        self._index: Any = None
        self._refs: list[Any] = []

    def stage_config(self) -> Any:
        c = self.config
        return {"ngram": c.ngram.model_dump(mode="json"),
                "references": [r.model_dump(mode="json") for r in c.reference_sets]}

    def input_fingerprint(self, source: Any) -> str:
        from pipeline.collect.stage import source_fingerprint

        refs = [source_fingerprint(r.source_config(reference_fields(self.config, r)))
                for r in self.config.reference_sets]
        return hash_json({"source": source.fingerprint, "references": refs})

    def setup(self) -> None:
        from pipeline.reference_records import read_reference
        from pipeline.similarity.ngrams import NgramIndex

        c = self.config.ngram
        self._refs = []
        texts = []
        for ref in self.config.reference_sets:
            records = read_reference(ref, reference_fields(self.config, ref))
            self._refs.append(records)
            # The reference's fields, joined: one field's end and the next's start rarely make a real n-gram.
            texts.append([t.replace("\x1e", " ") for t in records.texts])
        self._index = NgramIndex(c.n, c.min_words).build(texts)

    def process_batch(self, batch: pa.RecordBatch) -> BatchResult:
        self.ensure_setup()
        # Only the kind and the text fields are read per record; whole rows only for the rejected.
        names = [c for c in ("kind", *CONTENT_FIELDS_ALL) if c in batch.schema.names]
        rows = batch.select(names).to_pylist()
        texts, owners = [], []  # one scanned text per (record, field)
        for i, row in enumerate(rows):
            for f in scanned_fields(self.config, row["kind"]):
                value = row.get(f)
                if value:
                    texts.append(value)
                    owners.append((i, f))
        matches = self._index.scan(texts, self.config.ngram.min_matches)
        best: dict[int, tuple[Any, str, str]] = {}
        for (i, f), text, m in zip(owners, texts, matches):
            if m is not None and (i not in best or m.end - m.start > best[i][0].end - best[i][0].start):
                best[i] = (m, f, text)
        table = pa.Table.from_batches([batch])
        if not best:
            return BatchResult(table, reject_rows([]))
        dropped = sorted(best)
        rejected, counters = [], Counter()
        for i, row in zip(dropped, table.take(pa.array(dropped, pa.int64())).to_pylist()):
            m, f, text = best[i]
            refs = self._refs[m.ref_set]
            counters[f"contaminated:{refs.ref.name}"] += 1
            rejected.append(reject_row(STAGE, "ngram_contamination", self._detail(m, f, text, refs.ref.name, refs), row,
                                       duplicate_of=refs.ids[m.ref_record], similarity=round(m.grams / m.windows, 4)))
        keep = [i for i in range(batch.num_rows) if i not in best]
        return BatchResult(table.take(pa.array(keep, pa.int64())), reject_rows(rejected), dict(counters))

    def finish(self, plan: Any, out_dir: Any, parts: list[dict[str, Any]]) -> dict[str, int]:
        """What the index held: its n-grams, and the reference texts too short to match."""
        self.ensure_setup()
        return {"reference_ngrams": self._index.size, "references_too_short": self._index.too_short}

    def _detail(self, m: Any, field: str, text: str, set_name: str, refs: Any) -> str:
        from pipeline.similarity.ngrams import words

        span = words(text)[m.start:m.end]
        quoted = " ".join(span[:_SPAN_WORDS]) + (" ..." if len(span) > _SPAN_WORDS else "")
        return (f"{m.grams} of {m.windows} {self.config.ngram.n}-grams of {field} found in reference set "
                f"{set_name!r} (record {refs.origins[m.ref_record]}); words {m.start}-{m.end} of {field}: \"{quoted}\"")
