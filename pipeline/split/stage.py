"""The split stage: every kept record gets a `split` column; benchmark copies are removed.

Two passes over the input, because a record's split can depend on records after it:
  pass 1 (plan): match each record against the reference sets, join the groups of exact
      duplicates (union-find) and give small labels their train/test coverage; memory is
      16 bytes per record, one entry per distinct content, and the group ids per label;
  pass 2 (assign): re-read, reject the reference copies, assign each record its group's
      split, write it, and measure what was written (counts, straddling groups, leakage).
Pass 1 runs on the driver; pass 2 runs its shards in order in one task (`parallel = False`),
because the measurements tally the whole output.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.collect.stage import source_fingerprint
from pipeline.fingerprint import hash_json
from pipeline.records import operation
from pipeline.split.assign import assign_split, cover_small_labels
from pipeline.split.config import DEFAULT_COMPARED, SplitConfig
from pipeline.similarity.content import compared_text, content_key
from pipeline.similarity.union_find import GroupMerger
from pipeline.split.measure import NearLeakage, SplitTally
from pipeline.split.reference import Match, ReferenceMatcher
from pipeline.parts import BatchResult
from pipeline.rows import reject_row, reject_rows, with_columns
from pipeline.stage import Passes, ShardInput, ShardResults, Stage

STAGE = "split"
VERSION = "3"  # 2: near-duplicate leakage counters; 3: sharded
SPLIT_COLUMN = "split"
# What pass 1 reads: everything a comparison, a group or a label needs, and nothing bulky.
_PLAN_COLUMNS = ("kind", "group_id", "text", "label", "system", "prompt", "response", "code", "language")
_NO_CONTENT = bytes(16)  # stands for "nothing to compare" in the packed content hashes


@dataclass
class SplitPlan:
    """What pass 1 decided: the merged groups, the label overrides, the rejected rows."""

    merger: GroupMerger = field(default_factory=GroupMerger)
    overrides: dict[str, str] = field(default_factory=dict)
    rejects: dict[int, Match] = field(default_factory=dict)  # input row number -> why
    counters: dict[str, int] = field(default_factory=dict)
    # One 16-byte content hash per input row, packed: pass 2 needs them for leakage, and
    # normalising every text again would cost more than these bytes.
    contents: bytearray = field(default_factory=bytearray)
    # MinHash signatures of the compared content, per batch, for near-duplicate leakage.
    signatures: list = field(default_factory=list)

    def content(self, row: int) -> bytes | None:
        h = bytes(self.contents[16 * row : 16 * row + 16])
        return None if h == _NO_CONTENT else h


def kept_schema_for(input_schema: pa.Schema) -> pa.Schema:
    """The input's columns, all passed through, plus `split` (replaced if the input had one)."""
    fields = [f for f in input_schema if f.name != SPLIT_COLUMN]
    return pa.schema([*fields, pa.field(SPLIT_COLUMN, pa.string())])


class SplitStage(Stage):
    name = STAGE
    version = VERSION
    parallel = False  # the tally (counts, straddling groups, leakage) measures the whole output

    def __init__(self, config: SplitConfig):
        super().__init__(config)
        self.config: SplitConfig

    def input_fingerprint(self, source: Any) -> str:
        references = [source_fingerprint(ref.source_config(ref.compared())) for ref in self.config.reference_sets]
        return hash_json({"source": source.fingerprint, "references": references})

    def kept_schema(self, input_schema: Any) -> pa.Schema:
        return kept_schema_for(input_schema)

    def plan(self, source: Any, passes: Passes) -> SplitPlan:
        return plan_split(source, self.config, passes.batch_size)

    def process_shard(self, plan: SplitPlan, shard: ShardInput) -> ShardResults:
        if shard.shard.index == 0:
            self._tally = SplitTally()
        kept_schema = kept_schema_for(pq.read_schema(shard.shard.files[0])) if shard.shard.files else None
        yield from assign_batches(shard, self.config, plan, self._tally, kept_schema)
        if shard.last:
            # The measured counters, once the whole output is known; a batch of no records.
            counters = {**plan.counters, **self._tally.counters()}
            if self.config.measure_near_leakage:
                counters.update(NearLeakage(self.config.near_leakage_threshold).count(plan.signatures,
                                                                                      self._tally.row_splits))
            yield 0, BatchResult(pa.table({}), reject_rows([]), counters)


def plan_split(source: StageOutput, config: SplitConfig, batch_size: int) -> SplitPlan:
    """Pass 1: reference matches, merged duplicate groups, small-label overrides."""
    matcher = ReferenceMatcher(config.reference_sets)
    plan = SplitPlan()
    label_groups: dict[str, set[str]] = defaultdict(set)
    names = [c for c in _PLAN_COLUMNS if c in source.kept_schema().names]
    near = NearLeakage(config.near_leakage_threshold) if config.measure_near_leakage else None
    row = 0
    for batch in source.iter_batches(batch_size, names):
        batch_texts: list[str | None] = []
        for rec in batch.to_pylist():
            kind, group = rec["kind"], rec["group_id"]
            # Exact duplicates share this content (see DEFAULT_COMPARED); normalised once, here.
            text = compared_text(rec, DEFAULT_COMPARED[kind])
            batch_texts.append(None if text is None else f"{kind}\x1f{text}")  # kinds never match
            content = None if text is None else content_key(kind, text)
            plan.contents += content or _NO_CONTENT
            match = matcher.match(kind, rec, {DEFAULT_COMPARED[kind]: text})
            if match is not None:
                plan.rejects[row] = match  # removed records neither merge groups nor count for labels
            else:
                if config.merge_exact_duplicates and content is not None:
                    plan.merger.add(content, group)
                if kind == "classification" and rec.get("label") is not None:
                    label_groups[rec["label"]].add(group)
            row += 1
        if near is not None:
            plan.signatures.append(near.signatures(batch_texts))
    if config.stratify:
        merged = {label: {plan.merger.find(g) for g in groups} for label, groups in label_groups.items()}
        plan.overrides = cover_small_labels(merged, config.key, config.ratios)
    plan.counters = {**matcher.counters(), "groups:merged": plan.merger.merged_groups,
                     "groups:moved_for_label_coverage": len(plan.overrides)}
    return plan


def assign_batches(shard: ShardInput, config: SplitConfig, plan: SplitPlan, tally: SplitTally,
                   kept_schema: pa.Schema | None) -> Iterator[tuple[int, BatchResult]]:
    """Pass 2: (records in, result) per batch of one shard, in input order."""
    ratios = config.ratios.as_dict()
    row = shard.shard.row_offset
    for batch in shard.batches():
        table = pa.Table.from_batches([batch])
        recs = table.select(["kind", "group_id", "label"]).to_pylist()  # the content hashes are in the plan
        operations = table.column("operations").to_pylist()
        kept_idx, groups, splits, rejected = [], [], [], []
        for i, rec in enumerate(recs):
            match = plan.rejects.get(row + i)
            if match is not None:
                rejected.append(_reject_row(table, i, match))
                tally.skip()
                continue
            group = plan.merger.find(rec["group_id"])
            if group != rec["group_id"]:
                merge = operation(f"{STAGE}.merge_group", STAGE, merged_into=group, previous_group=rec["group_id"])
                operations[i] = [*(operations[i] or []), merge]
            split = plan.overrides.get(group) or assign_split(group, config.key, ratios)
            if split != "train" and not config.augmented_in_eval and _augmented(operations[i]):
                rejected.append(_held_out_augmented(table, i, split))
                tally.skip()
                continue
            label = rec.get("label") if rec["kind"] == "classification" else None
            tally.add(split, group, plan.content(row + i), label)
            kept_idx.append(i)
            groups.append(group)
            splits.append(split)
        row += batch.num_rows
        kept = _kept_table(table, kept_idx, groups, [operations[i] for i in kept_idx], splits, kept_schema)
        yield batch.num_rows, BatchResult(kept, reject_rows(rejected))


def _kept_table(table: pa.Table, idx: list[int], groups: list[str], operations: list, splits: list[str],
                schema: pa.Schema) -> pa.Table:
    """The kept rows with their (possibly merged) group, lineage and split; other columns untouched."""
    kept = table.take(pa.array(idx, type=pa.int64()))
    return with_columns(kept, schema, {"group_id": groups, "operations": operations, SPLIT_COLUMN: splits})


def _augmented(operations: list[dict[str, Any]] | None) -> bool:
    return any(op["stage"] == "augment" for op in operations or [])


def _held_out_augmented(table: pa.Table, i: int, split: str) -> dict[str, Any]:
    # Scores on validation and test must mean the same with and without augmentation: held-out
    # splits keep the original records only (the family still never straddles splits).
    rec = table.slice(i, 1).to_pylist()[0]
    return reject_row(STAGE, "augmented_held_out",
                      f"augmented record of a {split} family (parent {rec.get('parent_id')}); held-out splits "
                      "keep original records (split.augmented_in_eval: false)", rec)


def _reject_row(table: pa.Table, i: int, match: Match) -> dict[str, Any]:
    return reject_row(STAGE, match.reason, match.detail, table.slice(i, 1).to_pylist()[0])
