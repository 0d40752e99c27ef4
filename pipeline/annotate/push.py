"""Push selected records to Label Studio as tasks, once each, with the current model's pre-annotations.

What leaves the pipeline is redacted (PII placeholders, the cleaning stage's own redactor) and
shown as plain text by the label configs. Idempotence rests on our record id in every task's
data: the push first lists the project's tasks by record id and imports only the missing ones.
An import that failed ambiguously (a timeout, the server going away) may still have landed, so
before it is retried the tasks created since the last known task id are listed again.

Accounting, written to `pushes/<push_id>/manifest.json` beside the annotations:
selected = imported + already_present + rejected, each rejected row with its reason.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Callable

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field

from pipeline.annotate.client import AnnotationClient, AnnotationServerError
from pipeline.annotate.store import AnnotationStore, now_iso
from pipeline.atomic import write_json_atomic
from pipeline.config_base import Strict
from pipeline.fingerprint import hash_json
from pipeline.store import reject_rows

# The task data each kind's label config shows; every key is always present ("" when empty).
TASK_FIELDS = {
    "classification": ("text", "label"),
    "instruction": ("system", "prompt", "response"),
    "code": ("prompt", "code", "language"),
}


class PushConfig(Strict):
    batch_size: int = Field(default=500, ge=1, le=10_000, description="tasks per import request")
    pii_kinds: list[str] = Field(default_factory=lambda: ["email", "phone", "ip_address", "credit_card", "secret"],
                                 description="redacted in prose fields before anything is sent")
    code_pii_kinds: list[str] = Field(default_factory=lambda: ["email", "secret"],
                                      description="redacted in code (digits there are usually literals)")
    max_import_attempts: int = Field(default=3, ge=1, description="re-checks and retries of one batch")


class TaskBuilder:
    """Records -> Label Studio task dicts (data + predictions), redacted."""

    def __init__(self, config: PushConfig):
        from pipeline.clean.pii import Redactor

        self.prose, self.code = Redactor(config.pii_kinds), Redactor(config.code_pii_kinds)
        self.redactions = 0

    def _clean(self, field: str, value: Any) -> str:
        text = "" if value is None else str(value)
        text, counts = (self.code if field == "code" else self.prose).redact(text)
        self.redactions += sum(counts.values())
        return text

    def task(self, rec: dict[str, Any], why: dict[str, Any], context: str,
             prediction: dict[str, Any] | None) -> dict[str, Any]:
        kind = rec["kind"]
        data = {"record_id": rec["id"], "kind": kind, "reason": why.get("reason") or "",
                "strategy": why.get("strategy") or "", "context": self._clean("context", context)}
        data.update({f: self._clean(f, rec.get(f)) for f in TASK_FIELDS[kind]})
        task: dict[str, Any] = {"data": data}
        if prediction is not None:
            task["predictions"] = [prediction]
        return task


def pre_annotation(kind: str, pred: dict[str, Any] | None, model_version: str | None,
                   xml: str) -> dict[str, Any] | None:
    """A Label Studio prediction from the current model: its label for classification records,
    and for generated answers only its confidence (the model's own rewrite is not offered); the
    result is built and checked by the SDK's label interface for the project's config `xml`
    (ValueError when the config does not offer the model's label)."""
    from pipeline.annotate.label_configs import interface_result

    if pred is None or model_version is None or pred.get("confidence") is None:
        return None
    result = interface_result(xml, kind, label=pred["predicted"]) if kind == "classification" and \
        pred.get("predicted") else []
    return {"model_version": model_version, "score": round(float(pred["confidence"]), 4), "result": result}


def push_records(client: AnnotationClient, project_id: int, table: pa.Table, selected: pa.Table,
                 store: AnnotationStore, config: PushConfig, predictions: pa.Table | None = None,
                 model_version: str | None = None,
                 on_batch: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Push the `selected` rows (id, strategy, reason, context_id) of `table`; returns the manifest."""
    started, push_id = time.perf_counter(), f"{now_iso().replace(':', '')}-{uuid.uuid4().hex[:6]}"
    requests0 = client.requests
    records = {r["id"]: r for r in table.to_pylist()}
    preds = {p["id"]: p for p in predictions.to_pylist()} if predictions is not None else {}
    builder, rejected, todo = TaskBuilder(config), [], []
    why_by_id = {w["id"]: w for w in selected.to_pylist()}
    xml = client.label_config(project_id) if preds else ""
    refused: list[str] = []  # predictions the project's config cannot show: the task goes without one
    for why in why_by_id.values():
        rec = records.get(why["id"])
        reason = None if rec is not None else "not_in_data"
        if rec is not None and not any((rec.get(f) or "").strip() for f in TASK_FIELDS[rec["kind"]]):
            reason = "empty_record"
        if reason:
            rejected.append({"stage": "annotate_push", "reason": reason, "detail": why.get("reason"),
                             "id": why["id"], "record": json.dumps(rec, default=str) if rec else None})
            continue
        context_rec = records.get(why.get("context_id") or "")
        context = _context_text(context_rec) if context_rec else ""
        try:
            prediction = pre_annotation(rec["kind"], preds.get(rec["id"]), model_version, xml)
        except ValueError as exc:
            prediction = None
            refused.append(str(exc))
        todo.append(builder.task(rec, why, context, prediction))

    index = client.task_index(project_id)
    present = {rid for rid in index}
    duplicates = {rid: ids for rid, ids in index.items() if len(ids) > 1}
    missing = [t for t in todo if t["data"]["record_id"] not in present]
    already = len(todo) - len(missing)
    store.add_to_ledger([_ledger_row(rid, ids[0], push_id, why_by_id.get(rid), model_version)
                         for rid, ids in index.items() if rid in why_by_id])
    last_id = max((i for ids in index.values() for i in ids), default=0)
    imported = found_after_failure = 0
    for start in range(0, len(missing), config.batch_size):
        batch = missing[start:start + config.batch_size]
        for attempt in range(config.max_import_attempts):
            try:
                ids = client.import_tasks(project_id, batch)
                break
            except AnnotationServerError:
                if attempt == config.max_import_attempts - 1:
                    raise
                # The import may have landed before the failure: look before importing again.
                landed = client.task_index(project_id, after_task_id=last_id)
                store.add_to_ledger([_ledger_row(rid, tids[0], push_id, why_by_id.get(rid), model_version)
                                     for rid, tids in landed.items()])
                last_id = max([last_id, *(i for tids in landed.values() for i in tids)])
                before = len(batch)
                batch = [t for t in batch if t["data"]["record_id"] not in landed]
                found_after_failure += before - len(batch)
                if not batch:
                    ids = []
                    break
        store.add_to_ledger([_ledger_row(t["data"]["record_id"], i, push_id, why_by_id.get(t["data"]["record_id"]),
                                         model_version) for t, i in zip(batch, ids)])
        imported += len(ids)
        last_id = max([last_id, *ids])
        if on_batch:
            on_batch(start // config.batch_size, imported)
    if model_version is not None and imported and any(t.get("predictions") for t in todo):
        # The project names the model whose predictions annotators see (Label Studio accepts a
        # version only once predictions of it exist, so after the import).
        client.set_model_version(project_id, model_version)
    manifest = {
        "push_id": push_id, "project_id": project_id, "finished_at": now_iso(),
        "counts": {"selected": selected.num_rows, "imported": imported + found_after_failure,
                   "imported_this_run": imported, "landed_before_failure": found_after_failure,
                   "already_present": already, "rejected": len(rejected),
                   "duplicate_tasks_on_server": len(duplicates), "pii_redactions": builder.redactions,
                   "predictions_refused": len(refused)},
        "predictions_refused_examples": refused[:5],
        "requests": client.requests - requests0, "wall_s": round(time.perf_counter() - started, 3),
        "config": config.model_dump(mode="json"), "model_version": model_version,
        "input_fingerprint": hash_json(sorted(why_by_id)),
    }
    c = manifest["counts"]
    assert c["selected"] == c["imported"] + c["already_present"] + c["rejected"], c
    out = store.root / "pushes" / push_id
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(reject_rows(rejected), out / "rejected.parquet")
    write_json_atomic(out / "manifest.json", manifest)
    return manifest


def _context_text(rec: dict[str, Any]) -> str:
    fields = TASK_FIELDS[rec["kind"]]
    return "\n\n".join(f"{f}: {rec[f]}" for f in fields if rec.get(f))


def _ledger_row(rid: str, task_id: int, push_id: str, why: dict[str, Any] | None,
                model_version: str | None) -> dict[str, Any]:
    why = why or {}
    return {"record_id": rid, "task_id": task_id, "push_id": push_id, "pushed_at": now_iso(),
            "strategy": why.get("strategy"), "reason": why.get("reason"), "model_version": model_version}
