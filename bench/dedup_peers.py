"""Near-duplicate detection against its peers: the same documents, the same shingles, the same exact truth.

    .venv/bin/python bench/dedup_peers.py [--sets quality brown short] [--threshold 0.7] [--repeat 3]
                                          [--limit N] [--peers ours datasketch datatrove text-dedup]

Documents: the sets of bench/dedup_truth.py (quality: ~7.4k distinct texts of the labelled pair
set; brown: ~8.1k Brown-corpus documents of 200-3,000 characters, 40% of them edited copies, some
copies of copies; short: ~10.7k Brown texts of a sentence or two, median 171 characters, built the
same way), optionally the first --limit of each. They go to every tool as one JSONL file ({"id": line number,
"text": raw text}) in a temporary folder.

Shingles, for every tool unless said otherwise: character 5-grams of `normalised(text)` (lower-cased
\\w+ words joined by single spaces, dedup_truth.normalised; the runners' copy in bench/peers/common.py
is checked equal to it on every document), 128 permutations, threshold 0.7.

Tools, each one a process of its own (bench/peers/run_*.py, given --docs/--out/--work), so that
every tool pays its interpreter start-up and imports:

  ours                  the project's venv: `dedup_truth.run_near(texts, tmp, "exact", 0.7, {})`, the
                        dedup_near stage with its defaults (char 5-grams, 128 permutations, LSH bands
                        laid out for the threshold, candidates decided on the exact Jaccard of their
                        shingle sets). Its in-process stage time (run_near's own timer around
                        run_stage, without start-up, imports and input table) is reported too.
  datasketch            `MinHash.bulk(shingle lists, num_perm=128, seed=1)`, default scheme (affine32)
                        and default hashfunc (sha1_hash32, so shingles encoded to bytes);
                        `MinHashLSH(threshold=0.7, num_perm=128)` (14 bands x 9 rows) filled through
                        `insertion_session()`, then one `query` per document; a candidate is a
                        predicted pair when `MinHash.jaccard` (the estimate over 128 permutations) is
                        >= 0.7. Shingling (a Python set of slices of the normalised text) is timed.
  datasketch-xxh32      the same with `hashfunc=xxhash.xxh32_intdigest` on str shingles (datasketch's
                        docs suggest a fast hash such as farmhash for speed).
  datatrove             its four MinHash steps (JsonlReader + MinhashDedupSignature, MinhashDedupBuckets,
                        MinhashDedupCluster(save_cluster_id=True), JsonlReader + MinhashDedupFilter with
                        an exclusion JsonlWriter + JsonlWriter) through LocalPipelineExecutor, tasks=1
                        workers=1 for steps 1, 3 and 4 and tasks=16 workers=1 for the buckets
                        (--datatrove-workers N: N input files, N tasks and workers for steps 1 and 4,
                        N workers for step 2; 2 workers were slower on this 2-core machine: each
                        step starts a forkserver pool); MinhashConfig(n_grams=5, num_buckets=16,
                        hashes_per_bucket=8, seed=1, hash_config=HashConfig(64, "xxhash"), every
                        TextNormConfig normalisation off). datatrove shingles words and has no
                        character option, but takes a WordTokenizer object as `language`: one whose
                        words are the characters of the normalised text gives our char 5-grams.
                        No threshold and no verification: 16x8 bands put the S-curve at
                        (1/16)^(1/8) = 0.707, and one equal band makes a duplicate. Pairs = every
                        pair inside one of its clusters (`minhash_cluster_id`).
  text-dedup            text-dedup 0.4.0 (current PyPI release) `text_dedup.minhash` CLI entry, called
                        in-process: --path json --data_files docs.jsonl --split train --column text
                        --num_perm 128 --threshold 0.7 (it picks 14 bands x 9 rows) --ngram 5
                        --min_length 0 --hash_func xxh3 --hash_bits 64 --num_proc <cores>. It
                        shingles WORDS only (re.split(r"\\W", text.lower()) n-grams): this variant
                        runs on its own word 5-grams. No verification: one equal band unions two
                        documents; pairs = every pair inside one union-find cluster.
  text-dedup-chars      the same on our shingles: each char 5-gram of the normalised text is handed
                        to it as one "word" (its spaces replaced by a word character), --ngram 1.

Measured per tool and set, over --repeat runs interleaved round-robin (tool order within a round
fixed): wall time of the process (start to exit), CPU time (user + sys of the process and of all its
descendants: this script makes itself a child subreaper, so workers orphaned by a pool's server are
reaped here too, and takes RUSAGE_CHILDREN deltas), median and min-max; docs/s = documents / median
wall; peak RSS = the runner's own high-water mark (VmHWM) or that of the largest child it waited
for, whichever is larger (one process, not a sum over workers; wait4's ru_maxrss would carry this
script's own size over the exec).
The machine's load average is printed before and after.

Truth: `dedup_truth.true_pairs(texts, floor=threshold - 0.2)`: the exact Jaccard of every pair's
char 5-gram sets (sparse matrix product over all pairs); a true pair has Jaccard >= threshold.
Quality:
  pairs     predicted pairs: ours = the stage's duplicate pairs; datasketch = pairs passing its
            estimate; datatrove, text-dedup = all pairs inside a predicted cluster ("pairs in
            clusters", which grows as the square of a cluster's size; the largest cluster is shown).
            Precision, recall, F1 against the true pairs; false positives split into those of true
            Jaccard in [floor, threshold) and below the floor; recall per true-Jaccard bucket
            [0.7,0.75) [0.75,0.8) [0.8,0.9) [0.9,1.0].
  records   a record is duplicated when it is in at least one true pair, predicted duplicated when
            it is in a predicted pair (cluster of size >= 2); precision, recall, F1.
  removals  records the tool removes (ours: the stage's drops; datatrove and text-dedup: what they
            filter out; datasketch, which does not remove: all but the lowest index of each
            connected component of its pairs), and how many of those have no true pair with any
            record the tool keeps (removed through a chain, or with no true duplicate at all).
Ratios: peer / ours, whole-process wall and CPU (medians), per set.

The peers live in a venv of their own, ~/.cache/curate/bench/peers-venv, made by this script with
`python -m venv` and pip from PyPI (versions pinned in PEER_PINS; made once, reused while the pins
match). Nothing of theirs is a dependency of the project.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from scipy import sparse  # noqa: E402
from scipy.sparse.csgraph import connected_components  # noqa: E402

from _peers_venv import PEER_PINS, PEERS_VENV, ensure_venv, last_line, venv_python  # noqa: E402
from dedup_truth import SETS, normalised, true_pairs  # noqa: E402

RUN_TIMEOUT_S = 3600
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "OMP_WAIT_POLICY": "PASSIVE"}
FAMILIES = ["ours", "datasketch", "datatrove", "text-dedup"]


# ---- the peers' environment ----------------------------------------------------------------


def peer_python() -> Path:
    return venv_python(PEERS_VENV)


def ensure_peers_venv() -> tuple[dict[str, str | None], str | None]:
    """The peers' venv with PEER_PINS installed: (versions, None), or (versions, why not)."""
    return ensure_venv(PEERS_VENV, PEER_PINS)


# ---- the tools -----------------------------------------------------------------------------


@dataclass
class Tool:
    name: str
    family: str
    script: str
    args: list[str] = field(default_factory=list)
    unavailable: str | None = None  # why it cannot run here

    def python(self) -> Path:
        return Path(sys.executable) if self.family == "ours" else peer_python()


def tools_for(families: list[str], datatrove_workers: int, textdedup_workers: int, venv_problem: str | None):
    out = []
    for family in families:
        if family == "ours":
            out.append(Tool("ours", family, "run_ours.py"))
        elif family == "datasketch":
            out += [Tool("datasketch", family, "run_datasketch.py", ["--variant", "sha1"]),
                    Tool("datasketch-xxh32", family, "run_datasketch.py", ["--variant", "xxh32"])]
        elif family == "datatrove":
            out.append(Tool("datatrove", family, "run_datatrove.py", ["--workers", str(datatrove_workers)]))
        elif family == "text-dedup":
            w = ["--workers", str(textdedup_workers)]
            out += [Tool("text-dedup", family, "run_text_dedup.py", ["--variant", "words", *w]),
                    Tool("text-dedup-chars", family, "run_text_dedup.py", ["--variant", "chars", *w])]
    for tool in out:
        if tool.family != "ours" and venv_problem:
            tool.unavailable = venv_problem
    return out


# ---- running one tool once -----------------------------------------------------------------


def become_subreaper() -> None:
    """Orphaned descendants (a pool's server exiting after its runner) are re-parented to this
    process, so that reaping them adds their CPU time to RUSAGE_CHILDREN."""
    PR_SET_CHILD_SUBREAPER = 36
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def reap_orphans(grace_s: float = 30.0) -> int:
    """Wait for descendants left behind by the last runner; returns how many were reaped."""
    reaped, deadline = 0, time.monotonic() + grace_s
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return reaped
        if pid:
            reaped += 1
        elif time.monotonic() > deadline:
            return reaped
        else:
            time.sleep(0.02)


@dataclass
class Run:
    wall: float
    cpu: float
    peak_mb: float
    result: dict | None
    error: str | None = None


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_once(tool: Tool, docs: Path, tmp: Path, threshold: float) -> Run:
    work = Path(tempfile.mkdtemp(prefix=f"{tool.name}-", dir=tmp))
    out, log = work / "result.json", work / "log.txt"
    (work / "work").mkdir()
    cmd = [str(tool.python()), str(HERE / "peers" / tool.script), "--docs", str(docs), "--out", str(out),
           "--work", str(work / "work"), "--threshold", str(threshold), "--num-perm", "128", "--ngram", "5",
           *tool.args]
    env = {**os.environ, **OFFLINE_ENV, "HF_HOME": str(work / "hf"), "HF_DATASETS_CACHE": str(work / "hf/datasets")}
    cpu0 = children_cpu()
    t0 = time.perf_counter()
    with open(log, "w") as logf:
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=env, cwd=work)
        try:
            _, status, _ = wait4_with_timeout(proc.pid, RUN_TIMEOUT_S)
        finally:
            proc.returncode = 0  # reaped by wait4 above; keep Popen from waiting again
    wall = time.perf_counter() - t0
    reap_orphans()
    cpu = children_cpu() - cpu0
    code = os.waitstatus_to_exitcode(status)
    if code != 0 or not out.exists():
        return Run(wall, cpu, float("nan"), None, f"exit {code}: {last_line(log.read_text(errors='replace'))}")
    result = json.loads(out.read_text())
    return Run(wall, cpu, result["peak_rss_mb"], result)


def wait4_with_timeout(pid: int, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while True:
        got, status, usage = os.wait4(pid, os.WNOHANG)
        if got:
            return got, status, usage
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            return os.wait4(pid, 0)
        time.sleep(0.01)


# ---- what a tool predicted -----------------------------------------------------------------


@dataclass
class Prediction:
    """Predicted pairs (explicit, or all pairs inside clusters) and removed records."""

    n: int
    pairs: set[tuple[int, int]] | None  # explicit pairs, or None for a clustering
    label: np.ndarray  # cluster label per record (connected components of the pairs for explicit pairs)
    sizes: np.ndarray  # cluster size per record
    removed: set[int]

    def predicts(self, i: int, j: int) -> bool:
        if self.pairs is not None:
            return (i, j) in self.pairs
        return self.sizes[i] > 1 and self.label[i] == self.label[j]

    def pair_count(self) -> int:
        if self.pairs is not None:
            return len(self.pairs)
        _, counts = np.unique(self.label[self.sizes > 1], return_counts=True)
        return int((counts * (counts - 1) // 2).sum())

    def duplicated(self) -> set[int]:
        if self.pairs is not None:
            return {i for p in self.pairs for i in p}
        return set(np.flatnonzero(self.sizes > 1).tolist())

    def largest(self) -> int:
        return int(self.sizes.max()) if self.n else 0


def components(n: int, pairs: set[tuple[int, int]]) -> np.ndarray:
    a = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
    graph = sparse.coo_matrix((np.ones(len(a)), (a[:, 0], a[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def with_sizes(n: int, label: np.ndarray, pairs, removed) -> Prediction:
    _, inverse, counts = np.unique(label, return_inverse=True, return_counts=True)
    return Prediction(n, pairs, label, counts[inverse], removed)


def prediction(tool: Tool, result: dict, n: int) -> Prediction:
    if "pairs" in result:
        pairs = {(min(i, j), max(i, j)) for i, j in result["pairs"]}
        label = components(n, pairs)
        if tool.family == "ours":
            removed = {d for d, _ in result["drops"]}
        else:  # datasketch removes nothing itself: keep the lowest index of each component
            first = {}
            for i, c in enumerate(label.tolist()):
                first.setdefault(c, i)
            removed = {i for i, c in enumerate(label.tolist()) if first[c] != i}
        return with_sizes(n, label, pairs, removed)
    # A clustering: records without a cluster get a label of their own.
    label = np.arange(n, dtype=np.int64) + 1 + max((c for _, c in result["clusters"]), default=0)
    for i, c in result["clusters"]:
        label[i] = c
    return with_sizes(n, label, None, set(result["removed"]))


def fingerprint(result: dict) -> str:
    """What the tool decided, to check that repeats agree."""
    keys = ("pairs", "clusters", "removed", "drops")
    return json.dumps({k: sorted(map(tuple, result[k])) if k != "removed" else sorted(result[k])
                       for k in keys if k in result})


# ---- scores ----------------------------------------------------------------------------------


def prf(tp: int, predicted: int, true: int) -> tuple[float, float, float]:
    p, r = tp / max(predicted, 1), tp / max(true, 1)
    return p, r, 2 * p * r / max(p + r, 1e-12)


def recall_buckets(threshold: float) -> list[tuple[float, float]]:
    edges = [threshold, threshold + 0.05, threshold + 0.1, 0.9, 1.0 + 1e-9]
    edges = [e for k, e in enumerate(edges) if k == 0 or e > edges[k - 1]]
    return list(zip(edges, edges[1:]))


@dataclass
class Quality:
    pairs: tuple[float, float, float]
    predicted: int
    fp_near: int  # false positives of true Jaccard in [floor, threshold)
    fp_far: int  # below the floor
    largest: int
    records: tuple[float, float, float]
    removed: int
    removed_orphans: int  # removed with no true pair to any kept record
    bucket_hits: list[tuple[int, int]]


def quality(pred: Prediction, truth: dict[tuple[int, int], float], threshold: float) -> Quality:
    true = [p for p, s in truth.items() if s >= threshold]
    hit = {p: pred.predicts(*p) for p in truth}
    tp = sum(hit[p] for p in true)
    predicted = pred.pair_count()
    fp_near = sum(hit[p] for p, s in truth.items() if s < threshold)
    dup_true = {i for p in true for i in p}
    dup_pred = pred.duplicated()
    partners: dict[int, list[int]] = {}
    for i, j in true:
        partners.setdefault(i, []).append(j)
        partners.setdefault(j, []).append(i)
    orphans = sum(1 for r in pred.removed if not any(k not in pred.removed for k in partners.get(r, ())))
    buckets = [(sum(hit[p] for p, s in truth.items() if lo <= s < hi), sum(1 for s in truth.values() if lo <= s < hi))
               for lo, hi in recall_buckets(threshold)]
    return Quality(prf(tp, predicted, len(true)), predicted, fp_near, predicted - tp - fp_near, pred.largest(),
                   prf(len(dup_true & dup_pred), len(dup_pred), len(dup_true)), len(pred.removed), orphans, buckets)


# ---- one set ---------------------------------------------------------------------------------


def load_set(name: str, limit: int | None) -> list[str]:
    texts = SETS[name]()
    return texts[:limit] if limit else texts


def check_normalisation(texts: list[str]) -> None:
    """The runners' normalised() must be the truth's, document by document."""
    spec = importlib.util.spec_from_file_location("peers_common", HERE / "peers" / "common.py")
    common = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(common)
    bad = sum(1 for t in texts if common.normalised(t) != normalised(t))
    assert bad == 0, f"{bad} documents normalise differently in bench/peers/common.py"


def short_pairs(texts: list[str], truth: dict, threshold: float, n: int = 5) -> int:
    """True pairs with a text of fewer than n normalised characters: one shingle, the whole text, in
    the truth and ours; no n-gram at all (so no signature) in a tool that needs n units."""
    short = {k for k, t in enumerate(texts) if len(normalised(t)) < n}
    return sum(1 for (i, j), s in truth.items() if s >= threshold and (i in short or j in short))


def write_docs(texts: list[str], path: Path) -> None:
    with path.open("w", encoding="utf-8") as f:
        for k, t in enumerate(texts):
            f.write(json.dumps({"id": str(k), "text": t}) + "\n")


@dataclass
class Outcome:
    runs: list[Run]
    quality: Quality | None = None
    error: str | None = None
    stable: bool = True  # every repeat decided the same

    def med(self, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.runs)

    def spread(self, attr: str) -> str:
        vals = [getattr(r, attr) for r in self.runs]
        return f"{min(vals):.1f}-{max(vals):.1f}"


def race(name: str, tools: list[Tool], threshold: float, repeat: int, limit: int | None) -> dict[str, Outcome]:
    texts = load_set(name, limit)
    check_normalisation(texts)
    t0 = time.perf_counter()
    truth = true_pairs(texts, floor=threshold - 0.2)
    n_true = sum(1 for s in truth.values() if s >= threshold)
    print(f"\n=== {name}: {len(texts):,} documents, {n_true:,} true pairs at Jaccard >= {threshold}"
          f" ({len(truth) - n_true:,} more in [{threshold - 0.2:.2f}, {threshold}); truth over all"
          f" {len(texts) * (len(texts) - 1) // 2:,} pairs in {time.perf_counter() - t0:.1f} s);"
          f" {short_pairs(texts, truth, threshold):,} of the true pairs have a text of < 5 normalised characters",
          flush=True)
    outcomes = {t.name: Outcome([], error=t.unavailable and f"not available: {t.unavailable}") for t in tools}
    with tempfile.TemporaryDirectory(prefix="dedup-peers-") as tmp:
        docs = Path(tmp) / "docs.jsonl"
        write_docs(texts, docs)
        for k in range(repeat):
            for tool in tools:
                o = outcomes[tool.name]
                if o.error:
                    continue
                run = run_once(tool, docs, Path(tmp), threshold)
                print(f"  [{name} run {k + 1}/{repeat}] {tool.name:17s} {run.wall:7.1f} s wall {run.cpu:7.1f} s CPU"
                      + (f"  FAILED {run.error}" if run.error else ""), flush=True)
                if run.error:
                    o.error = f"failed: {run.error}"
                    continue
                if o.runs and fingerprint(run.result) != fingerprint(o.runs[0].result):
                    o.stable = False
                o.runs.append(run)
    for tool in tools:
        o = outcomes[tool.name]
        if o.runs and not o.error:
            o.quality = quality(prediction(tool, o.runs[0].result, len(texts)), truth, threshold)
    report(name, len(texts), tools, outcomes, threshold, repeat)
    return outcomes


# ---- printing --------------------------------------------------------------------------------


def report(name: str, n: int, tools: list[Tool], outcomes: dict[str, Outcome], threshold: float, repeat: int) -> None:
    ok = [t for t in tools if not outcomes[t.name].error]
    print(f"\n{name}: speed (whole process, median of {repeat}; min-max in brackets)")
    print(f"  {'tool':18s}{'wall s':>8s}{'(min-max)':>13s}{'CPU s':>8s}{'(min-max)':>13s}{'docs/s':>9s}"
          f"{'peak RSS MB':>13s}  inside the process")
    for t in tools:
        o = outcomes[t.name]
        if o.error:
            print(f"  {t.name:18s}{o.error}")
            continue
        phases = o.runs[0].result.get("phases", {})
        inside = ", ".join(f"{k} {v:.1f}" for k, v in phases.items())
        print(f"  {t.name:18s}{o.med('wall'):8.1f}{'(' + o.spread('wall') + ')':>13s}{o.med('cpu'):8.1f}"
              f"{'(' + o.spread('cpu') + ')':>13s}{n / o.med('wall'):9,.0f}{o.med('peak_mb'):13,.0f}  {inside} (run 1)")
        if t.family == "ours":
            walls = [r.result["stage_wall"] for r in o.runs]
            cpus = [r.result["stage_cpu"] for r in o.runs]
            wall_spread, cpu_spread = f"({min(walls):.1f}-{max(walls):.1f})", f"({min(cpus):.1f}-{max(cpus):.1f})"
            print(f"  {'  stage in-process':18s}{statistics.median(walls):8.1f}{wall_spread:>13s}"
                  f"{statistics.median(cpus):8.1f}{cpu_spread:>13s}"
                  f"{n / statistics.median(walls):9,.0f}{'':13s}  run_near's own timer around run_stage")
    unstable = [t.name for t in ok if not outcomes[t.name].stable]
    if unstable:
        print(f"  NOTE: decisions differed between repeats for {', '.join(unstable)} (quality below is run 1)")

    print(f"\n{name}: pairs (true pair: exact Jaccard >= {threshold}; cluster tools: all pairs inside a cluster)")
    print(f"  {'tool':18s}{'P':>8s}{'R':>8s}{'F1':>8s}{'predicted':>11s}{'FP near':>9s}{'FP far':>8s}{'largest':>9s}")
    for t in ok:
        q = outcomes[t.name].quality
        kind = "pairs" if t.family in ("ours", "datasketch") else "pairs in clusters"
        print(f"  {t.name:18s}{q.pairs[0]:8.4f}{q.pairs[1]:8.4f}{q.pairs[2]:8.4f}{q.predicted:11,}{q.fp_near:9,}"
              f"{q.fp_far:8,}{q.largest:9,}  ({kind})")
    print(f"  FP near: predicted pairs of true Jaccard in [{threshold - 0.2:.2f}, {threshold}); FP far: below"
          f" {threshold - 0.2:.2f}; largest: largest cluster (components of the pairs for pair tools)")

    buckets = recall_buckets(threshold)
    print(f"\n{name}: recall per true-Jaccard bucket")
    print(f"  {'tool':18s}" + "".join(f"{f'[{lo:.2f},{min(hi, 1):.2f})':>20s}" for lo, hi in buckets))
    for t in ok:
        q = outcomes[t.name].quality
        print(f"  {t.name:18s}" + "".join(f"{f'{h:,}/{m:,} {h / max(m, 1):.3f}':>20s}" for h, m in q.bucket_hits))

    print(f"\n{name}: records (duplicated: in at least one true pair) and removals")
    print(f"  {'tool':18s}{'P':>8s}{'R':>8s}{'F1':>8s}{'removed':>10s}{'removed w/o kept twin':>23s}")
    for t in ok:
        q = outcomes[t.name].quality
        print(f"  {t.name:18s}{q.records[0]:8.4f}{q.records[1]:8.4f}{q.records[2]:8.4f}{q.removed:10,}"
              f"{q.removed_orphans:23,}")
    print("  removed w/o kept twin: removed records with no true pair (Jaccard >= threshold) to any record the"
          " tool keeps")


def ratios(all_outcomes: dict[str, dict[str, Outcome]], tools: list[Tool]) -> None:
    print("\n=== ratios: peer / ours (whole process, medians; > 1 means ours is faster)")
    sets = list(all_outcomes)
    print(f"  {'peer':18s}" + "".join(f"{s + ' wall':>14s}{s + ' CPU':>14s}" for s in sets))
    for t in tools:
        if t.family == "ours":
            continue
        cells = []
        for s in sets:
            ours, peer = all_outcomes[s].get("ours"), all_outcomes[s][t.name]
            if not ours or ours.error or peer.error:
                cells += ["-", "-"]
                continue
            cells += [f"{peer.med('wall') / ours.med('wall'):.2f}x", f"{peer.med('cpu') / ours.med('cpu'):.2f}x"]
        print(f"  {t.name:18s}" + "".join(f"{c:>14s}" for c in cells))


def load_line(when: str) -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {when}: {one:.2f} {five:.2f} {fifteen:.2f} (1, 5, 15 min) on {os.cpu_count()} cores"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=["quality", "brown", "short"], choices=list(SETS))
    ap.add_argument("--threshold", type=float, default=0.7)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--limit", type=int, default=None, help="the first N documents of each set")
    ap.add_argument("--peers", nargs="+", default=FAMILIES, choices=FAMILIES)
    ap.add_argument("--datatrove-workers", type=int, default=1,
                    help="datatrove tasks/workers of its signature and filter steps, workers of its bucket step")
    ap.add_argument("--textdedup-workers", type=int, default=os.cpu_count() or 1, help="text-dedup --num_proc")
    args = ap.parse_args()
    if args.threshold != 0.7:
        print(f"NOTE: threshold {args.threshold}: datatrove's 16x8 band layout stays tuned for ~0.7")
    become_subreaper()
    os.environ.update(OFFLINE_ENV)

    print(load_line("before"))
    print(f"settings: char 5-grams of the normalised text, 128 permutations, threshold {args.threshold},"
          f" repeat {args.repeat}{f', first {args.limit} documents' if args.limit else ''};"
          f" datatrove workers {args.datatrove_workers}, text-dedup num_proc {args.textdedup_workers}")
    problem = None
    if any(f != "ours" for f in args.peers):
        versions, problem = ensure_peers_venv()
        print(f"peers venv {PEERS_VENV}: " + ", ".join(f"{k} {v}" for k, v in versions.items())
              + (f"  PROBLEM: {problem}" if problem else ""))
        print(f"pinned: {', '.join(f'{k}=={v}' for k, v in PEER_PINS.items())}")
    print(f"ours: {sys.executable} (python {sys.version.split()[0]})")
    tools = tools_for(args.peers, args.datatrove_workers, args.textdedup_workers, problem)
    all_outcomes = {name: race(name, tools, args.threshold, args.repeat, args.limit) for name in args.sets}
    if "ours" in args.peers:
        ratios(all_outcomes, tools)
    print("\n" + load_line("after"))


if __name__ == "__main__":
    main()
