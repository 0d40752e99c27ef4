"""The `annotate` stage: merged human annotations override the records they are about.

Input: a stage output (the records) and the annotation stores (one per project). Per record the
live annotations become votes, one per annotator (their latest), merged by the configured rule.
Only an *accepted* decision changes data; unclear or pending ones leave the record as it was
(their tasks stay open in Label Studio). An accepted decision:

- confirms the record (same label, "ok", "correct"): kept, with an `annotate.confirm` operation;
- changes it (a new label, a rewritten response or code): the original is rejected as
  `annotation_override` and a new record is generated, with a new id, `parent_id` the original,
  the same `group_id`, and an `annotate.relabel` / `annotate.rewrite` operation naming the
  annotation ids, annotators and agreement; a decision about the new record applies in turn;
- flags it (problems with no rewrite, "incorrect" code): rejected as `annotation_problem:<what>`.

The stage's input fingerprint includes the stores' fingerprints, so a changed annotation makes a
new data version. `decisions.parquet` and `agreement.json` are written beside the output.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.fingerprint import hash_json
from pipeline.records import RECORD_SCHEMA, operation, record_id
from pipeline.parts import BatchResult
from pipeline.rows import reject_row, reject_rows
from pipeline.stage import Passes, ShardInput, ShardResults, Stage

STAGE, VERSION = "annotate", "2"  # 2: sharded output
DECISION_SCHEMA = pa.schema([
    ("record_id", pa.string()), ("kind", pa.string()), ("status", pa.string()), ("verdict", pa.string()),
    ("value", pa.string()), ("n_votes", pa.int32()), ("agreement", pa.float64()), ("reason", pa.string()),
    ("annotators", pa.string()), ("annotation_ids", pa.string()),
])


def votes_by_record(kind: str, live: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """record id -> one vote per annotator (their most recently updated annotation)."""
    from pipeline.annotate.agreement import Vote
    from pipeline.annotate.label_configs import parse_annotation, verdict

    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for v in live:
        if not v["record_id"]:
            continue
        key = (v["record_id"], v["annotator"] or f"annotation:{v['annotation_id']}")
        if key not in latest or v["updated_at"] > latest[key]["updated_at"]:
            latest[key] = v
    out: dict[str, list[Any]] = {}
    for (rid, who), v in sorted(latest.items()):
        parsed = parse_annotation(kind, json.loads(v["result"]))
        out.setdefault(rid, []).append(Vote(annotator=who, verdict=verdict(kind, parsed), value=parsed,
                                            updated_at=v["updated_at"], annotation_id=v["annotation_id"]))
    return out


def decide(kind: str, live: list[dict[str, Any]], rule: str, min_annotators: int) -> dict[str, tuple[Any, list[Any]]]:
    from pipeline.annotate.agreement import merge

    return {rid: (merge(votes, rule, min_annotators), votes)
            for rid, votes in votes_by_record(kind, live).items()}


def decision_rows(kind: str, decided: dict[str, tuple[Any, list[Any]]]) -> list[dict[str, Any]]:
    return [{"record_id": rid, "kind": kind, "status": d.status, "verdict": d.verdict,
             "value": json.dumps(d.value, sort_keys=True) if d.value is not None else None,
             "n_votes": d.n_votes, "agreement": d.agreement, "reason": d.reason,
             "annotators": ",".join(v.annotator for v in votes),
             "annotation_ids": ",".join(str(v.annotation_id) for v in votes)} for rid, (d, votes) in decided.items()]


class Applier:
    """Applies accepted decisions to one batch of records at a time."""

    def __init__(self, decided: dict[str, tuple[Any, list[Any]]]):
        self.decided = decided
        self.counters: Counter = Counter()
        self.seen: set[str] = set()

    def _op(self, name: str, rec: dict[str, Any], decision: Any, votes: list[Any], **extra: Any) -> dict[str, str]:
        return operation(f"annotate.{name}", STAGE, annotation_ids=[v.annotation_id for v in votes],
                         annotators=[v.annotator for v in votes], agreement=decision.agreement,
                         verdict=decision.verdict, record=rec["id"], **extra)

    def apply(self, rec: dict[str, Any], rejected: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, int]:
        """(the record to keep or None, records generated); rejects go into `rejected`."""
        generated = 0
        for _ in range(16):  # a chain of decisions: one about a record that a decision made
            self.seen.add(rec["id"])
            found = self.decided.get(rec["id"])
            if found is None:
                return rec, generated
            decision, votes = found
            if decision.status != "accepted":
                self.counters[f"decision_{decision.status}"] += 1
                return rec, generated
            self.counters["decision_accepted"] += 1
            change = _change(rec, decision.value)
            if change is None:
                if _flagged(rec["kind"], decision.verdict):
                    self.counters["flagged"] += 1
                    rejected.append(_reject(rec, f"annotation_problem:{decision.verdict.split(':')[-1]}",
                                            decision, None))
                    return None, generated
                self.counters["confirmed"] += 1
                return {**rec, "operations": [*(rec["operations"] or []),
                                              self._op("confirm", rec, decision, votes)]}, generated
            field, new_value = change
            new = {**rec, field: new_value, "parent_id": rec["id"]}
            new["id"] = record_id(rec["kind"], rec["source"], new)
            name = "relabel" if field == "label" else "rewrite"
            new["operations"] = [*(rec["operations"] or []),
                                 self._op(name, rec, decision, votes, field=field, previous=rec.get(field))]
            self.counters[name] += 1
            rejected.append(_reject(rec, "annotation_override", decision, new["id"]))
            generated += 1
            rec = new
        raise ValueError(f"annotation decisions form a chain longer than 16 at record {rec['id']}")

    def batch(self, table: pa.Table) -> BatchResult:
        kept, rejected, generated = [], [], 0
        for rec in table.to_pylist():
            out, made = self.apply(rec, rejected)
            generated += made
            if out is not None:
                kept.append(out)
        return BatchResult(pa.Table.from_pylist(kept, schema=RECORD_SCHEMA), reject_rows(rejected), {},
                           generated=generated)


def _change(rec: dict[str, Any], value: dict[str, Any]) -> tuple[str, str] | None:
    kind = rec["kind"]
    if kind == "classification":
        label = value.get("label")
        return ("label", label) if label and label != rec["label"] else None
    rewrite = value.get("rewrite")
    target = "response" if kind == "instruction" else "code"
    return (target, rewrite) if rewrite and rewrite != rec.get(target) else None


def _flagged(kind: str, verdict: str | None) -> bool:
    return bool(verdict) and (verdict.startswith("problems:") or (kind == "code" and verdict == "incorrect"))


def _reject(rec: dict[str, Any], reason: str, decision: Any, replaced_by: str | None) -> dict[str, Any]:
    return reject_row(STAGE, reason, f"{decision.verdict} by {decision.n_votes} annotator(s), agreement "
                      f"{decision.agreement}", rec, duplicate_of=replaced_by)


class AnnotateStage(Stage):
    """Accepted decisions of the annotation stores (kind -> AnnotationStore) applied to the records.

    The shards run in order in one task (`parallel = False`): a decision about a record that an
    earlier decision made applies in turn, and the count of decisions about records not in the
    data needs every record seen.
    """

    name = STAGE
    version = VERSION
    parallel = False

    def __init__(self, stores: dict[str, Any], rule: str = "majority", min_annotators: int = 1):
        super().__init__(None)  # type: ignore[arg-type]
        self.config = {"rule": rule, "min_annotators": min_annotators}
        self.stores = stores

    def input_fingerprint(self, source: Any) -> str:
        return hash_json([source.fingerprint, {k: s.fingerprint() for k, s in sorted(self.stores.items())}])

    def kept_schema(self, input_schema: Any) -> pa.Schema:
        return RECORD_SCHEMA

    def plan(self, source: Any, passes: Passes) -> dict[str, Any]:
        rule, n = self.config["rule"], self.config["min_annotators"]
        self._decided = {k: decide(k, s.live(), rule, n) for k, s in sorted(self.stores.items())}
        return {rid: d for per_kind in self._decided.values() for rid, d in per_kind.items()}

    def process_shard(self, merged: dict[str, Any], shard: ShardInput) -> ShardResults:
        if shard.shard.index == 0:
            self._applier = Applier(merged)
        for batch in shard.batches():
            table = pa.Table.from_batches([batch])
            yield table.num_rows, self._applier.batch(table)
        if shard.last:
            counters = Counter(self._applier.counters)
            counters["decisions_for_records_not_in_data"] = len(set(merged) - self._applier.seen)
            yield 0, BatchResult(pa.table({}), reject_rows([]), dict(counters))

    def finish(self, merged: dict[str, Any], out_dir: Path, parts: list[dict[str, Any]]) -> dict[str, int]:
        """decisions.parquet and agreement.json beside the output."""
        from pipeline.annotate.agreement import agreement_summary, annotator_agreement

        decided = self._decided
        rows = [r for kind, d in decided.items() for r in decision_rows(kind, d)]
        pq.write_table(pa.Table.from_pylist(rows, schema=DECISION_SCHEMA), out_dir / "decisions.parquet")
        report = {kind: {"summary": agreement_summary(d), "annotators": annotator_agreement(d)}
                  for kind, d in decided.items()}
        (out_dir / "agreement.json").write_text(json.dumps(report, indent=2, sort_keys=True, default=str))
        return {}
