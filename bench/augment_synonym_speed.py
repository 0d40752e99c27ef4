"""WordNet synonym swaps: our batched `SynonymAugmenter` against nlpaug's stock `SynonymAug`.

Both sides run in one process on the same real English sentences (8-40 words): chatterbot
prompts and responses, then sentences of SpamAssassin ham e-mails, de-duplicated. Same
aug_p / aug_min / aug_max and the same stopwords (nlpaug matches stopwords case-sensitively,
so it gets the lower-case, Capitalised and UPPER forms).

* ours: `SynonymAugmenter.augment` over batches of --batch records, one seed per record;
* nlpaug: `naw.SynonymAug(aug_src='wordnet').augment(text)` one record at a time, as its
  documentation shows (global `random`/`numpy` seeded once). With --baseline-sample below
  --records only a random subset runs and its rate is extrapolated (printed when it happens;
  nltk's synset cache is colder on a subset, so that rate is pessimistic for nlpaug).

Swaps are counted for both sides the same way, by diffing nlpaug's tokenization of input and
output (case-insensitive; a replaced run of k input words counts k); ours also reports the
count from `Edit.params`. Setup (loading WordNet, the tagger, imports) is timed apart.

    .venv/bin/python bench/augment_synonym_speed.py                      # 10k records, both sides
    .venv/bin/python bench/augment_synonym_speed.py --records 2000 --baseline-sample 2000
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import random
import re
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.augment.wordnet_lookup import DEFAULT_STOPWORDS  # noqa: E402
from pipeline.augment.words import SynonymAugmenter, SynonymConfig  # noqa: E402
from pipeline.demo.data import chatterbot_jsonl, data_home, spamassassin_dir  # noqa: E402

_WS = re.compile(r"\s+")
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


def _ok(s: str) -> bool:
    words = s.split()
    if not 8 <= len(words) <= 40:
        return False
    alpha = sum(1 for w in words if re.fullmatch(r"[A-Za-z][A-Za-z'-]*[.,!?;:]?", w))
    return alpha >= 0.8 * len(words) and not re.search(r"[>|@=_]{1}|-{2,}|http", s)


def real_sentences(n: int) -> list[str]:
    home = data_home()
    out: list[str] = []
    seen: set[str] = set()

    def add(s: str) -> None:
        s = _WS.sub(" ", s).strip()
        if s and s not in seen and _ok(s):
            seen.add(s)
            out.append(s)

    with open(chatterbot_jsonl(home), encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            for field in ("question", "answer"):
                if isinstance(row.get(field), str):
                    add(row[field])
    from pipeline.collect.email_reader import message_row

    for eml in sorted((spamassassin_dir(home) / "ham").glob("*.eml")):
        if len(out) >= n:
            break
        try:
            body = message_row(eml.read_bytes())["text"]
        except ValueError:
            continue
        for para in re.split(r"\n\s*\n", body):
            if any(l.lstrip().startswith(">") for l in para.splitlines()):
                continue  # quoted replies: repeats of other mails
            for s in _SENT.split(_WS.sub(" ", para)):
                add(s)
    if len(out) < n:
        raise SystemExit(f"only {len(out)} sentences of 8-40 words found; run `.venv/bin/curate demo-data`")
    return out[:n]


def _tokens(text: str) -> list[str]:
    from nlpaug.util.text.tokenizer import Tokenizer

    return [t.lower() for t in Tokenizer.tokenizer(text)]


def swaps_by_diff(before: str, after: str) -> int:
    sm = difflib.SequenceMatcher(a=_tokens(before), b=_tokens(after), autojunk=False)
    return sum(i2 - i1 for op, i1, i2, _, _ in sm.get_opcodes() if op in ("replace", "delete"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--baseline-sample", type=int, default=10_000,
                    help="records nlpaug runs on (random subset; rate extrapolated)")
    ap.add_argument("--batch", type=int, default=1_000)
    ap.add_argument("--aug-p", type=float, default=0.1)
    ap.add_argument("--aug-min", type=int, default=1)
    ap.add_argument("--aug-max", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    t = time.perf_counter()
    texts = real_sentences(args.records)
    words = sum(len(s.split()) for s in texts) / len(texts)
    print(f"records: {len(texts):,} real sentences, mean {words:.1f} words ({time.perf_counter() - t:.1f}s to read)")

    # ---- ours
    stop = list(DEFAULT_STOPWORDS)
    cfg = SynonymConfig(aug_p=args.aug_p, aug_min=args.aug_min, aug_max=args.aug_max, stopwords=stop)
    ours = SynonymAugmenter(cfg)
    t = time.perf_counter()
    ours.setup()
    ours_setup = time.perf_counter() - t
    seeds = [args.seed * 1_000_003 + i for i in range(len(texts))]
    t = time.perf_counter()
    edits = []
    for b in range(0, len(texts), args.batch):
        edits += ours.augment(texts[b:b + args.batch], seeds[b:b + args.batch])
    ours_s = time.perf_counter() - t
    ours_out = [e.text if e.text is not None else src for e, src in zip(edits, texts)]
    ours_params = sum(e.params.get("swaps", 0) for e in edits) / len(texts)
    ours_diff = [swaps_by_diff(a, b) for a, b in zip(texts, ours_out)]
    failed: dict[str, int] = {}
    for e in edits:
        if e.text is None:
            failed[e.reason or "?"] = failed.get(e.reason or "?", 0) + 1

    # ---- nlpaug, one record a call
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import nlpaug.augmenter.word as naw
    import numpy as np

    random.seed(args.seed)
    np.random.seed(args.seed)
    t = time.perf_counter()
    stock = naw.SynonymAug(aug_src="wordnet", aug_p=args.aug_p, aug_min=args.aug_min, aug_max=args.aug_max,
                           stopwords=sorted({v for w in stop for v in (w, w.capitalize(), w.upper())}))
    stock.augment("Warm up the tagger and WordNet once.")
    stock_setup = time.perf_counter() - t
    k = min(args.baseline_sample, len(texts))
    idx = sorted(random.Random(args.seed + 1).sample(range(len(texts)), k))
    t = time.perf_counter()
    stock_out = [stock.augment(texts[i])[0] for i in idx]
    stock_s = time.perf_counter() - t
    stock_diff = [swaps_by_diff(texts[i], o) for i, o in zip(idx, stock_out)]

    ours_rate = len(texts) / ours_s
    stock_rate = k / stock_s
    sub = [ours_diff[i] for i in idx]
    print(f"setup (imports, WordNet, tagger): ours {ours_setup:.1f}s, nlpaug {stock_setup:.1f}s")
    print(f"ours:   {len(texts):,} records in {ours_s:.1f}s = {ours_rate:,.0f} records/s (batches of {args.batch})")
    extra = f"; {len(texts):,} would take ~{len(texts) / stock_rate:.0f}s" if k < len(texts) else ""
    note = f" [random subset of {k:,} of {len(texts):,}, rate extrapolated{extra}]" if k < len(texts) else ""
    print(f"nlpaug: {k:,} records in {stock_s:.1f}s = {stock_rate:,.1f} records/s{note}")
    print(f"speed ratio: {ours_rate / stock_rate:,.1f}x (target >= 10x)")
    m_ours_all, m_ours_sub, m_stock = (sum(ours_diff) / len(texts), sum(sub) / k, sum(stock_diff) / k)
    print(f"mean swaps/record: ours {m_ours_all:.3f} (all {len(texts):,}; Edit.params says {ours_params:.3f}), "
          f"ours {m_ours_sub:.3f} vs nlpaug {m_stock:.3f} on the same {k:,} "
          f"(difference {100 * (m_ours_sub - m_stock) / m_stock:+.1f}%, target within 10%)")
    print(f"records changed: ours {sum(1 for d in ours_diff if d) / len(texts):.3f} "
          f"(on the subset {sum(1 for d in sub if d) / k:.3f}), nlpaug {sum(1 for d in stock_diff if d) / k:.3f}")
    print(f"ours failed: {failed or 'none'}")
    for i in idx[:3]:
        print(f"  in:     {texts[i]}\n  ours:   {ours_out[i]}\n  nlpaug: {stock_out[idx.index(i)]}")


if __name__ == "__main__":
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    main()
