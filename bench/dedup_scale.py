"""Benchmark: the exact and near dedup stages at 100k and 1M records: time and peak memory.

Records are short real texts: each joins two sentences drawn at random from the ~100k distinct
sentences of the SpamAssassin e-mail bodies, so they are distinct, and 10% are planted near
copies (one word replaced, one added) of an earlier record. Each size runs in a fresh process that reads the
stored input and runs `dedup_exact` then `dedup_near` (the stages the pipeline runs, with
their defaults); this script samples that process's resident memory. Memory must grow no
worse than linearly, and 1M records must stay within 4 GB.

    .venv/bin/python bench/dedup_scale.py                    # 100k and 1M
    .venv/bin/python bench/dedup_scale.py --sizes 100000
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORDS = ["please", "really", "today", "now", "again", "maybe", "also", "just", "still", "quite"]


def sentence_pool() -> list[str]:
    """Distinct sentences of 6 to 30 words from the bodies of the SpamAssassin e-mails."""
    import email
    import re

    from pipeline.demo.data import data_home, spamassassin_dir

    found: set[str] = set()
    for path in sorted(spamassassin_dir(data_home()).rglob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes())
        for part in msg.walk():
            if part.get_content_type() != "text/plain":
                continue
            body = (part.get_payload(decode=True) or b"").decode("latin-1")
            for sent in re.split(r"(?<=[.!?])\s+", " ".join(body.split())):
                if 6 <= len(sent.split()) <= 30:
                    found.add(sent)
    return sorted(found)


def build_input(n: int, out: Path, seed: int = 0) -> int:
    """A stored stage output of n classification records; returns the planted copies."""
    import pyarrow as pa

    from pipeline.records import RECORD_SCHEMA, empty_record, record_id
    from pipeline.store import BatchResult, StageStore, reject_rows

    pool = sentence_pool()
    rng = random.Random(seed)
    texts: list[str] = []
    planted = 0
    for i in range(n):
        if i > 100 and rng.random() < 0.1:
            words = texts[rng.randrange(i)].split()
            words[rng.randrange(len(words))] = rng.choice(WORDS)
            words.insert(rng.randrange(len(words) + 1), rng.choice(WORDS))
            texts.append(" ".join(words))
            planted += 1
        else:
            texts.append(" ".join(rng.sample(pool, 2)))

    def produce(writer):
        for start in range(0, n, 50_000):
            rows = []
            for i in range(start, min(n, start + 50_000)):
                rid = record_id("classification", "bench", {"text": texts[i], "label": "x"})
                rows.append(empty_record(id=rid, kind="classification", source="bench", origin=f"bench:{i}",
                                         group_id=rid, text=texts[i], label="x"))
            table = pa.Table.from_pylist(rows, schema=RECORD_SCHEMA)
            writer.write(BatchResult(table, reject_rows([])), table.num_rows)

    StageStore(out).run("input", "1", {"n": n, "seed": seed}, str(n), RECORD_SCHEMA, produce)
    return planted


def run_levels(out: str) -> None:
    """In the measured child process: exact, then near, on the stored input."""
    from pipeline.dedup.config import DedupConfig
    from pipeline.dedup.stage import DedupStage
    from pipeline.engine import run_stage
    from pipeline.store import StageStore

    store = StageStore(out)
    [source] = [store.lookup("input", p.name.split("-", 1)[1]) for p in (Path(out) / "stages").glob("input-*")]
    config = DedupConfig.model_validate({"semantic": {"enabled": False}})
    result = {}
    for level in ("exact", "near"):
        t0 = time.perf_counter()
        source = run_stage(DedupStage(level, config), source, store, batch_size=10_000)
        result[level] = {"seconds": round(time.perf_counter() - t0, 1), **source.counts,
                         "counters": {k: v for k, v in source.manifest["counters"].items() if ":" in k}}
    print(json.dumps(result))


def measure(out: Path) -> tuple[dict, float, float]:
    from _peak import run_measured

    return run_measured([sys.executable, __file__, "--child", str(out)])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "dedup_scale")
    ap.add_argument("--child")
    args = ap.parse_args()
    if args.child:
        return run_levels(args.child)
    rows = []
    for n in args.sizes:
        work = args.work / str(n)
        shutil.rmtree(work, ignore_errors=True)
        t0 = time.perf_counter()
        planted = build_input(n, work)
        built = time.perf_counter() - t0
        result, wall, peak = measure(work)
        rows.append((n, result, wall, peak))
        print(f"{n:>9,} records (planted near copies {planted:,}; input built in {built:.0f} s): "
              f"process {wall:.1f} s, peak RSS {peak:,.0f} MB")
        for level, r in result.items():
            print(f"    {level:5}: {r['seconds']:7.1f} s  {n / r['seconds']:9,.0f} rec/s  in {r['in']:,} "
                  f"kept {r['kept']:,} rejected {r['rejected']:,}  {r['counters']}")
        shutil.rmtree(work, ignore_errors=True)
    if len(rows) > 1:
        (n0, _, w0, p0), (n1, _, w1, p1) = rows[0], rows[-1]
        print(f"x{n1 / n0:.0f} records: time x{w1 / w0:.2f}, peak RSS x{p1 / p0:.2f} "
              f"({(p1 - p0) / (n1 - n0) * 2**20:,.0f} bytes per added record)")


if __name__ == "__main__":
    main()
