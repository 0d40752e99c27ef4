"""Near-duplicate detection speed and accuracy: our near level's method against datasketch.

Both sides get the SAME records in the same process and the same shingles: by default character
5-grams of the lower-cased words joined by single spaces (the dedup stage's default), or word
n-grams with `--unit word --ngram 3`:

* ours: what the near level does by default, timed per phase: `OnePermutationHasher.sketch`
  (signatures and shingle sets from one pass), `band_keys` + `candidate_pairs` at the recall
  layout (LSH), then candidates within 5 standard deviations decided on their exact Jaccard;
* datasketch at its fastest documented usage: `MinHash.bulk` over each record's distinct
  shingles (one `update_batch` per record, permutations built once), `MinHashLSH(threshold,
  num_perm)` filled in an `insertion_session`, one `query` per record, candidates verified with
  `MinHash.jaccard >= threshold`; raced twice, with its default hash (SHA-1) and with xxhash's
  xxh32 (its docs suggest a fast hash such as farmhash for speed). The accuracy rows use xxh32.

Records are real text expanded with known duplicates. The pool: chatterbot prompt/response pairs
and SpamAssassin e-mails (subject + body, first 2,000 characters), with originals that already
look alike (exact Jaccard >= 0.5 on the shingle sets) dropped, and synthetic documents of 4-10
sentences, each sentence from a different source document, sampled from all unique sentences
of the pool (so they are distinct from each other and from any original). A quarter of the
records are copies of an original of >= 30 words with a few random word insertions, deletions
or substitutions (0 to 5% of its words), and 5% are near misses: 50-70% of an original's words
followed by other sentences (Jaccard ~0.3-0.55), labelled distinct, so that precision is tested
near the threshold. Truth: an original and its copies form one cluster.
Scores: pairwise (verified pairs against the pairs of each cluster) and clustering (pairs that
fall in one connected component of the verified pairs, against the same truth). Exact Jaccard
of the shingle sets checks the labels.

    .venv/bin/python bench/dedup_near_speed.py                              # 100k records, both sides
    .venv/bin/python bench/dedup_near_speed.py --records 20000 --reference-records 5000
    .venv/bin/python bench/dedup_near_speed.py --device cuda                # our signatures on the GPU
    .venv/bin/python bench/dedup_near_speed.py --texts short                # Brown's short texts (dedup_truth)

With --reference-records < --records, datasketch runs on the first records only and its rate is
extrapolated; its accuracy is then that of the subset (ours is also scored on that subset).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent)]

import numpy as np  # noqa: E402
import psutil  # noqa: E402
from scipy import sparse  # noqa: E402
from scipy.sparse.csgraph import connected_components  # noqa: E402

from pipeline.demo.data import chatterbot_jsonl, data_home, spamassassin_dir  # noqa: E402
from pipeline.dedup.near_level import exact_by_rows  # noqa: E402
from pipeline.similarity.lsh import band_keys, candidate_pairs, estimated_jaccard, recall_bands  # noqa: E402
from pipeline.similarity.minhash import MinHasher  # noqa: E402
from pipeline.similarity.oph import OnePermutationHasher  # noqa: E402
from pipeline.similarity.shingle_sets import from_values  # noqa: E402

WORD = re.compile(r"\w+")
SENTENCE = re.compile(r"(?<=[.!?])\s+|\s*\n\s*")
NGRAM = 3  # of the label check and pool filter (word 3-grams); the compared method takes --unit/--ngram
UNIT, METHOD_NGRAM = "char", 5  # set from the command line: the dedup stage's default unit and n-gram
DEVICE = "cpu"  # --device cuda: our signatures on the GPU (pipeline.similarity.oph_device)
BATCH = 10_000


# ---- records with known duplicates -------------------------------------------------------


def load_pool(max_chars: int) -> list[str]:
    from pipeline.collect.email_reader import message_row

    home = data_home()
    texts = []
    for line in chatterbot_jsonl(home).read_text().splitlines():
        row = json.loads(line)
        texts.append(f"{row['question']}\n{row['answer']}")
    for path in sorted(spamassassin_dir(home).glob("*/*.eml")):
        try:
            texts.append(message_row(path.read_bytes())["text"][:max_chars])
        except ValueError:
            continue
    return [t for t in texts if len(WORD.findall(t)) >= 3]


def distinct_originals(texts: list[str], hasher: MinHasher, below: float = 0.5) -> list[str]:
    """Drop every text whose exact shingle Jaccard with an earlier kept one is >= below."""
    sets = [hasher.shingles(t) for t in texts]
    _, col = np.unique(np.concatenate(sets), return_inverse=True)
    row = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
    x = sparse.csr_matrix((np.ones(len(row), np.int32), (row, col)), shape=(len(sets), col.max() + 1))
    size = np.asarray(x.sum(axis=1)).ravel()
    drop = np.zeros(len(sets), bool)
    for lo in range(0, len(sets), 500):
        inter = (x[lo : lo + 500] @ x.T).toarray()
        jac = inter / (size[lo : lo + 500, None] + size[None, :] - inter)
        i, j = np.nonzero(jac >= below)
        for a, b in zip(i + lo, j):
            if b < a and not drop[b]:
                drop[a] = True
    return [t for t, d in zip(texts, drop) if not d]


def sentences_by_source(texts: list[str]) -> tuple[list[str], np.ndarray]:
    seen, out, source = set(), [], []
    for k, text in enumerate(texts):
        for s in SENTENCE.split(text):
            key = tuple(WORD.findall(s.lower()))
            if 5 <= len(key) <= 60 and key not in seen:
                seen.add(key)
                out.append(s.strip())
                source.append(k)
    return out, np.array(source)


def synthetic(rng: random.Random, sentences: list[str], source: np.ndarray) -> str:
    """4-10 sentences, no two from the same source document."""
    picked: dict[int, str] = {}
    for _ in range(rng.randint(4, 10)):
        i = rng.randrange(len(sentences))
        picked.setdefault(int(source[i]), sentences[i])
    return " ".join(picked.values())


def perturbed(rng: random.Random, text: str, vocab: list[str], max_edit: float) -> str:
    words = text.split()
    for _ in range(rng.randint(0, max(1, int(max_edit * len(words))))):
        op, at = rng.choice("ids"), rng.randrange(len(words))
        if op == "i":
            words.insert(at, rng.choice(vocab))
        elif op == "d" and len(words) > 1:
            del words[at]
        else:
            words[at] = rng.choice(vocab)
    return " ".join(words)


def near_miss(rng: random.Random, text: str, sentences: list[str], source: np.ndarray) -> str:
    """50-70% of the text's words, then other sentences to the same length: alike, not a duplicate."""
    words = text.split()
    out = words[: int(len(words) * rng.uniform(0.5, 0.7))]
    while len(out) < len(words):
        out += synthetic(rng, sentences, source).split()
    return " ".join(out[: len(words)])


def build_records(n: int, seed: int, max_chars: int, copy_share: float, max_edit: float, miss_share: float):
    """Shuffled texts, their truth cluster ids (originals and their copies share one), and which are copies."""
    rng = random.Random(seed)
    pool = distinct_originals(load_pool(max_chars), MinHasher(ngram=NGRAM))
    sentences, source = sentences_by_source(pool)
    vocab = sorted({w for s in sentences[:20000] for w in WORD.findall(s.lower())})
    n_copies, n_miss = int(n * copy_share), int(n * miss_share)  # a near miss is its own cluster
    n_originals = n - n_copies - n_miss
    real = rng.sample(pool, min(len(pool), n_originals))
    originals = real + [synthetic(rng, sentences, source) for _ in range(n_originals - len(real))]
    long_ones = [i for i, t in enumerate(originals) if len(t.split()) >= 30]
    texts = originals + [near_miss(rng, originals[rng.choice(long_ones)], sentences, source) for _ in range(n_miss)]
    cluster = list(range(len(texts)))
    n_distinct = len(texts)
    while len(texts) < n:
        k = rng.choice(long_ones)
        for _ in range(min(rng.randint(1, 3), n - len(texts))):
            texts.append(perturbed(rng, originals[k], vocab, max_edit))
            cluster.append(k)
    order = list(range(n))
    rng.shuffle(order)
    copy = np.array(order) >= n_distinct
    return [texts[i] for i in order], np.array(cluster)[order], copy, len(real), len(sentences)


# ---- the two sides ---------------------------------------------------------------------------


def ours(texts, threshold, num_perm, layout=None):
    """What the near level does by default: one-permutation signatures and the shingle sets from
    one pass, LSH laid out for recall, candidates decided on their exact Jaccard."""
    t0 = time.perf_counter()
    hasher = OnePermutationHasher(num_perm=num_perm, ngram=METHOD_NGRAM, unit=UNIT, seed=1, device=DEVICE)
    sig, values, counts = hasher.sketch(texts, keep_shingles=True)
    t1 = time.perf_counter()
    bands, rows = layout or recall_bands(threshold, num_perm)
    cand = candidate_pairs(band_keys(sig, bands, rows))
    t2 = time.perf_counter()
    margin = 5 * (threshold * (1 - threshold) / num_perm) ** 0.5  # NearConfig.margin()
    cand = cand[estimated_jaccard(sig, sig, cand) >= threshold - margin]
    pairs = cand[exact_by_rows(from_values(values, counts), cand) >= np.float32(threshold)]
    t3 = time.perf_counter()
    return pairs, len(cand), (t1 - t0, t2 - t1, t3 - t2), (bands, rows), sig.nbytes


def string_shingles(text: str) -> set[bytes]:
    """The same shingles as ours, as strings: word n-grams, or character n-grams of the words
    joined by single spaces (punctuation and spacing between words count as one space)."""
    words = WORD.findall(text.lower())
    n = METHOD_NGRAM
    units: list[str] | str = words if UNIT == "word" else " ".join(words)
    sep = " " if UNIT == "word" else ""
    if len(units) < n:
        return {sep.join(units).encode()} if units else set()
    return {sep.join(units[i : i + n]).encode() for i in range(len(units) - n + 1)}


def reference(texts, threshold, num_perm, hashfunc=None):
    """datasketch at its fastest documented usage: `MinHash.bulk` (one `update_batch` per
    document, permutations built once), `MinHashLSH` filled in an `insertion_session`, one
    `query` per document, candidates decided on the MinHash estimate. `hashfunc` None is its
    default (SHA-1); its docs suggest a faster hash (farmhash) for speed: xxhash's xxh32 here."""
    from datasketch import MinHash, MinHashLSH

    t0 = time.perf_counter()
    extra = {} if hashfunc is None else {"hashfunc": hashfunc}
    sketches = MinHash.bulk([list(string_shingles(t)) for t in texts], num_perm=num_perm, seed=1, **extra)
    t1 = time.perf_counter()
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    live = [i for i, m in enumerate(sketches) if not m.is_empty()]
    with lsh.insertion_session() as session:
        for i in live:
            session.insert(i, sketches[i])
    cand = sorted({(j, i) for i in live for j in lsh.query(sketches[i]) if j < i})
    t2 = time.perf_counter()
    pairs = [(i, j) for i, j in cand if sketches[i].jaccard(sketches[j]) >= threshold]
    t3 = time.perf_counter()
    arr = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
    return arr, len(cand), (t1 - t0, t2 - t1, t3 - t2), (lsh.b, lsh.r)


def median_run(run, repeat: int):
    """The result of the run of median total time among `repeat` runs, and the min-max of the
    totals (results whose third item is the (signatures, LSH, verify) times)."""
    results = [run() for _ in range(max(1, repeat))]
    totals = [sum(r[2]) for r in results]
    middle = sorted(range(len(results)), key=totals.__getitem__)[len(results) // 2]
    return results[middle], f"{min(totals):.2f}-{max(totals):.2f}s"


def truth_set(name: str, threshold: float) -> tuple[list[str], np.ndarray]:
    """A set of bench/dedup_truth.py and, as clusters, the connected components of its pairs at
    or above the threshold by exact Jaccard of character 5-grams."""
    from dedup_truth import SETS, true_pairs

    texts = SETS[name]()
    pairs = np.array([p for p, j in true_pairs(texts, floor=threshold).items() if j >= threshold], np.int64)
    n = len(texts)
    graph = sparse.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return texts, connected_components(graph, directed=False)[1]


# ---- scoring --------------------------------------------------------------------------------


def truth_pairs(cluster: np.ndarray) -> set[tuple[int, int]]:
    groups: dict[int, list[int]] = {}
    for i, c in enumerate(cluster.tolist()):
        groups.setdefault(c, []).append(i)
    return {(a, b) for g in groups.values() for k, a in enumerate(g) for b in g[k + 1 :]}


def prf(tp: int, found: int, true: int) -> str:
    p, r = tp / max(found, 1), tp / max(true, 1)
    return f"P {p:.4f}  R {r:.4f}  F1 {2 * p * r / max(p + r, 1e-12):.4f}"


def scores(pairs: np.ndarray, cluster: np.ndarray, truth: set) -> tuple[str, str]:
    found = set(map(tuple, pairs.tolist()))
    pairwise = prf(len(found & truth), len(found), len(truth))
    n = len(cluster)
    graph = sparse.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    comp = connected_components(graph, directed=False)[1]
    same = lambda labels: int(sum(c * (c - 1) // 2 for c in np.unique(labels, return_counts=True)[1]))  # noqa: E731
    both = same(comp.astype(np.int64) * (cluster.max() + 1) + cluster)
    return pairwise, prf(both, same(comp), same(cluster))


def jaccard_check(texts, pairs, hasher, threshold) -> tuple[float, int]:
    """Share of the given pairs whose exact shingle Jaccard is >= threshold."""
    hits = 0
    cache: dict[int, np.ndarray] = {}
    for i, j in pairs:
        a = cache.setdefault(i, hasher.shingles(texts[i]))
        b = cache.setdefault(j, hasher.shingles(texts[j]))
        inter = len(np.intersect1d(a, b, assume_unique=True))
        hits += inter / (len(a) + len(b) - inter) >= threshold
    return hits / max(len(pairs), 1), len(pairs)


def peak_mb() -> float:
    """Peak RSS since the last reset_peak() (Linux VmHWM), else since the process started."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
    except OSError:
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--reference-records", type=int, default=None, help="datasketch on the first N only")
    ap.add_argument("--threshold", type=float, default=0.7)
    ap.add_argument("--num-perm", type=int, default=128)
    ap.add_argument("--copy-share", type=float, default=0.25, help="share of records that are perturbed copies")
    ap.add_argument("--near-miss-share", type=float, default=0.05,
                    help="share of records that keep 50-70%% of an original's words: alike, labelled distinct")
    ap.add_argument("--max-edit", type=float, default=0.05, help="word edits per copy, at most this share")
    ap.add_argument("--max-chars", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--unit", choices=["word", "char"], default="char", help="shingle unit of both sides")
    ap.add_argument("--ngram", type=int, default=5, help="shingle size of both sides")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each side (median reported)")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where our signatures are computed")
    ap.add_argument("--texts", default="synthetic", choices=["synthetic", "quality", "brown", "short"],
                    help="the records built here, or a set of bench/dedup_truth.py (truth: clusters of its"
                         " exact-Jaccard pairs at the threshold; --records is ignored)")
    args = ap.parse_args()
    global UNIT, METHOD_NGRAM, DEVICE
    UNIT, METHOD_NGRAM, DEVICE = args.unit, args.ngram, args.device

    t = time.perf_counter()
    if args.texts == "synthetic":
        texts, cluster, copy, n_pool, n_sent = build_records(
            args.records, args.seed, args.max_chars, args.copy_share, args.max_edit, args.near_miss_share
        )
        origin = f"{n_pool:,} distinct real originals, {n_sent:,} unique sentences"
    else:
        texts, cluster = truth_set(args.texts, args.threshold)
        copy = np.zeros(len(texts), bool)
        origin = f"bench/dedup_truth.py set {args.texts!r}, {sum(map(len, texts)) / len(texts):.0f} characters/record"
    args.records = len(texts)
    n_ref = min(args.reference_records or args.records, args.records)
    words = sum(len(s.split()) for s in texts)
    print(f"records {len(texts):,}  ({origin}; "
          f"{words / len(texts):.0f} words/record; built in {time.perf_counter() - t:.1f}s)")
    rss_data = psutil.Process().memory_info().rss / 2**20
    truth = truth_pairs(cluster)
    truth_ref = truth_pairs(cluster[:n_ref])
    print(f"truth: {len(truth):,} duplicate pairs in {len(np.unique(cluster)):,} clusters; "
          f"threshold {args.threshold}, num_perm {args.num_perm}, {UNIT} {METHOD_NGRAM}-grams (labels checked on word {NGRAM}-grams)")

    import xxhash

    # Start-up (imports, loading our compiled kernels) is not timed here, on either side: each
    # is warmed up on a few records first (bench/dedup_peers.py times whole runs, start-up
    # included). Then each side runs --repeat times; the run of median total time is reported.
    ours(texts[:200], args.threshold, args.num_perm)
    reset_peak()
    (mine, n_cand, (ts, tl, tv), layout, sig_bytes), spread_ours = median_run(
        lambda: ours(texts, args.threshold, args.num_perm), args.repeat)
    peak_ours = peak_mb()
    races, spreads = {}, {}
    for name, hashfunc in (("sha1", None), ("xxh32", xxhash.xxh32_intdigest)):
        reference(texts[:200], args.threshold, args.num_perm, hashfunc)
        reset_peak()
        result, spreads[name] = median_run(
            lambda: reference(texts[:n_ref], args.threshold, args.num_perm, hashfunc), args.repeat)
        races[name] = (*result, peak_mb())
    ref, n_cand_ref, (rs, rl, rv), ref_layout, peak_ref = races["xxh32"]
    alt, n_cand_alt, (_, al, av), _, _ = ours(texts, args.threshold, args.num_perm, layout=ref_layout)

    total = ts + tl + tv
    rate = len(texts) / total
    row = "{:34s}{:>12s}{:>9s}{:>9s}{:>9s}{:>11s}{:>12s}{:>9s}".format
    sec = lambda v: f"{v:.2f}s"  # noqa: E731
    print("\n" + row("", "shingle+sig", "LSH", "verify", "total", "records/s", "candidates", "pairs"))
    print(row(f"ours {layout} n={len(texts):,}", sec(ts), sec(tl), sec(tv), sec(total), f"{rate:,.0f}",
              f"{n_cand:,}", f"{len(mine):,}"))
    for name, (pairs_r, cand_r, (a, b, c), lay, _) in races.items():
        print(row(f"datasketch {name} {lay} n={n_ref:,}", sec(a), sec(b), sec(c), sec(a + b + c),
                  f"{n_ref / (a + b + c):,.0f}", f"{cand_r:,}", f"{len(pairs_r):,}"))
    print(row(f"ours at {ref_layout} (LSH+verify)", "", sec(al), sec(av), "", "", f"{n_cand_alt:,}", f"{len(alt):,}"))
    print(f"(median of {args.repeat} runs; total min-max: ours {spread_ours}, "
          + ", ".join(f"datasketch {k} {v}" for k, v in spreads.items()) + ")")
    extra = "" if n_ref == len(texts) else f" (datasketch timed on {n_ref:,} records, rate extrapolated)"
    for name, (_, _, (a, b, c), _, _) in races.items():
        print(f"speed: ours {rate / (n_ref / (a + b + c)):.1f}x datasketch ({name}) records/s{extra}; "
              f"signatures {len(texts) / ts / (n_ref / a):.1f}x")

    sub = lambda p: p[(p[:, 1] < n_ref)]  # noqa: E731 - pairs inside the reference subset (i < j)
    scope = "" if n_ref == len(texts) else f" (first {n_ref:,} records)"
    print(f"\naccuracy against the constructed truth{scope}:")
    for name, pairs in ((f"ours {layout}", mine), (f"datasketch {ref_layout}", ref), (f"ours {ref_layout}", alt)):
        pw, cl = scores(sub(pairs), cluster[:n_ref], truth_ref)
        print(f"  {name:22s} pairwise {pw}   clusters {cl}")

    if args.texts == "synthetic":  # the labels of the records built here, checked on their shingles
        hasher = MinHasher(ngram=NGRAM)
        direct = sorted((i, j) for i, j in truth if not (copy[i] and copy[j]))
        true_ok, n_true = jaccard_check(texts, direct, hasher, args.threshold)
        sib_ok, n_sib = jaccard_check(texts, sorted(truth - set(direct)), hasher, args.threshold)
        flagged = {tuple(p) for p in mine.tolist()} | {tuple(p) for p in sub(ref).tolist()}
        false_ok, n_false = jaccard_check(texts, sorted(flagged - truth), hasher, args.threshold)
        print(f"\nlabel check, exact Jaccard of the shingle sets >= {args.threshold}: {true_ok:.1%} of {n_true:,} "
              f"(original, copy) pairs; {sib_ok:.1%} of {n_sib:,} (copy, copy) pairs; "
              f"{false_ok:.1%} of the {n_false:,} pairs flagged by either side outside the truth")
    print(f"\npeak RSS of the process (records loaded: {rss_data:,.0f} MB): during ours {peak_ours:,.0f} MB, "
          f"during datasketch {peak_ref:,.0f} MB; our signatures take {sig_bytes / 2**20:.0f} MB")


if __name__ == "__main__":
    main()
