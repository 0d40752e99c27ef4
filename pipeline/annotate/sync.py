"""Push and pull for every configured record kind: one Label Studio project and one store per kind.

These functions wire the pure pieces (label configs, selection, predictions, push, pull) to a
run directory; the client is always passed in. Flows and the CLI call them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.annotate.client import AnnotationClient
from pipeline.annotate.config import AnnotateConfig
from pipeline.annotate.store import (
    AnnotationStore, existing_stores, now_iso, store_for,
)
from pipeline.atomic import write_json_atomic, write_table_atomic

RETRAIN_STATE = "retrain.json"
ANNOUNCED_STATE = "announced.json"  # accepted decisions already sent out as events
PENDING = "pending_push.parquet"  # the selection of a push not yet finished (and its counts, .json)


def project_title(config: AnnotateConfig, kind: str) -> str:
    return f"{config.project} {kind}"


def ensure_projects(client: AnnotationClient, config: AnnotateConfig, table: pa.Table) -> dict[str, Any]:
    """A project per kind present in `table`; the classification choices are the data's labels
    (new labels in the data update the project's config)."""
    from pipeline.annotate.label_configs import label_config

    out = {}
    for kind in config.kinds:
        sub = table.filter(pc.equal(table.column("kind"), kind))
        if sub.num_rows == 0:
            continue
        labels = sorted({x for x in sub.column("label").to_pylist() if x}) if kind == "classification" else None
        out[kind] = client.ensure_project(project_title(config, kind), label_config(kind, labels),
                                          maximum_annotations=config.annotators_per_task)
    return out


def read_side_tables(stage_dirs: list[Path], name: str) -> pa.Table | None:
    """pairs.parquet of the dedup stages or candidates.parquet of the augment stages, concatenated."""
    tables = [pq.read_table(d / name) for d in stage_dirs if (d / name).is_file()]
    return pa.concat_tables(tables, promote_options="default") if tables else None


def push_kind(client: AnnotationClient, config: AnnotateConfig, out_dir: str | Path, project_id: int, kind: str,
              table: pa.Table, model_dir: str | None = None, pairs: pa.Table | None = None,
              candidates: pa.Table | None = None, on_batch: Any = None) -> dict[str, Any]:
    """Select this kind's records (strategies whose inputs are missing are skipped and said so) and push.

    The selection is saved before the first import: a push that fails half-way is finished by the
    next one (the same records, none twice) before that one selects anything new. Each completed
    push adds up to the budgets of records not pushed before."""
    from pipeline.annotate.push import push_records
    from pipeline.annotate.select import NEEDS, SELECTED_SCHEMA, SelectConfig, select_records

    store = store_for(out_dir, config, kind)
    state = store.state()
    if state.get("project_id") != project_id:  # the pull finds its project here
        store.save_state({**state, "project_id": project_id, "project": project_title(config, kind)})
    sub = table.filter(pc.equal(table.column("kind"), kind))
    predictions = version = None
    if model_dir:
        from pipeline.annotate.predict import model_version, predictions as predict

        from pipeline.train.batching import deterministic_subset

        scored = deterministic_subset(sub, config.max_scored) if config.max_scored else sub
        kw = {"max_length": config.score_max_length}
        predictions, version = predict(model_dir, scored, **kw), model_version(model_dir)
    inputs = {"predictions": predictions, "pairs": pairs, "candidates": candidates}
    usable = [s for s in config.select.strategies if inputs.get(NEEDS.get(s.name, ""), True) is not None
              and not (s.name == "label_errors" and kind != "classification")]
    skipped = [s.name for s in config.select.strategies if s not in usable]
    pending = store.root / PENDING
    if pending.is_file():  # an interrupted push: finish those records before choosing new ones
        selected, counts = pq.read_table(pending), json.loads(pending.with_suffix(".json").read_text())
        counts = {**counts, "resumed": True}
    else:
        pushed = set(store.ledger().column("record_id").to_pylist())
        selected, counts = select_records(
            sub, SelectConfig(strategies=usable, max_tasks=config.select.max_tasks, seed=config.select.seed),
            predictions=predictions, pairs=pairs, candidates=candidates, exclude=pushed) \
            if usable else (SELECTED_SCHEMA.empty_table(), {"total_selected": 0})
        write_json_atomic(pending.with_suffix(".json"), counts)
        write_table_atomic(pending, selected)
    manifest = push_records(client, project_id, table, selected, store, config.push, predictions, version, on_batch)
    if version is not None:  # the project's open tasks now carry this model's predictions (refresh_predictions)
        from pipeline.annotate.refresh import PREDICTIONS_VERSION

        store.save_state({**store.state(), PREDICTIONS_VERSION: version})
    pending.unlink()
    pending.with_suffix(".json").unlink(missing_ok=True)
    manifest["selection"] = {"counts": counts, "strategies_skipped_for_missing_input": skipped}
    write_json_atomic(store.root / "pushes" / manifest["push_id"] / "manifest.json", manifest)
    return manifest


def pull_all(client: AnnotationClient, config: AnnotateConfig, out_dir: str | Path,
             on_page: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """Pull every project something was pushed to from this run directory; `on_page(kind, pages,
    tasks_seen)` after each page."""
    from pipeline.annotate.pull import pull_annotations

    def progress(kind: str) -> Callable[[int, int], None] | None:
        return None if on_page is None else lambda pages, tasks: on_page(kind, pages, tasks)

    return {kind: pull_annotations(client, store.state()["project_id"], store, config.pull_page_size,
                                   on_page=progress(kind))
            for kind, store in existing_stores(out_dir, config).items() if store.state().get("project_id")}


def requeue_unclear(client: AnnotationClient, config: AnnotateConfig, out_dir: str | Path) -> dict[str, Any]:
    """Tasks whose annotators disagree go back in the queue for one more annotator each time, up to
    `max_annotators_per_task`; they never enter training until a decision is clear."""
    from pipeline.annotate.apply import decide

    out = {}
    for kind, store in existing_stores(out_dir, config).items():
        state = store.state()
        asked = {int(k): v for k, v in state.get("requeued", {}).items()}
        tasks = dict(zip(store.ledger().column("record_id").to_pylist(), store.ledger().column("task_id").to_pylist()))
        counts = {"unclear": 0, "requeued": 0, "at_max": 0, "not_pushed_from_here": 0}
        for rid, (d, _) in decide(kind, store.live(), config.merge_rule, config.min_annotators).items():
            if d.status != "unclear":
                continue
            counts["unclear"] += 1
            task = tasks.get(rid)
            want = min(d.n_votes + 1, config.max_annotators_per_task)
            if task is None:
                counts["not_pushed_from_here"] += 1
            elif want <= d.n_votes:
                counts["at_max"] += 1
            elif asked.get(task, 0) < want:
                client.requeue(task, want)
                asked[task] = want
                counts["requeued"] += 1
        store.save_state({**store.state(), "requeued": {str(k): v for k, v in sorted(asked.items())}})
        out[kind] = counts
    return out


def accepted_decisions(out_dir: str | Path, config: AnnotateConfig) -> dict[str, str]:
    """record id -> the accepted verdict, over every kind's store."""
    from pipeline.annotate.apply import decide

    out = {}
    for kind, store in existing_stores(out_dir, config).items():
        for rid, (d, _) in decide(kind, store.live(), config.merge_rule, config.min_annotators).items():
            if d.status == "accepted":
                out[rid] = f"{d.verdict}|{json.dumps(d.value, sort_keys=True)}"
    return out


def _changed_since(out_dir: str | Path, config: AnnotateConfig, state_file: str) -> dict[str, str]:
    """Accepted decisions that are new or changed since the ones saved in `state_file`."""
    state_path = Path(out_dir) / "annotations" / state_file
    before = json.loads(state_path.read_text())["decisions"] if state_path.is_file() else {}
    return {rid: v for rid, v in accepted_decisions(out_dir, config).items() if before.get(rid) != v}


def new_accepted_since_retrain(out_dir: str | Path, config: AnnotateConfig) -> int:
    """Accepted decisions that are new or changed since the last retrain recorded in retrain.json."""
    return len(_changed_since(out_dir, config, RETRAIN_STATE))


def mark_retrained(out_dir: str | Path, run_id: str, decisions: dict[str, str]) -> None:
    """Record `decisions` (taken when the retrain started: later ones were not trained on) as trained on."""
    write_json_atomic(Path(out_dir) / "annotations" / RETRAIN_STATE,
                      {"run_id": run_id, "at": now_iso(), "decisions": decisions})


def decisions_to_announce(out_dir: str | Path, config: AnnotateConfig) -> dict[str, str]:
    """record id -> verdict of the accepted decisions not yet sent out as events."""
    return _changed_since(out_dir, config, ANNOUNCED_STATE)


def mark_announced(out_dir: str | Path, config: AnnotateConfig, announced: dict[str, str]) -> None:
    """Remember what was announced (after sending: a failed send is sent again, never lost)."""
    path = Path(out_dir) / "annotations" / ANNOUNCED_STATE
    before = json.loads(path.read_text())["decisions"] if path.is_file() else {}
    write_json_atomic(path, {"at": now_iso(), "decisions": {**before, **announced}})
