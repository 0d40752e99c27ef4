"""Dedup quality: precision, recall and F1 of each dedup level on a labelled set of real pairs.

    .venv/bin/python bench/dedup_quality.py [--seed 0] [--quick] [--device cpu] [--no-semantic]
                                            [--settings word:1,word:2,word:3,word:5,char:5]
                                            [--fresh-embeddings] [--rebuild]

The first run builds the pair set (minutes: difflib over a few thousand candidate pairs) and
encodes ~7k texts with MiniLM (about 7 minutes on 2 busy CPU cores); both are cached under
~/.cache/curate/bench/, so later runs take seconds (--fresh-embeddings re-encodes for timing).

The pairs come from bench/dedup_pairs.py (built and cached on first use; see its docstring for
how they were made and labelled). Each level predicts every labelled pair the way the dedup
stage would:

* exact: equal `content_key` of the compared texts;
* near: `near_duplicate_pairs` run over all distinct texts of the set, per record kind, as the
  stage runs it: a pair is predicted duplicate only if LSH makes it a candidate AND its estimated
  Jaccard is >= the threshold, so LSH misses count as misses (the "lsh miss" column counts
  labelled duplicates whose estimated Jaccard passes but that LSH never proposed);
* semantic: at the default, `similar_pairs` over all distinct texts per kind (every pair is
  compared below 50k texts, as in the stage); the sweep uses the cosine of each labelled pair's
  own two embeddings, which is the same decision for an exhaustive comparison.

Only labelled pairs are scored; other pairs the levels find among the set's texts are ignored.
Each level is scored on its own (the stage runs them in order, so also shown: exact -> near and
exact -> near -> semantic, a pair counting as a duplicate when any of them flags it).
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path


import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # imported as a module from elsewhere (bench/peers/run_ours.py)
    sys.path.insert(0, str(HERE))
import _setup  # noqa: E402,F401 - the project root on sys.path, offline hubs

from dedup_pairs import (CACHE, RATE_BUCKETS, SOURCES, Pair, composition, excluded_report,  # noqa: E402
                         load_pair_set, rate_bucket)

from pipeline.dedup.config import NearConfig, SemanticConfig  # noqa: E402
from pipeline.similarity.content import content_key  # noqa: E402

NEAR_THRESHOLDS = [round(0.5 + 0.05 * i, 2) for i in range(9)]  # 0.50 .. 0.90
SEM_THRESHOLDS = [round(0.80 + 0.01 * i, 2) for i in range(19)]  # 0.80 .. 0.98
SHORT = {"spamassassin": "spam", "chatterbot": "chat", "stdlib": "code"}
TARGET_F1 = 0.95
CASCADE_SEM = (0.85, 0.88, 0.90, 0.92, 0.95)


class Index:
    """The distinct texts of the set per record kind, and each pair's two rows."""

    def __init__(self, pairs: list[Pair]):
        self.kinds = sorted({p.kind for p in pairs})
        self.texts: dict[str, list[str]] = {k: [] for k in self.kinds}
        pos: dict[tuple[str, str], int] = {}
        self.kind = np.array([p.kind for p in pairs], dtype=object)
        self.ia = np.zeros(len(pairs), np.int64)
        self.ib = np.zeros(len(pairs), np.int64)
        for n, p in enumerate(pairs):
            for text, out in ((p.a, self.ia), (p.b, self.ib)):
                key = (p.kind, text)
                if key not in pos:
                    pos[key] = len(self.texts[p.kind])
                    self.texts[p.kind].append(text)
                out[n] = pos[key]

    def found(self, kind: str, pairs: np.ndarray) -> np.ndarray:
        """Which labelled pairs of `kind` are among `pairs` (rows of that kind, i < j); identical
        texts (one row) count as found, as any level finds them."""
        sel = self.kind == kind
        n = len(self.texts[kind])
        codes = set((pairs[:, 0] * n + pairs[:, 1]).tolist()) if len(pairs) else set()
        a, b = np.minimum(self.ia[sel], self.ib[sel]), np.maximum(self.ia[sel], self.ib[sel])
        out = np.zeros(len(self.kind), bool)
        out[np.flatnonzero(sel)] = [(x == y) or (x * n + y) in codes for x, y in zip(a.tolist(), b.tolist())]
        return out


def scores(pred: np.ndarray, label: np.ndarray) -> tuple[float, float, float, int, int, int]:
    tp = int((pred & label).sum())
    fp = int((pred & ~label).sum())
    fn = int((~pred & label).sum())
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f, tp, fp, fn


def fmt_row(cells: list, widths: list[int]) -> str:
    return " ".join(f"{c:>{w}}" if i else f"{c:<{w}}" for i, (c, w) in enumerate(zip(cells, widths)))


def table(title: str, header: list[str], rows: list[list], widths: list[int] | None = None) -> None:
    widths = widths or [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    print(f"\n{title}")
    print(fmt_row(header, widths))
    print("-" * (sum(widths) + len(widths) - 1))
    for r in rows:
        print(fmt_row(r, widths))


def per_source_f1(pred: np.ndarray, label: np.ndarray, source: np.ndarray) -> list[str]:
    return [f"{scores(pred[source == s], label[source == s])[2]:.3f}" for s in SOURCES]


# ----------------------------------------------------------------------------- levels


def run_exact(pairs: list[Pair]) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    keys: dict[tuple[str, str], bytes] = {}

    def key(kind: str, text: str) -> bytes:
        k = (kind, text)
        if k not in keys:
            keys[k] = content_key(kind, text)
        return keys[k]

    pred = np.array([key(p.kind, p.a) == key(p.kind, p.b) for p in pairs])
    return pred, time.perf_counter() - t0


class Near:
    """Signatures per (unit, ngram), computed once; LSH + verification per threshold."""

    def __init__(self, index: Index, num_perm: int = 128, seed: int = 1, max_bucket: int = 64):
        self.index, self.num_perm, self.seed, self.max_bucket = index, num_perm, seed, max_bucket
        self.sigs: dict[tuple[str, int], dict[str, np.ndarray]] = {}
        self.sig_time: dict[tuple[str, int], float] = {}

    def signatures(self, unit: str, ngram: int) -> dict[str, np.ndarray]:
        from pipeline.similarity.minhash import MinHasher

        if (unit, ngram) not in self.sigs:
            t0 = time.perf_counter()
            h = MinHasher(num_perm=self.num_perm, ngram=ngram, unit=unit, seed=self.seed)
            out = {}
            for kind, texts in self.index.texts.items():
                out[kind] = np.concatenate([h.signatures(texts[i:i + 2000]) for i in range(0, len(texts), 2000)])
            self.sigs[(unit, ngram)] = out
            self.sig_time[(unit, ngram)] = time.perf_counter() - t0
        return self.sigs[(unit, ngram)]

    def predict(self, unit: str, ngram: int, threshold: float,
                bands: int | None = None, rows: int | None = None) -> tuple[np.ndarray, np.ndarray, float, tuple]:
        """(predicted, estimated Jaccard of each labelled pair, LSH+verify seconds, (bands, rows))."""
        from pipeline.similarity.lsh import near_duplicate_pairs, optimal_bands
        from pipeline.similarity.minhash import is_empty

        sigs = self.signatures(unit, ngram)
        if bands is None:
            bands, rows = optimal_bands(float(threshold), self.num_perm)
        idx = self.index
        pred = np.zeros(len(idx.kind), bool)
        t0 = time.perf_counter()
        for kind, s in sigs.items():
            found, _ = near_duplicate_pairs(s, threshold, bands, rows, max_bucket=self.max_bucket, valid=~is_empty(s))
            pred |= idx.found(kind, found)
        elapsed = time.perf_counter() - t0
        return pred, self.estimates(unit, ngram), elapsed, (bands, rows)

    def estimates(self, unit: str, ngram: int) -> np.ndarray:
        """Estimated Jaccard of each pair's own two signatures (no LSH)."""
        from pipeline.similarity.lsh import estimated_jaccard

        sigs = self.signatures(unit, ngram)
        idx = self.index
        est = np.zeros(len(idx.kind), np.float32)
        for kind, s in sigs.items():
            sel = np.flatnonzero(idx.kind == kind)
            est[sel] = estimated_jaccard(s, s, np.stack([idx.ia[sel], idx.ib[sel]], axis=1))
            est[sel[idx.ia[sel] == idx.ib[sel]]] = 1.0
        return est


class Semantic:
    def __init__(self, index: Index, device: str, config: SemanticConfig, use_cache: bool = True):
        self.index, self.config, self.device, self.use_cache = index, config, device, use_cache
        self.emb: dict[str, np.ndarray] = {}
        self.encode_time = 0.0
        self.counters: collections.Counter = collections.Counter()

    def embed(self, embedder=None, cache=None) -> tuple:
        """Embeddings of the index's texts (cached on disk by content key and model); returns the
        (embedder, cache) so a second index reuses the loaded model."""
        from pipeline.dedup.embed import VectorCache, Embedder, embed_cached, resolve_device

        c = self.config
        self.device = resolve_device(self.device)
        if embedder is None:
            embedder = Embedder(model=c.model, device=self.device, batch_size=c.batch_size, fp16=c.fp16,
                                max_seq_length=c.max_seq_length)
            cache = VectorCache(CACHE / "embeddings", embedder.model_key) if self.use_cache else None
        t0 = time.perf_counter()
        for kind, texts in self.index.texts.items():
            keys = [content_key(kind, t) for t in texts]
            self.emb[kind], counters = embed_cached(texts, keys, embedder, cache)
            self.counters.update(counters)
        self.encode_time = time.perf_counter() - t0
        return embedder, cache

    def predict_default(self, threshold: float) -> tuple[np.ndarray, float]:
        from pipeline.dedup.neighbors import similar_pairs

        idx = self.index
        pred = np.zeros(len(idx.kind), bool)
        t0 = time.perf_counter()
        for kind, e in self.emb.items():
            found, _, _ = similar_pairs(e, threshold, device=self.device, cluster_above=self.config.cluster_above,
                                        cluster_size=self.config.cluster_size)
            pred |= idx.found(kind, found)
        return pred, time.perf_counter() - t0

    def cosines(self) -> np.ndarray:
        idx = self.index
        cos = np.zeros(len(idx.kind), np.float32)
        for kind, e in self.emb.items():
            sel = np.flatnonzero(idx.kind == kind)
            cos[sel] = np.einsum("ij,ij->i", e[idx.ia[sel]], e[idx.ib[sel]])
            cos[sel[idx.ia[sel] == idx.ib[sel]]] = 1.0
        return cos


# ----------------------------------------------------------------------------- report


def breakdown(pairs: list[Pair], preds: dict[str, np.ndarray], title_suffix: str = "") -> None:
    """Recall per positive edit kind and false-positive rate per negative kind, for each level."""
    groups: dict[tuple[str, bool, str], list[int]] = collections.defaultdict(list)
    for n, p in enumerate(pairs):
        groups[(p.source, p.label, p.edit)].append(n)
    names = list(preds)
    rows = []
    order = sorted(groups.items(), key=lambda kv: (SOURCES.index(kv[0][0]), not kv[0][1], kv[0][2]))
    for (source, label, edit), ns in order:
        cells = [f"{SHORT[source]} {'dup' if label else 'non'} {edit}", len(ns)]
        for name in names:
            hit = preds[name][ns].mean()
            cells.append(f"{hit:.2f}")
        rows.append(cells)
    table(f"Per edit kind{title_suffix}: share flagged as duplicate (dup rows: recall; non rows: false-positive rate)",
          ["source/label/edit", "pairs", *names], rows)

    buckets = collections.defaultdict(list)
    for n, p in enumerate(pairs):
        if p.label and p.rate > 0:
            buckets[(p.source, rate_bucket(p.rate))].append(n)
    rows = [[f"{SHORT[s]} {b}", len(buckets[(s, b)]), *[f"{preds[name][buckets[(s, b)]].mean():.2f}" for name in names]]
            for s in SOURCES for b in RATE_BUCKETS if buckets[(s, b)]]
    table(f"Recall of word-level edits{title_suffix} (insert/delete/substitute/mixed; code: docstring) by words "
          "edited / words of the record", ["source words edited", "pairs", *names], rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0, help="seed of the pair set")
    ap.add_argument("--quick", action="store_true", help="a quarter of the pairs")
    ap.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"], help="semantic encoder device")
    ap.add_argument("--no-semantic", action="store_true", help="skip the semantic level (no model load)")
    ap.add_argument("--settings", default="word:1,word:2,word:3,word:5,char:5",
                    help="near sweep: comma-separated unit:ngram")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the pair set")
    ap.add_argument("--fresh-embeddings", action="store_true",
                    help="encode every text (no embedding cache), so the semantic wall time is the real one")
    args = ap.parse_args()

    t0 = time.perf_counter()
    ps = load_pair_set(args.seed, args.quick, rebuild=args.rebuild)
    pairs, amb = ps.pairs, ps.ambiguous
    print(f"pair set: seed {args.seed}{' (quick)' if args.quick else ''}, {len(pairs)} labelled pairs "
          f"(+{len(amb)} ambiguous, unlabelled), loaded/built in {time.perf_counter() - t0:.1f}s")
    print(composition(pairs))
    print(excluded_report(ps))
    label = np.array([p.label for p in pairs])
    source = np.array([p.source for p in pairs], dtype=object)
    index, amb_index = Index(pairs), Index(amb)
    print("distinct texts per kind: " + ", ".join(f"{k} {len(v)}" for k, v in index.texts.items()))

    near_cfg, sem_cfg = NearConfig(), SemanticConfig()
    preds: dict[str, np.ndarray] = {}
    amb_flags: dict[str, np.ndarray] = {}

    pred_exact, t_exact = run_exact(pairs)
    preds["exact"] = pred_exact
    amb_flags["exact"] = run_exact(amb)[0]

    near = Near(index, num_perm=near_cfg.num_perm, seed=near_cfg.seed, max_bucket=near_cfg.max_bucket)
    near_amb = Near(amb_index, num_perm=near_cfg.num_perm, seed=near_cfg.seed, max_bucket=near_cfg.max_bucket)
    pred_near, _, t_lsh, (nb, nr) = near.predict(near_cfg.unit, near_cfg.ngram, near_cfg.threshold,
                                                 near_cfg.bands, near_cfg.rows)
    t_near = near.sig_time[(near_cfg.unit, near_cfg.ngram)] + t_lsh
    preds["near"] = pred_near
    amb_flags["near"] = near_amb.estimates(near_cfg.unit, near_cfg.ngram) >= np.float32(near_cfg.threshold)

    sem = sem_amb = None
    if not args.no_semantic:
        sem = Semantic(index, args.device, sem_cfg, use_cache=not args.fresh_embeddings)
        embedder, cache = sem.embed()
        pred_sem, t_pairs = sem.predict_default(sem_cfg.threshold)
        preds["semantic"] = pred_sem
        sem_amb = Semantic(amb_index, args.device, sem_cfg, use_cache=not args.fresh_embeddings)
        sem_amb.embed(embedder, cache)
        amb_flags["semantic"] = sem_amb.cosines() >= np.float32(sem_cfg.threshold)
    preds["exact>near"] = pred_exact | pred_near
    if sem is not None:
        preds["exact>near>semantic"] = pred_exact | pred_near | preds["semantic"]

    def row(name: str, setting: str, thr: str, pred: np.ndarray, secs: str) -> list:
        p, r, f, tp, fp, fn = scores(pred, label)
        return [name, setting, thr, f"{p:.3f}", f"{r:.3f}", f"{f:.3f}", *per_source_f1(pred, label, source),
                tp, fp, fn, secs]

    n_texts = sum(len(v) for v in index.texts.values())
    default_rows = [row("exact", "content_key", "-", pred_exact, f"{t_exact:.2f}"),
                    row("near", f"{near_cfg.unit}/{near_cfg.ngram} {near_cfg.num_perm}p {nb}x{nr}",
                        f"{near_cfg.threshold:.2f}", pred_near, f"{t_near:.2f}")]
    if sem is not None:
        default_rows.append(row("semantic", f"MiniLM seq{sem_cfg.max_seq_length} {sem.device}",
                                f"{sem_cfg.threshold:.2f}", preds["semantic"], f"{sem.encode_time + t_pairs:.1f}"))
    default_rows.append(row("exact>near", "either", "-", preds["exact>near"], "-"))
    if sem is not None:
        default_rows.append(row("exact>near>sem", "any", "-", preds["exact>near>semantic"], "-"))
    hdr = ["level", "setting", "thr", "P", "R", "F1", "F1 spam", "F1 chat", "F1 code", "TP", "FP", "FN", "secs"]
    table(f"Levels at their default settings ({len(pairs)} pairs, {int(label.sum())} duplicates, "
          f"{n_texts} distinct texts)", hdr, default_rows)

    detail = []
    for name in ("exact", "near", "semantic"):
        if name not in preds:
            continue
        for s in SOURCES:
            m = source == s
            p, r, f, tp, fp, fn = scores(preds[name][m], label[m])
            detail.append([name, s, int(m.sum()), int(label[m].sum()), f"{p:.3f}", f"{r:.3f}", f"{f:.3f}", tp, fp, fn])
    table("Per source at the defaults", ["level", "source", "pairs", "dups", "P", "R", "F1", "TP", "FP", "FN"], detail)

    breakdown(pairs, {k: v for k, v in preds.items() if k in ("exact", "near", "semantic")})

    print("\nWall time: exact %.2fs (hash %d texts, compare); near %.2fs (signatures %.2fs + LSH/verify %.2fs)"
          % (t_exact, n_texts, t_near, near.sig_time[(near_cfg.unit, near_cfg.ngram)], t_lsh), end="")
    if sem is not None:
        print("; semantic %.1fs (encode %.1fs on %s, %d computed / %d served from the embedding cache; "
              "similar_pairs %.2fs)" % (sem.encode_time + t_pairs, sem.encode_time, sem.device,
                                        sem.counters["embeddings:computed"], sem.counters["embeddings:cached"],
                                        t_pairs))
    else:
        print()

    # near sweep. The "pick" of a setting is its highest threshold with F1 >= TARGET_F1 (the most
    # conservative one that meets the target), else its best F1.
    sweep_rows, best, picks = [], {}, {}
    near_preds: dict[tuple[str, int, float], np.ndarray] = {}
    settings = [(s.split(":")[0], int(s.split(":")[1])) for s in args.settings.split(",") if s]
    for unit, ngram in settings:
        near.signatures(unit, ngram)
        amb_est = near_amb.estimates(unit, ngram)
        for thr in NEAR_THRESHOLDS:
            pred, est, secs, (b, r) = near.predict(unit, ngram, thr)
            near_preds[(unit, ngram, thr)] = pred
            p, rc, f, tp, fp, fn = scores(pred, label)
            lsh_miss = int((label & (est >= np.float32(thr)) & ~pred).sum())
            amb_rate = float((amb_est >= np.float32(thr)).mean()) if len(amb) else float("nan")
            sweep_rows.append([f"{unit}/{ngram}", f"{thr:.2f}", f"{b}x{r}", f"{p:.3f}", f"{rc:.3f}", f"{f:.3f}",
                               *per_source_f1(pred, label, source), fp, fn, lsh_miss, f"{amb_rate:.2f}", f"{secs:.2f}"])
            if f > best.get((unit, ngram), (0, 0))[0]:
                best[(unit, ngram)] = (f, thr)
            if f >= TARGET_F1:
                picks[(unit, ngram)] = (f, thr)
    for key, value in best.items():
        picks.setdefault(key, value)
    table("Near sweep (num_perm %d, bands x rows from optimal_bands; lsh miss: duplicates whose estimated Jaccard "
          "passes but LSH never proposed; amb: share of the ambiguous pairs flagged)" % near_cfg.num_perm,
          ["unit/n", "thr", "bands", "P", "R", "F1", "F1 spam", "F1 chat", "F1 code", "FP", "FN", "lsh miss", "amb",
           "secs"], sweep_rows)
    print("signature time per setting: " + ", ".join(f"{u}/{n} {t:.2f}s" for (u, n), t in near.sig_time.items()))
    print("best F1 per setting: " + ", ".join(f"{u}/{n} {f:.3f} at {t:.2f}" for (u, n), (f, t) in best.items()))
    print(f"pick per setting (highest threshold with F1 >= {TARGET_F1}, else the best): "
          + ", ".join(f"{u}/{n} {t:.2f} (F1 {f:.3f})" for (u, n), (f, t) in picks.items()))
    pick_preds: dict[str, np.ndarray] = {}
    for (unit, ngram), (f, thr) in picks.items():
        name = f"{unit}/{ngram}@{thr:.2f}"
        pick_preds[name] = near_preds[(unit, ngram, thr)]
        amb_flags[name] = near_amb.estimates(unit, ngram) >= np.float32(thr)

    if sem is not None:
        cos = sem.cosines()
        rows, best_sem, pick_sem = [], (0.0, 0.0), None
        amb_cos = sem_amb.cosines()
        for thr in SEM_THRESHOLDS:
            pred = cos >= np.float32(thr)
            p, r, f, tp, fp, fn = scores(pred, label)
            amb_rate = float((amb_cos >= np.float32(thr)).mean()) if len(amb) else float("nan")
            rows.append([f"{thr:.2f}", f"{p:.3f}", f"{r:.3f}", f"{f:.3f}", *per_source_f1(pred, label, source), fp, fn,
                         f"{amb_rate:.2f}"])
            best_sem = max(best_sem, (f, thr))
            if f >= TARGET_F1:
                pick_sem = (f, thr)
        pick_sem = pick_sem or best_sem
        table("Semantic sweep (cosine of each labelled pair's embeddings; amb: share of the ambiguous pairs flagged)",
              ["cos thr", "P", "R", "F1", "F1 spam", "F1 chat", "F1 code", "FP", "FN", "amb"], rows)
        print(f"best semantic F1 {best_sem[0]:.3f} at cosine {best_sem[1]:.2f}; pick (highest cosine with F1 >= "
              f"{TARGET_F1}, else the best): {pick_sem[1]:.2f} (F1 {pick_sem[0]:.3f})")
        name = f"sem@{pick_sem[1]:.2f}"
        pick_preds[name] = cos >= np.float32(pick_sem[1])
        amb_flags[name] = amb_cos >= np.float32(pick_sem[1])

        # the stage runs the levels in turn: what semantic adds after near at a pick
        rows = []
        for near_name in [n for n in pick_preds if not n.startswith("sem@")]:
            for thr in CASCADE_SEM:
                pred = pred_exact | pick_preds[near_name] | (cos >= np.float32(thr))
                p, r, f, tp, fp, fn = scores(pred, label)
                rows.append([near_name, f"{thr:.2f}", f"{p:.3f}", f"{r:.3f}", f"{f:.3f}",
                             *per_source_f1(pred, label, source), fp, fn])
        table("Cascade exact -> near (pick) -> semantic (cosine): a pair is removed when any level flags it",
              ["near", "sem thr", "P", "R", "F1", "F1 spam", "F1 chat", "F1 code", "FP", "FN"], rows)

    breakdown(pairs, pick_preds, title_suffix=" at the picks")

    if len(amb):
        groups: dict[str, list[int]] = collections.defaultdict(list)
        for n, p in enumerate(amb):
            groups[f"{SHORT[p.source]} {p.edit[4:]}"].append(n)
        names = list(amb_flags)
        rows = [[g, len(ns), *[f"{amb_flags[k][ns].mean():.2f}" for k in names]] for g, ns in sorted(groups.items())]
        rows.append(["all", len(amb), *[f"{amb_flags[k].mean():.2f}" for k in names]])
        table("Ambiguous pairs (excluded from scoring: difflib 0.5-0.9, ham / differently named >= 0.9, built "
              "negatives failing their check): share each setting flags as duplicate (near: estimated Jaccard, no LSH)",
              ["source reason", "pairs", *names], rows)
    print(f"\ntotal {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main()
