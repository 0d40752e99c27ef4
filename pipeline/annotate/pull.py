"""Pull annotations incrementally: only tasks changed since the last sync, page by page.

Label Studio moves a task's `updated_at` when one of its annotations is created, updated or
deleted (checked against label-studio 1.23.2), so the tasks updated after the cursor hold every
change. A deleted annotation shows as one missing from its task: it is stored as a `deleted`
version. The cursor goes back `overlap_s` seconds (2 s: Label Studio stamps a change inside a
transaction that commits within milliseconds) because a change committed just after a read may
carry an earlier time than one the read saw; versions already stored are recognised
by (annotation id, updated_at, deleted) and skipped, so the overlap costs nothing but a page.

Each page's new versions are written before the next page is fetched, and the cursor moves only
after the last page: a pull that dies half-way loses nothing and its re-run stores nothing twice.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from pipeline.annotate.client import AnnotationClient
from pipeline.annotate.store import AnnotationStore, now_iso


def parse_time(value: str) -> datetime:
    """Label Studio writes both '...Z' and '... +00:00' forms; both become aware UTC datetimes."""
    dt = datetime.fromisoformat(value.replace(" ", "T").replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def iso_z(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def pull_annotations(client: AnnotationClient, project_id: int, store: AnnotationStore,
                     page_size: int = 500, overlap_s: float = 2.0,
                     on_page: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Store every new, updated and deleted annotation since the cursor; returns the sync's counts
    (with the new and updated versions per annotator). `on_page(pages, tasks_seen)` after each page."""
    started, requests0 = time.perf_counter(), client.requests
    state = store.state()
    cursor = state.get("cursor")
    since = iso_z(parse_time(cursor) - timedelta(seconds=overlap_s)) if cursor else None
    versions = store.versions()
    stored = versions.to_pylist()
    seen = {(v["annotation_id"], v["updated_at"], v["deleted"]) for v in stored}
    live_by_task: dict[int, set[int]] = {}
    for v in store.live(versions):
        live_by_task.setdefault(v["task_id"], set()).add(v["annotation_id"])
    users = client.users()
    sync_id = now_iso().replace(":", "")
    counts = {"pages": 0, "tasks_seen": 0, "new": 0, "updated": 0, "deleted": 0, "unchanged": 0, "skips": 0,
              "tasks_without_record_id": 0}
    by_annotator: Counter = Counter()
    known_ids = {v["annotation_id"] for v in stored}
    # Who made each annotation: a deletion arrives as an absence and must still name its author.
    author = {v["annotation_id"]: (v["annotator"], v["created_at"]) for v in sorted(stored, key=lambda v: v["updated_at"])}
    newest = parse_time(cursor) if cursor else None
    for page_no, page in enumerate(client.changed_tasks(project_id, since, page_size)):
        rows = []
        for task in page:
            counts["tasks_seen"] += 1
            changed = parse_time(task["updated_at"])
            newest = changed if newest is None or changed > newest else newest
            if not task["record_id"]:
                counts["tasks_without_record_id"] += 1  # still stored: nothing pulled is dropped
            task["updated_at"] = iso_z(changed)
            present = set()
            for a in task["annotations"]:
                a["updated_at"] = iso_z(parse_time(a["updated_at"]))
                present.add(a["id"])
                key = (a["id"], a["updated_at"], False)
                if key in seen:
                    counts["unchanged"] += 1
                    continue
                counts["updated" if a["id"] in known_ids else "new"] += 1
                rows.append(_version(task, a, users, sync_id, deleted=False))
                counts["skips"] += rows[-1]["was_cancelled"]
                by_annotator[rows[-1]["annotator"] or "unknown"] += 1
                seen.add(key)
                known_ids.add(a["id"])
                author[a["id"]] = (rows[-1]["annotator"], rows[-1]["created_at"])
            for gone in sorted(live_by_task.get(task["id"], set()) - present):
                key = (gone, task["updated_at"], True)
                if key not in seen:
                    counts["deleted"] += 1
                    rows.append(_version(task, {"id": gone, "updated_at": task["updated_at"]}, users, sync_id,
                                         deleted=True))
                    rows[-1]["annotator"], rows[-1]["created_at"] = author.get(gone, (None, None))
                    seen.add(key)
            live_by_task[task["id"]] = present
        counts["pages"] += 1
        if rows:
            store.append_versions(f"{sync_id}-{page_no:05d}", rows)
        if on_page is not None:
            on_page(counts["pages"], counts["tasks_seen"])
    summary = {"sync_id": sync_id, "since": since, "finished_at": now_iso(), **counts,
               "by_annotator": dict(sorted(by_annotator.items())),
               "requests": client.requests - requests0, "wall_s": round(time.perf_counter() - started, 3)}
    state["cursor"] = iso_z(newest) if newest else cursor
    state["syncs"] = [*state.get("syncs", []), summary]
    store.save_state(state)
    return summary


def _version(task: dict[str, Any], a: dict[str, Any], users: dict[int, str], sync_id: str,
             deleted: bool) -> dict[str, Any]:
    who = a.get("completed_by")
    return {"annotation_id": a["id"], "task_id": task["id"], "record_id": task["record_id"],
            "annotator": users.get(who, f"user:{who}") if who is not None else None,
            "created_at": iso_z(parse_time(a["created_at"])) if a.get("created_at") else None, "updated_at": a["updated_at"], "deleted": deleted,
            "was_cancelled": bool(a.get("was_cancelled")), "lead_time": a.get("lead_time"),
            "result": json.dumps(a.get("result") or [], sort_keys=True), "sync_id": sync_id, "seen_at": now_iso()}
