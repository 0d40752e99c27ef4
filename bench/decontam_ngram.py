"""Benchmark: n-gram decontamination (decontam_ngram) at 1M records: throughput, memory, recall.

The reference set ("benchmark") is 5,000 Brown corpus passages of ~120 words. The input is 1M
instruction records whose prompt and response join sentences of the SpamAssassin e-mail bodies
(another corpus: overlaps with the benchmark are not expected). Planted into chosen records'
responses, between their sentences: copies of a benchmark passage's words, 50 and 80 words
verbatim, 50 words with two words replaced, and 20 words (shorter than most copies people
worry about, still above n=13). Reported: the stage's wall time and records/s through the real
engine (the local executor, `--workers` processes), the peak memory of the measured process
(and its workers), recall per planted kind, and the records rejected with nothing planted.

    .venv/bin/python bench/decontam_ngram.py                     # 1M records, 2 workers
    .venv/bin/python bench/decontam_ngram.py --records 100000 --runs 3

The demo data must be prepared first (`curate demo-data`; the Brown corpus comes on first use).
"""

from __future__ import annotations

import _setup  # noqa: F401  (sys.path, offline hubs, quiet loads)

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path


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


def measure(out: Path, workers: int, run: int) -> tuple[dict, float]:
    """The child's result and the peak memory of it and its workers."""
    from _peak import run_measured

    result, _, peak = run_measured([sys.executable, __file__, "--child", str(out), "--workers", str(workers),
                                    "--run", str(run)], children=True, interval=0.1)
    return result, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--per-kind", type=int, default=500, help="planted copies of each kind")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--child")
    parser.add_argument("--run", type=int, default=0)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.workers, args.run)
        return
    with tempfile.TemporaryDirectory(prefix="decontam-bench-") as tmp:
        t0 = time.perf_counter()
        planted = build(args.records, Path(tmp), args.per_kind)
        print(f"built {args.records:,} records, {sum(map(len, planted.values())):,} planted, "
              f"in {time.perf_counter() - t0:.0f} s")
        runs = []
        for run in range(args.runs):
            result, peak = measure(Path(tmp), args.workers, run)
            runs.append(result["seconds"])
            print(f"run {run + 1}: {result['seconds']:.1f} s, {args.records / result['seconds']:,.0f} records/s, "
                  f"peak memory {peak:,.0f} MiB (process and workers); counters {result['counters']}")
        rejected = set(result["rejected"])
        for kind, origins in planted.items():
            caught = sum(o in rejected for o in origins)
            print(f"  {kind:<12} recall {caught / len(origins):.4f} ({caught}/{len(origins)})")
        every = {o for origins in planted.values() for o in origins}
        print(f"  rejected with nothing planted: {len(rejected - every)} of {args.records - len(every):,}")
        if len(runs) > 1:
            print(f"median {statistics.median(runs):.1f} s over {len(runs)} runs (min {min(runs):.1f}, "
                  f"max {max(runs):.1f}): {args.records / statistics.median(runs):,.0f} records/s")


if __name__ == "__main__":
    main()
