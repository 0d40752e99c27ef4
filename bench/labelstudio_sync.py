"""Label Studio sync: our batched push / incremental pull against one request per task, same server, same run.

A fresh Label Studio server (the project's `.venv-labelstudio`, SQLite) is started in a temp data
directory on a free port and stopped at the end. Records are --records synthetic classification
records (sentences of 14-26 words drawn from a fixed word list with a seeded RNG; 3 labels).

* ours, push: `push_records` (batch --batch-size) into a new project; then the same records again
  (idempotent re-push: must import 0).
* naive, push: for each record, the existence check a one-task-at-a-time tool needs
  (`tasks.list` filtered on data.record_id) then `projects.import_tasks(request=[task])`, into a
  second, empty project. It runs on --naive-sample records and is extrapolated linearly to
  --records (printed as such). Linear is optimistic for it: the check filters on a JSON field, and
  its cost at full project size is measured by the naive re-push, which runs the check alone on a
  sample of the records of the full first project.
* annotations (setup, not compared): --annotations annotations must exist for the pull. Creating
  them one `annotations.create` at a time on the pushed tasks is used when a probe says the whole
  loop would take under --create-budget-s; otherwise a third project is made by importing
  --annotations tasks (the same task data) with their annotation inline, and the pull runs there.
  The setup used and its time are printed.
* ours, pull: `pull_annotations` into a fresh store for each --page-sizes (must store every
  annotation as new); then again with nothing changed (incremental: must store 0). That re-pull
  re-reads every task updated within `overlap_s` (5 s) before the cursor: after a bulk import,
  thousands. So a steady state is measured too: --changed annotations are edited and pulled (the
  cursor moves past them), then a pull with nothing changed, then one after --changed more edits.
* naive, pull: list the project's task ids once (counted), then one `annotations.list(id=task)`
  per task, on --naive-sample tasks, extrapolated to every task of the pulled project. A tool
  without a cursor pays this again on every re-pull.

Requests are counted by each SdkClient's httpx hook (ours and the naive side use separate clients).

    .venv/bin/python bench/labelstudio_sync.py            # 10,000 tasks, 5,000 annotations, samples of 300
    .venv/bin/python bench/labelstudio_sync.py --quick    # 1,000 / 500 / 100
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.annotate.client import SdkClient  # noqa: E402
from pipeline.annotate.label_configs import annotation_result, label_config  # noqa: E402
from pipeline.annotate.pull import pull_annotations  # noqa: E402
from pipeline.annotate.push import PushConfig, TaskBuilder, push_records  # noqa: E402
from pipeline.annotate.server import free_port, local_server  # noqa: E402
from pipeline.annotate.store import AnnotationStore  # noqa: E402
from pipeline.records import empty_record, record_id, records_to_table  # noqa: E402

LABELS = ("negative", "neutral", "positive")
WORDS = (
    "the a an this that our their my your every some many few most other new old good bad small large "
    "first last long short early late quick slow clear simple hard easy real main customer user team "
    "order product service account payment delivery support report update issue problem price store "
    "package message email call meeting week day month year morning evening people staff manager "
    "system app website page screen feature version change result reason question answer help time "
    "was is were are has had will would could should might can did does not never always often "
    "really very quite still just again also only even too almost rather "
    "arrived ordered bought returned opened checked fixed broke stopped started waited asked told "
    "received sent paid charged cancelled changed helped tried used liked loved hated expected needed "
    "and but or so because when after before while although if since until then than "
    "in on at for with without from about into over under after between during through"
).split()


def make_records(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows, seen = [], set()
    while len(rows) < n:
        words = [rng.choice(WORDS) for _ in range(rng.randint(14, 26))]
        text = " ".join(words).capitalize() + rng.choice(".!?")
        label = rng.choice(LABELS)
        rid = record_id("classification", "bench", {"text": text, "label": label})
        if rid in seen:
            continue
        seen.add(rid)
        rows.append(empty_record(id=rid, kind="classification", source="bench", origin=f"bench:{len(rows)}",
                                 group_id=rid, text=text, label=label))
    return rows


def selected_table(rows: list[dict[str, Any]]):
    import pyarrow as pa

    return pa.table({"id": [r["id"] for r in rows], "strategy": ["random"] * len(rows),
                     "reason": ["benchmark sample"] * len(rows), "context_id": pa.nulls(len(rows), pa.string())})


def build_task(builder: TaskBuilder, rec: dict[str, Any]) -> dict[str, Any]:
    """The task push_records would send for `rec` (same data, same redaction)."""
    return builder.task(rec, {"strategy": "random", "reason": "benchmark sample"}, "", None)


def record_filter(rid: str) -> str:
    return json.dumps({"filters": {"conjunction": "and", "items": [
        {"filter": "filter:tasks:data.record_id", "operator": "equal", "type": "String", "value": rid}]}})


def row(op: str, side: str, records: int, wall_s: float, requests: int, measured: str, **extra: Any) -> dict:
    return {"operation": op, "side": side, "records": records, "wall_s": round(wall_s, 3), "requests": int(requests),
            "records_per_s": round(records / wall_s, 1) if wall_s > 0 else None, "measured": measured, **extra}


def say(msg: str) -> None:
    print(msg, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=10_000, help="records pushed as tasks")
    ap.add_argument("--annotations", type=int, default=5_000, help="annotations pulled")
    ap.add_argument("--naive-sample", type=int, default=300, help="records / tasks the naive loops run on")
    ap.add_argument("--batch-size", type=int, default=1_000, help="PushConfig.batch_size of our push")
    ap.add_argument("--page-sizes", type=int, nargs="+", default=[500, 1_000], help="pull page sizes to run")
    ap.add_argument("--create-budget-s", type=float, default=180.0,
                    help="create annotations one by one on the pushed tasks if that is estimated below this")
    ap.add_argument("--setup", choices=["auto", "create", "inline"], default="auto",
                    help="force the annotation setup (auto: by --create-budget-s)")
    ap.add_argument("--changed", type=int, default=10, help="annotations edited for the steady-state re-pull")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="1,000 tasks, 500 annotations, samples of 100")
    ap.add_argument("--keep-server-dir", type=Path, default=None,
                    help="server data dir to (re)use and keep (restart ~6 s instead of ~45 s fresh)")
    ap.add_argument("--out", type=Path, default=None,
                    help="figures as JSON (default bench/out/labelstudio_sync[_quick].json; bench/out is git-ignored)")
    args = ap.parse_args()
    if args.quick:
        args.records, args.annotations, args.naive_sample = 1_000, 500, 100
    if args.out is None:
        args.out = ROOT / "bench" / "out" / f"labelstudio_sync{'_quick' if args.quick else ''}.json"
    if args.annotations > args.records:
        ap.error("--annotations cannot exceed --records")
    n, n_ann = args.records, args.annotations

    tmp = Path(tempfile.mkdtemp(prefix="bench-ls-sync-"))
    data_dir = args.keep_server_dir or (tmp / "server")
    server = local_server(data_dir, free_port())
    results: dict[str, Any] = {
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "cpu_count": os.cpu_count(), "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }
    rows: list[dict[str, Any]] = []
    try:
        t = time.perf_counter()
        fresh = not (data_dir / "data").is_dir()
        server.start()
        results["server_start_s"] = round(time.perf_counter() - t, 1)
        say(f"server: {'fresh' if fresh else 'reused'} data dir, healthy after {results['server_start_s']} s "
            f"(load average {results['loadavg_start']} on {os.cpu_count()} cores)")
        ours, naive = SdkClient(server.url, server.token), SdkClient(server.url, server.token)
        user_id = ours.check()["id"]
        import label_studio_sdk

        results["versions"] = {"label_studio_sdk": getattr(label_studio_sdk, "__version__", "?")}
        try:
            import urllib.request

            with urllib.request.urlopen(f"{server.url}/api/version", timeout=5) as r:
                results["versions"]["label_studio"] = json.loads(r.read()).get("release")
        except Exception:  # noqa: BLE001 - informational only
            pass

        t = time.perf_counter()
        recs = make_records(n, args.seed)
        table, selected = records_to_table(recs), selected_table(recs)
        words = sum(len(r["text"].split()) for r in recs) / n
        say(f"records: {n:,} classification records, mean {words:.1f} words, {len(LABELS)} labels "
            f"({time.perf_counter() - t:.1f} s to make)")
        tag = datetime.now().strftime("%Y%m%d-%H%M%S")
        config = label_config("classification", list(LABELS))
        pid1 = ours.ensure_project(f"bench sync {tag} ours", config).id
        pid2 = naive.ensure_project(f"bench sync {tag} naive", config).id
        push_cfg = PushConfig(batch_size=args.batch_size)

        # ---- ours: push, then re-push
        m = push_records(ours, pid1, table, selected, AnnotationStore(tmp / "store-push"), push_cfg)
        c = m["counts"]
        assert c["imported"] == n and c["rejected"] == 0, c
        rows.append(row("push", "ours", n, m["wall_s"], m["requests"], "full", batch_size=args.batch_size))
        say(f"ours push: {n:,} tasks in {m['wall_s']:.1f} s, {m['requests']} requests")
        m2 = push_records(ours, pid1, table, selected, AnnotationStore(tmp / "store-push"), push_cfg)
        c2 = m2["counts"]
        repush_ok = c2["imported"] == 0 and c2["already_present"] == n
        rows.append(row("re-push (nothing new)", "ours", n, m2["wall_s"], m2["requests"], "full",
                        imported=c2["imported"], already_present=c2["already_present"]))
        say(f"ours re-push: {m2['wall_s']:.1f} s, {m2['requests']} requests, imported {c2['imported']} "
            f"(already present {c2['already_present']:,}) {'OK' if repush_ok else 'FAIL: expected 0 imported'}")

        # ---- naive: check + import, one task at a time, into an empty project
        k = min(args.naive_sample, n)
        builder = TaskBuilder(push_cfg)
        r0, check_s, import_s = naive.requests, 0.0, 0.0
        t = time.perf_counter()
        for rec in recs[:k]:
            task = build_task(builder, rec)
            t1 = time.perf_counter()
            found = naive.sdk.tasks.list(project=pid2, query=record_filter(rec["id"]), fields="task_only",
                                         page_size=1).items
            t2 = time.perf_counter()
            if not found:
                naive.sdk.projects.import_tasks(pid2, request=[task])
            t3 = time.perf_counter()
            check_s, import_s = check_s + t2 - t1, import_s + t3 - t2
        naive_push_s, naive_push_req = time.perf_counter() - t, naive.requests - r0
        per = naive_push_s / k
        rows.append(row("push", "naive", n, per * n, naive_push_req / k * n,
                        f"extrapolated from {k} (linear)", sample=k, sample_wall_s=round(naive_push_s, 3),
                        sample_requests=naive_push_req, per_task_s=round(per, 5),
                        per_task_check_s=round(check_s / k, 5), per_task_import_s=round(import_s / k, 5)))
        say(f"naive push: {k} tasks in {naive_push_s:.1f} s ({per * 1000:.1f} ms/task: check "
            f"{check_s / k * 1000:.1f} + import {import_s / k * 1000:.1f}), {naive_push_req} requests "
            f"-> {n:,} extrapolated: {per * n:.0f} s")

        # ---- naive re-push: the existence check alone, against the full first project
        idx = sorted(random.Random(args.seed + 1).sample(range(n), k))
        r0, misses = naive.requests, 0
        t = time.perf_counter()
        for i in idx:
            task = build_task(builder, recs[i])
            found = naive.sdk.tasks.list(project=pid1, query=record_filter(task["data"]["record_id"]),
                                         fields="task_only", page_size=1).items
            misses += not found
        naive_re_s, naive_re_req = time.perf_counter() - t, naive.requests - r0
        per_check_full = naive_re_s / k
        rows.append(row("re-push (nothing new)", "naive", n, per_check_full * n, naive_re_req / k * n,
                        f"extrapolated from {k} (linear)", sample=k, sample_wall_s=round(naive_re_s, 3),
                        sample_requests=naive_re_req, per_task_s=round(per_check_full, 5), not_found=misses))
        say(f"naive re-push: {k} checks on the {n:,}-task project in {naive_re_s:.1f} s "
            f"({per_check_full * 1000:.1f} ms/check, {misses} not found) -> {n:,} extrapolated: "
            f"{per_check_full * n:.0f} s")
        naive_push_full_est = (per_check_full + import_s / k) * n  # checks at full size + imports

        # ---- annotations (setup)
        targets = [recs[i] for i in sorted(random.Random(args.seed + 2).sample(range(n), n_ann))]
        ledger = {r["record_id"]: r["task_id"] for r in AnnotationStore(tmp / "store-push").ledger().to_pylist()}
        target_tasks = [ledger[r["id"]] for r in targets]
        rng = random.Random(args.seed + 3)

        def result_for(rec: dict[str, Any]) -> list[dict]:
            return annotation_result("classification",
                                     label=rec["label"] if rng.random() < 0.8 else rng.choice(LABELS))

        probe = min(20, n_ann)
        t = time.perf_counter()
        for tid, rec in zip(target_tasks[:probe], targets[:probe]):
            ours.sdk.annotations.create(id=tid, result=result_for(rec), completed_by=user_id)
        probe_s = time.perf_counter() - t
        create_est = probe_s / probe * n_ann
        setup = args.setup if args.setup != "auto" else ("create" if create_est < args.create_budget_s else "inline")
        t = time.perf_counter()
        if setup == "create":
            for tid, rec in zip(target_tasks[probe:], targets[probe:]):
                ours.sdk.annotations.create(id=tid, result=result_for(rec), completed_by=user_id)
            pull_pid, pull_tasks = pid1, n
            setup_s = probe_s + time.perf_counter() - t
            how = (f"annotations.create one at a time on {n_ann:,} pushed tasks of the push project "
                   f"(probe: {probe_s / probe * 1000:.0f} ms each, estimated {create_est:.0f} s)")
        else:
            pid3 = ours.ensure_project(f"bench sync {tag} annotated", config).id
            payload = []
            for rec in targets:
                task = build_task(builder, rec)
                task["annotations"] = [{"result": result_for(rec), "completed_by": user_id}]
                payload.append(task)
            got = 0
            for b in range(0, n_ann, 1_000):
                resp = ours.sdk.projects.import_tasks(pid3, request=payload[b:b + 1_000], return_task_ids=True)
                got += resp.annotation_count or 0
            assert got == n_ann, f"the import created {got} annotations, expected {n_ann}"
            pull_pid, pull_tasks = pid3, n_ann
            setup_s = time.perf_counter() - t
            how = (f"a third project: {n_ann:,} tasks (same task data) imported with their annotation inline, "
                   f"batches of 1,000 (annotations.create probe: {probe_s / probe * 1000:.0f} ms each, "
                   f"{create_est:.0f} s estimated for {n_ann:,} > budget {args.create_budget_s:.0f} s)")
        results["annotation_setup"] = {"method": setup, "wall_s": round(setup_s, 1), "detail": how,
                                       "probe_ms_per_create": round(probe_s / probe * 1000, 1),
                                       "create_estimate_s": round(create_est, 1), "project_tasks": pull_tasks}
        say(f"annotation setup ({setup}, not compared): {setup_s:.1f} s: {how}")

        # ---- ours: pull, then pull again (nothing changed)
        pull_ok, stores = True, {}
        for ps in args.page_sizes:
            store = AnnotationStore(tmp / f"store-pull-{ps}")
            s1 = pull_annotations(ours, pull_pid, store, page_size=ps)
            s2 = pull_annotations(ours, pull_pid, store, page_size=ps)
            ok1, ok2 = s1["new"] == n_ann, s2["new"] == 0 and s2["updated"] == 0 and s2["deleted"] == 0
            pull_ok &= ok1 and ok2
            keep = ("pages", "tasks_seen", "new", "updated", "deleted", "unchanged")
            rows.append(row("pull", f"ours p{ps}", n_ann, s1["wall_s"], s1["requests"], "full", page_size=ps,
                            **{x: s1[x] for x in keep}))
            rows.append(row("re-pull (nothing changed)", f"ours p{ps}", n_ann, s2["wall_s"], s2["requests"], "full",
                            page_size=ps, **{x: s2[x] for x in keep}))
            say(f"ours pull p{ps}: {s1['wall_s']:.1f} s, {s1['requests']} requests, {s1['tasks_seen']:,} tasks, "
                f"new {s1['new']:,} {'OK' if ok1 else f'FAIL: expected {n_ann}'}; again: {s2['wall_s']:.2f} s, "
                f"{s2['requests']} requests, {s2['tasks_seen']} tasks re-read (overlap), new {s2['new']} "
                f"{'OK' if ok2 else 'FAIL: expected 0'}")
            stores[ps] = store
        ps = args.page_sizes[0]
        store = stores[ps]
        # Steady state, on the first page size's store once every page size has run its pair above on the
        # same data: those re-pulls re-read every task updated in the last `overlap_s` (5 s) before the
        # cursor, thousands after a bulk import; once a pull has moved the cursor past later edits, only those.
        ann_ids = sorted(v["annotation_id"] for v in store.versions().to_pylist())
        edits = random.Random(args.seed + 5).sample(ann_ids, 2 * args.changed)
        for a in edits[:args.changed]:
            ours.sdk.annotations.update(id=a, result=annotation_result("classification", label=LABELS[0]))
        s3 = pull_annotations(ours, pull_pid, store, page_size=ps)  # moves the cursor past the edits
        s4 = pull_annotations(ours, pull_pid, store, page_size=ps)
        for a in edits[args.changed:]:
            ours.sdk.annotations.update(id=a, result=annotation_result("classification", label=LABELS[1]))
        s5 = pull_annotations(ours, pull_pid, store, page_size=ps)
        ok3 = s3["updated"] == args.changed and s4["updated"] + s4["new"] == 0 and s5["updated"] == args.changed \
            and s5["new"] == 0
        pull_ok &= ok3
        results["steady_state_cursor_move"] = {x: s3[x] for x in ("wall_s", "requests", *keep)}
        rows.append(row("re-pull (nothing changed, steady)", f"ours p{ps}", n_ann, s4["wall_s"], s4["requests"],
                        "full", page_size=ps, **{x: s4[x] for x in keep}))
        rows.append(row(f"re-pull ({args.changed} changed, steady)", f"ours p{ps}", n_ann, s5["wall_s"],
                        s5["requests"], "full", page_size=ps, **{x: s5[x] for x in keep}))
        say(f"ours steady state p{ps}: {args.changed} annotations edited, pull {s3['wall_s']:.1f} s "
            f"({s3['tasks_seen']:,} tasks read, updated {s3['updated']}); again with nothing changed "
            f"{s4['wall_s']:.2f} s, {s4['requests']} requests, {s4['tasks_seen']} tasks read; "
            f"{args.changed} more edited: {s5['wall_s']:.2f} s, {s5['requests']} requests, {s5['tasks_seen']} "
            f"tasks read, updated {s5['updated']} {'OK' if ok3 else 'FAIL'}")

        # ---- naive pull: list the task ids once, then one annotations.list per task
        r0 = naive.requests
        t = time.perf_counter()
        task_ids = sorted(i for ids in naive.task_index(pull_pid).values() for i in ids)
        list_s, list_req = time.perf_counter() - t, naive.requests - r0
        assert len(task_ids) == pull_tasks, (len(task_ids), pull_tasks)
        kp = min(args.naive_sample, len(task_ids))
        sample_ids = sorted(random.Random(args.seed + 4).sample(task_ids, kp))
        r0, got = naive.requests, 0
        t = time.perf_counter()
        for tid in sample_ids:
            got += len(naive.sdk.annotations.list(id=tid))
        loop_s, loop_req = time.perf_counter() - t, naive.requests - r0
        per_task = loop_s / kp
        naive_pull_s = list_s + per_task * pull_tasks
        naive_pull_req = list_req + loop_req / kp * pull_tasks
        for op in ("pull", "re-pull (any)"):
            rows.append(row(op, "naive", n_ann, naive_pull_s, naive_pull_req,
                            f"listing full + {kp} of {pull_tasks:,} tasks, extrapolated (linear)", sample=kp,
                            listing_s=round(list_s, 3), listing_requests=list_req, sample_wall_s=round(loop_s, 3),
                            sample_requests=loop_req, sample_annotations=got, per_task_s=round(per_task, 5),
                            tasks_queried=pull_tasks))
        say(f"naive pull: task-id listing {list_s:.1f} s / {list_req} requests; {kp} tasks in {loop_s:.1f} s "
            f"({per_task * 1000:.1f} ms/task, {got} annotations) -> {pull_tasks:,} tasks extrapolated: "
            f"{naive_pull_s:.0f} s (a tool without a cursor pays the same on every re-pull)")
    finally:
        stopped = server.stop()
        shutil.rmtree(tmp, ignore_errors=True)  # the stores, and the server's data unless --keep-server-dir
        print(f"server stopped: {stopped}", flush=True)

    # ---- table
    base = {(r["operation"]): r for r in rows if r["side"] == "naive"}
    for r in rows:
        b = base.get("re-pull (any)" if r["operation"].startswith("re-pull") else r["operation"])
        if r["side"] != "naive" and b:
            r["naive_over_ours_time"] = round(b["wall_s"] / r["wall_s"], 1) if r["wall_s"] else None
            r["naive_over_ours_requests"] = round(b["requests"] / r["requests"], 1) if r["requests"] else None
    print()
    rows.sort(key=lambda r: (["push", "re-push", "pull", "re-pull"].index(r["operation"].split(" ")[0]),
                             r["side"] == "naive"))
    hdr = (f"{'operation':<33} {'side':<10} {'records':>8} {'wall s':>9} {'requests':>9} {'records/s':>10} "
           f"{'naive/ours time':>16} {'naive/ours req':>15}  measured")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        rt, rq = r.get("naive_over_ours_time"), r.get("naive_over_ours_requests")
        print(f"{r['operation']:<33} {r['side']:<10} {r['records']:>8,} {r['wall_s']:>9.2f} {r['requests']:>9,} "
              f"{r['records_per_s'] or 0:>10,.0f} {f'{rt:,.1f}x' if rt else '':>16} "
              f"{f'{rq:,.1f}x' if rq else '':>15}  {r['measured']}")
    print()
    np_row = base["push"]
    print(f"naive rows are EXTRAPOLATED: push and re-push from {np_row['sample']} records "
          f"({np_row['per_task_s'] * 1000:.1f} ms/task push, {base['re-push (nothing new)']['per_task_s'] * 1000:.1f} "
          f"ms/check on the full project), pull from {base['pull']['sample']} tasks "
          f"({base['pull']['per_task_s'] * 1000:.1f} ms/task) plus the measured task-id listing.")
    print("records = the tasks (push) or annotations (pull) the operation covers; a naive tool has no cursor, "
          "so every re-pull costs it a full pull.")
    ours_push_s = next(r["wall_s"] for r in rows if r["operation"] == "push" and r["side"] == "ours")
    print(f"linear is optimistic for the naive push: with the existence check at its full-project cost it would take "
          f"~{naive_push_full_est:.0f} s ({naive_push_full_est / ours_push_s:.0f}x ours).")
    print(f"annotation setup: {results['annotation_setup']['method']}, {results['annotation_setup']['wall_s']} s "
          f"(not compared). checks: re-push imported 0 {'OK' if repush_ok else 'FAIL'}; pulls new == {n_ann:,} and "
          f"re-pulls new == 0 {'OK' if pull_ok else 'FAIL'}")

    results.update({"rows": rows, "checks": {"repush_imported_zero": repush_ok, "pull_counts": pull_ok},
                    "naive_push_with_full_size_checks_s": round(naive_push_full_est, 1),
                    "loadavg_end": [round(x, 2) for x in os.getloadavg()]})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"figures written to {args.out}")
    if not (repush_ok and pull_ok):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
