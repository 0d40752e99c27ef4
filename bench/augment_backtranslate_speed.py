"""Back-translation speed: our batched Apertium BackTranslator against one subprocess per record.

Both sides get the SAME real English sentences (chatterbot-corpus prompts and responses, split
into sentences, unique, >= 3 words) and the same masking / unmasking (`BackTranslator`):

* batched: `ApertiumTranslator`, one `apertium -z -f none -u <pair>` call per batch of
  --batch-size records and direction (records separated by NULs, see pipeline/augment/apertium.py);
* per record: plain `apertium -u <pair>` (text format, the documented command line) once per
  record and direction: what a loop over `subprocess.run` would do. It is slow, so it runs on
  the first --reference sentences only and its rate is extrapolated (printed as such).

Agreement: for the reference sentences, the two round-trip outputs are compared exactly, and
after normalising whitespace (runs of blanks to one space, no space before . , ; : ! ?), the
clean-up the batched side does and plain `apertium` does not.

    .venv/bin/python bench/augment_backtranslate_speed.py                   # 2,000 sentences, 200 per record
    .venv/bin/python bench/augment_backtranslate_speed.py --sentences 500 --reference 100
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.augment.apertium import ApertiumTranslator  # noqa: E402
from pipeline.augment.translate import BackTranslationConfig, BackTranslator, Translations, Translator  # noqa: E402
from pipeline.demo.data import chatterbot_jsonl, data_home  # noqa: E402

SENTENCE = re.compile(r"(?<=[.!?])\s+|\s*\n\s*")


class PerRecordApertium(Translator):
    """The naive reference: `apertium -u <pair>` once per record, text format."""

    def __init__(self, pair: str) -> None:
        self.pair = pair

    def run(self, texts: list[str]) -> Translations:
        out = []
        for t in texts:
            proc = subprocess.run(["apertium", "-u", self.pair], input=t.encode(), capture_output=True, check=True)
            out.append(proc.stdout.decode().strip())
        return Translations(out)


def sentences(n: int) -> list[str]:
    path = chatterbot_jsonl(data_home())
    if not path.exists():
        raise SystemExit(f"{path} is missing: run `.venv/bin/curate demo-data` first")
    seen: dict[str, None] = {}
    for line in path.read_text().splitlines():
        row = json.loads(line)
        for field in ("question", "answer"):
            for s in SENTENCE.split(str(row[field])):
                s = s.strip()
                if len(s.split()) >= 3 and "```" not in s:
                    seen.setdefault(s)
    out = list(seen)[:n]
    if len(out) < n:
        print(f"note: only {len(out)} unique sentences of >= 3 words in chatterbot-corpus; using them all")
    return out


def norm(text: str | None) -> str | None:
    return None if text is None else re.sub(r" +([.,;:!?])(?=\s|$)", r"\1", re.sub(r"\s+", " ", text)).strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences", type=int, default=2000, help="sentences for the batched side")
    ap.add_argument("--reference", type=int, default=200, help="of them, how many the per-record side runs")
    ap.add_argument("--batch-size", type=int, default=500, help="records per BackTranslator.augment call")
    ap.add_argument("--forward", default="eng-spa")
    ap.add_argument("--backward", default="spa-eng")
    args = ap.parse_args()

    texts = sentences(args.sentences)
    ref_n = min(args.reference, len(texts))
    cfg = BackTranslationConfig(apertium_forward=args.forward, apertium_backward=args.backward)
    batched = BackTranslator(cfg, (ApertiumTranslator(args.forward), ApertiumTranslator(args.backward)))
    naive = BackTranslator(cfg, (PerRecordApertium(args.forward), PerRecordApertium(args.backward)))
    print(f"{len(texts)} chatterbot-corpus sentences (mean {sum(len(t) for t in texts) / len(texts):.0f} chars); "
          f"round trip {args.forward} -> {args.backward}")

    t0 = time.perf_counter()
    ours = []
    for s in range(0, len(texts), args.batch_size):
        chunk = texts[s:s + args.batch_size]
        ours += batched.augment(chunk, list(range(s, s + len(chunk))))
    t_ours = time.perf_counter() - t0
    rate_ours = len(texts) / t_ours
    print(f"(a) batched BackTranslator: {len(texts)} sentences in {t_ours:.2f} s = {rate_ours:,.0f} sentences/s "
          f"({2 * -(-len(texts) // args.batch_size)} apertium calls)")

    t0 = time.perf_counter()
    theirs = naive.augment(texts[:ref_n], list(range(ref_n)))
    t_ref = time.perf_counter() - t0
    rate_ref = ref_n / t_ref
    extra = f"; extrapolated to {len(texts)}: {len(texts) / rate_ref:.0f} s" if ref_n < len(texts) else ""
    print(f"(b) one subprocess per record and direction: {ref_n} sentences in {t_ref:.2f} s = "
          f"{rate_ref:,.1f} sentences/s ({2 * ref_n} apertium calls{extra})")
    print(f"speed-up (a)/(b): {rate_ours / rate_ref:,.1f}x  (target >= 20x)")

    exact = sum(a.text == b.text for a, b in zip(ours, theirs))
    normed = sum(norm(a.text) == norm(b.text) for a, b in zip(ours, theirs))
    print(f"agreement on the {ref_n} shared sentences: exact {exact}/{ref_n} = {exact / ref_n:.1%}; "
          f"after whitespace normalisation {normed}/{ref_n} = {normed / ref_n:.1%}")
    reasons = collections.Counter(e.reason or "ok" for e in ours)
    print("(a) outcomes: " + ", ".join(f"{k} {v}" for k, v in reasons.most_common()))
    diffs = [(t, a.text, b.text) for t, a, b in zip(texts, ours, theirs) if norm(a.text) != norm(b.text)]
    for t, a, b in diffs[:5]:
        print(f"  differs: {t!r}\n    batched:    {a!r}\n    per record: {b!r}")
    for t, e in list(zip(texts, ours))[:5]:
        print(f"  example: {t!r} -> {e.text!r}")


if __name__ == "__main__":
    main()
