"""Benchmark: n-gram decontamination (decontam_ngram) at 1M records: throughput, memory, recall.

The reference set ("benchmark") is 5,000 Brown corpus passages of ~120 words. The input is 1M
instruction records whose prompt and response join sentences of the SpamAssassin e-mail bodies
(another corpus: overlaps with the benchmark are not expected). Planted into chosen records'
responses, between their sentences: copies of a benchmark passage's words, 50 and 80 words
verbatim, 50 words with two words replaced, and 20 words (shorter than most copies people
worry about, still above n=13). Reported: the stage's wall time and records/s through the real
engine (the local executor, `--workers` processes), the peak memory of the measured process
(and its workers), recall per planted kind, and the records rejected with nothing planted.

The peer, raced in turn with ours on the same records (each run: ours, then datatrove): datatrove's
n-gram decontamination (NGramsDecontIndexer's hashes, then ParquetReader + NGramsDecontFilter with
an exclusion writer + ParquetWriter through its LocalPipelineExecutor, n_grams=13 like ours, its
other settings its defaults; bench/peers/run_datatrove_decont.py says how and why the index is made
without lighteval). It runs in the peers' venv (bench/_peers_venv.py, made on first use from PyPI),
on the same input split into --datatrove-files Parquet files, since it shards by file. Both are
timed as whole processes (interpreter start-up, imports, index, scan, writing kept and rejected
records); the in-process figures are printed beside them (ours: run_stage; datatrove: its
executor's run). Medians over --runs, with min and max, and the load average before and after.

    .venv/bin/python bench/decontam_ngram.py                     # 1M records, 2 workers, datatrove beside
    .venv/bin/python bench/decontam_ngram.py --records 100000 --runs 3 --peers

The demo data must be prepared first (`curate demo-data`; the Brown corpus comes on first use).
"""

from __future__ import annotations

import _setup  # noqa: F401  (sys.path, offline hubs, quiet loads)

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path


HERE = Path(__file__).resolve().parent
KINDS = {"verbatim_50": (50, 0), "verbatim_80": (80, 0), "edited_50": (50, 2), "verbatim_20": (20, 0)}
FILLER = ["please", "really", "today", "now", "again", "maybe", "also", "just", "still", "quite"]


def build(n: int, out: Path, per_kind: int, seed: int = 0) -> dict[str, list[str]]:
    """The reference file and the stored input; returns the planted record origins by kind."""
    import pyarrow as pa

    from bench.dedup_scale import sentence_pool
    from pipeline.defects.brown import brown_passages
    from pipeline.demo.data import data_home
    from pipeline.records import RECORD_SCHEMA, empty_record, record_id
    from pipeline.store import BatchResult, StageStore, reject_rows

    rng = random.Random(seed)
    passages = [p["text"] for p in brown_passages(data_home())]
    refs = rng.sample(passages, min(5000, len(passages)))
    (out / "bench.jsonl").write_text("".join(json.dumps({"question": "Continue the passage.", "answer": t}) + "\n"
                                             for t in refs))
    pool = sentence_pool()
    plants: dict[int, str] = {}
    targets = rng.sample(range(n), per_kind * len(KINDS))
    for j, i in enumerate(targets):
        plants[i] = list(KINDS)[j % len(KINDS)]
    planted: dict[str, list[str]] = {k: [] for k in KINDS}

    def response(i: int) -> str:
        parts = rng.sample(pool, 2)
        kind = plants.get(i)
        if kind is None:
            return " ".join(parts)
        length, edits = KINDS[kind]
        words = rng.choice(refs).split()
        start = rng.randrange(max(1, len(words) - length))
        copy = words[start:start + length]
        for k in rng.sample(range(len(copy)), edits):
            copy[k] = rng.choice(FILLER)
        planted[kind].append(f"bench:{i}")
        return f"{parts[0]} {' '.join(copy)} {parts[1]}"

    def produce(writer):
        for start in range(0, n, 50_000):
            rows = []
            for i in range(start, min(n, start + 50_000)):
                prompt, resp = rng.choice(pool), response(i)
                rid = record_id("instruction", "bench", {"prompt": prompt, "response": resp})
                rows.append(empty_record(id=rid, kind="instruction", source="bench", origin=f"bench:{i}", group_id=rid,
                                         prompt=prompt, response=resp))
            table = pa.Table.from_pylist(rows, schema=RECORD_SCHEMA)
            writer.write(BatchResult(table, reject_rows([])), table.num_rows)

    StageStore(out).run("input", "1", {"n": n, "seed": seed}, str(n), RECORD_SCHEMA, produce)
    return planted


def child(out: str, workers: int, run: int) -> None:
    """In the measured process: the stage through the engine, on the local executor."""
    from pipeline.dedup.config import DedupConfig
    from pipeline.dedup.ngram_stage import NgramDecontamStage
    from pipeline.engine import run_stage
    from pipeline.executors.local import LocalExecutor
    from pipeline.store import StageStore

    store = StageStore(out)
    [source] = [store.lookup("input", p.name.split("-", 1)[1]) for p in (Path(out) / "stages").glob("input-*")]
    config = DedupConfig.model_validate({"reference_sets": [{
        "name": "brown", "kind": "instruction", "path": str(Path(out) / "bench.jsonl"),
        "fields": {"prompt": "question", "response": "answer"}, "fields_compared": ["response"]}],
        "ngram": {"min_words": 8 + run}})  # a new setting per run: the stored output is not reused
    executor = LocalExecutor(workers)
    t0 = time.perf_counter()
    try:
        result = run_stage(NgramDecontamStage(config), source, store, executor, batch_size=10_000)
    finally:
        executor.close()
    seconds = time.perf_counter() - t0
    origins = [json.loads(r)["origin"] for r in result.read_rejected(columns=["record"]).column(0).to_pylist()]
    print(json.dumps({"seconds": seconds, "counts": result.counts, "counters": result.manifest["counters"],
                      "rejected": origins}))


def measure(out: Path, workers: int, run: int) -> tuple[dict, float, float]:
    """The child's result, its whole-process wall seconds and the peak memory of it and its workers."""
    from _peak import run_measured

    return run_measured([sys.executable, __file__, "--child", str(out), "--workers", str(workers),
                         "--run", str(run)], children=True, interval=0.1)


def datatrove_input(out: Path, files: int) -> tuple[Path, dict[str, str]]:
    """The stored input split into `files` Parquet files (datatrove shards by file: one task each),
    and every record's origin by id."""
    import pyarrow.parquet as pq

    [part] = (out / "stages").glob("input-*/kept/*.parquet")
    table = pq.read_table(part)
    folder = out / "datatrove-input"
    folder.mkdir(exist_ok=True)
    share = -(-table.num_rows // files)
    for k in range(files):
        pq.write_table(table.slice(k * share, share), folder / f"part-{k:04d}.parquet")
    return folder, dict(zip(table.column("id").to_pylist(), table.column("origin").to_pylist()))


def measure_datatrove(out: Path, folder: Path, workers: int, origin: dict[str, str]) -> tuple[dict, float, float]:
    """datatrove's run in the peers' venv (bench/peers/run_datatrove_decont.py): its result with the
    removed records' origins, its whole-process wall seconds and peak memory with its workers."""
    import shutil

    from _peak import run_measured
    from _peers_venv import PEERS_VENV, venv_python

    work = out / "datatrove-work"
    shutil.rmtree(work, ignore_errors=True)
    result, wall, peak = run_measured(
        [str(venv_python(PEERS_VENV)), str(HERE / "peers" / "run_datatrove_decont.py"), "--input", str(folder),
         "--refs", str(out / "bench.jsonl"), "--work", str(work), "--workers", str(workers)],
        children=True, interval=0.1, log=work / "datatrove.log")
    result["rejected"] = [origin[i] for i in result["removed"]]
    return result, wall, peak


def recall_lines(planted: dict[str, list[str]], rejected: set[str], n: int) -> list[str]:
    every = {o for origins in planted.values() for o in origins}
    lines = [f"  {kind:<12} recall {sum(o in rejected for o in origins) / len(origins):.4f} "
             f"({sum(o in rejected for o in origins)}/{len(origins)})" for kind, origins in planted.items()]
    return lines + [f"  rejected with nothing planted: {len(rejected - every)} of {n - len(every):,}"]


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.1f} s (min {min(values):.1f}, max {max(values):.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--per-kind", type=int, default=500, help="planted copies of each kind")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--peers", nargs="*", default=["datatrove"], choices=["datatrove"],
                        help="peers raced on the same records, in turn with ours (none: --peers)")
    parser.add_argument("--datatrove-files", type=int, default=2,
                        help="input files (= tasks) for datatrove, which shards by file")
    parser.add_argument("--child")
    parser.add_argument("--run", type=int, default=0)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.workers, args.run)
        return
    if args.peers:
        from _peers_venv import PEER_PINS, PEERS_VENV, ensure_venv

        versions, problem = ensure_venv(PEERS_VENV, PEER_PINS)
        if problem:
            raise SystemExit(f"the peers' venv {PEERS_VENV} could not be made: {problem}")
        print(f"datatrove {versions['datatrove']} (spacy {versions['spacy']}) in {PEERS_VENV}")
    with tempfile.TemporaryDirectory(prefix="decontam-bench-") as tmp:
        t0 = time.perf_counter()
        planted = build(args.records, Path(tmp), args.per_kind)
        if args.peers:
            folder, origin = datatrove_input(Path(tmp), args.datatrove_files)
        print(f"built {args.records:,} records, {sum(map(len, planted.values())):,} planted, "
              f"in {time.perf_counter() - t0:.0f} s; load average {os.getloadavg()[0]:.2f}")
        ours, theirs = [], []
        for run in range(args.runs):
            result, wall, peak = measure(Path(tmp), args.workers, run)
            ours.append((result["seconds"], wall))
            print(f"run {run + 1} ours: stage {result['seconds']:.1f} s ({args.records / result['seconds']:,.0f} "
                  f"records/s), process {wall:.1f} s, peak memory {peak:,.0f} MiB (process and workers); "
                  f"counters {result['counters']}", flush=True)
            if args.peers:
                peer, peer_wall, peer_peak = measure_datatrove(Path(tmp), folder, args.workers, origin)
                theirs.append((peer["phases"]["filter"], peer_wall))
                print(f"run {run + 1} datatrove: filter {peer['phases']['filter']:.1f} s, process {peer_wall:.1f} s "
                      f"(index {peer['phases']['index']:.1f} s, {peer['index_hashes']:,} hashes; "
                      f"{peer['tasks']} tasks), peak memory {peer_peak:,.0f} MiB (process and workers)", flush=True)
        print(f"load average {os.getloadavg()[0]:.2f} after the runs")
        print(f"ours: stage {spread([s for s, _ in ours])}, process {spread([w for _, w in ours])}: "
              f"{args.records / statistics.median(w for _, w in ours):,.0f} records/s whole process")
        print("\n".join(recall_lines(planted, set(result["rejected"]), args.records)))
        if args.peers:
            print(f"datatrove: filter {spread([s for s, _ in theirs])}, process {spread([w for _, w in theirs])}: "
                  f"{args.records / statistics.median(w for _, w in theirs):,.0f} records/s whole process")
            print("\n".join(recall_lines(planted, set(peer["rejected"]), args.records)))
            ratio = statistics.median(w for _, w in theirs) / statistics.median(w for _, w in ours)
            print(f"datatrove / ours, whole-process wall (medians): {ratio:.2f}x")


if __name__ == "__main__":
    main()
