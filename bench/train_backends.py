"""The two training backends on the same data and seeds: throughput and test scores.

`train.backend: builtin` (this project's loop) and `train.backend: hf` (transformers.Trainer for
classification, TRL's SFTTrainer for SFT) run through the same `train_and_evaluate`, so the model,
the encoded examples and the test are identical; only the optimisation loop differs. Each seed
trains both backends in turn (alternating which goes first). Reported per backend: the median
training tokens/s (non-padding tokens over the optimisation time, evaluation excluded) and the
test metric's mean over seeds with a 95% interval over test items and seeds; then the paired
difference hf - builtin with its interval: "within seed noise" when the interval holds 0.

    .venv/bin/python bench/train_backends.py                          # MiniLM on SpamAssassin, 3 seeds
    .venv/bin/python bench/train_backends.py --task sft --records 96  # SmolLM2 LoRA on chatterbot Q&A
    .venv/bin/python bench/train_backends.py --device cuda            # on a GPU (bf16 or fp16 by the card)

The demo data must be prepared first (`curate demo-data`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.demo.data import chatterbot_jsonl, data_home  # noqa: E402


def classification_tables(n: int):
    """SpamAssassin e-mails (subject + body), spam and ham alternating, split 60/20/20 by position."""
    from bench.train_throughput import spamassassin_texts
    from pipeline.records import empty_record, record_id, records_to_table

    texts, labels = spamassassin_texts(n)
    rows = [empty_record(id=record_id("classification", "spamassassin", {"text": t}), kind="classification",
                         source="spamassassin", text=t, label=y) for t, y in zip(texts, labels)]
    return _split(records_to_table(rows))


def sft_tables(n: int):
    import json

    from pipeline.records import empty_record, record_id, records_to_table

    with open(chatterbot_jsonl(data_home())) as f:
        pairs = [json.loads(line) for line in f]
    pairs = pairs[:: max(len(pairs) // n, 1)][:n]
    rows = [empty_record(id=record_id("instruction", "chatterbot", {"prompt": p["question"], "response": p["answer"]}),
                         kind="instruction", source="chatterbot", prompt=p["question"], response=p["answer"])
            for p in pairs]
    return _split(records_to_table(rows))


def _split(table):
    """60/20/20 by position, after dropping repeated records (one id, one test item)."""
    import pyarrow as pa

    seen: set[str] = set()
    keep = [not (i in seen or seen.add(i)) for i in table.column("id").to_pylist()]
    table = table.filter(pa.array(keep))
    n = table.num_rows
    a, b = int(n * 0.6), int(n * 0.8)
    return table.slice(0, a), table.slice(a, b - a), table.slice(b, n - b)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--task", choices=["classification", "sft"], default="classification")
    p.add_argument("--records", type=int, default=400)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    args = p.parse_args()

    from pipeline.experiments.effects import item_columns, read_items
    from pipeline.experiments.stats import METRICS, Bootstrap
    from pipeline.train import TrainConfig, train_and_evaluate

    if args.task == "classification":
        tables, metric, settings = classification_tables(args.records), "macro_f1", {}
    else:
        tables, metric = sft_tables(args.records), "test_perplexity"
        settings = {"method": "lora", "max_new_tokens": 16}
    print(f"{args.task}: {tables[0].num_rows} train, {tables[1].num_rows} validation, {tables[2].num_rows} test; "
          f"{args.epochs} epochs, batch {args.batch_size}, max_length {args.max_length}, {args.seeds} seeds")
    out = Path(tempfile.mkdtemp(prefix="train-backends-"))
    runs: dict[str, list] = {"builtin": [], "hf": []}
    try:
        for seed in range(args.seeds):
            order = ("builtin", "hf") if seed % 2 == 0 else ("hf", "builtin")
            for backend in order:
                config = TrainConfig(backend=backend, epochs=args.epochs, batch_size=args.batch_size,
                                     max_length=args.max_length, seed=seed, device=args.device, **settings)
                result = train_and_evaluate(*tables, config, out / f"{backend}-{seed}", data_version="bench")
                runs[backend].append(result)
                print(f"  seed {seed} {backend:7s}: {metric} {result.metrics.get(metric, float('nan')):.4f}  "
                      f"{result.tokens_per_second:,.0f} tok/s  train {result.train_seconds:.1f} s", flush=True)
        ids = read_items(runs["builtin"][0].model_dir)["id"]
        order = {rid: i for i, rid in enumerate(ids)}
        every = [read_items(r.model_dir) for rs in runs.values() for r in rs]
        labels = {v: i for i, v in enumerate(sorted({v for it in every for k in ("true", "pred") if k in it
                                                     for v in it[k]}))}
        cols = {b: [item_columns(read_items(r.model_dir), order, labels) for r in rs] for b, rs in runs.items()}
        boot = Bootstrap(len(ids), args.seeds)
        m = METRICS[metric]
        print(f"\n{'backend':8s} {metric:>24s}   median tok/s   median train s")
        for backend, rs in runs.items():
            est = boot.estimate(m, cols[backend])
            print(f"{backend:8s} {est.value:8.4f} [{est.low:.4f}, {est.high:.4f}]   "
                  f"{statistics.median(r.tokens_per_second for r in rs):12,.0f}   "
                  f"{statistics.median(r.train_seconds for r in rs):14.1f}")
        diff = boot.difference(m, cols["hf"], cols["builtin"])
        noise = "within seed noise" if diff.low <= 0 <= diff.high else "outside seed noise"
        ratio = statistics.median(r.tokens_per_second for r in runs["hf"]) / \
            statistics.median(r.tokens_per_second for r in runs["builtin"])
        print(f"\nhf - builtin: {metric} {diff.value:+.4f} [{diff.low:+.4f}, {diff.high:+.4f}] ({noise}); "
              f"throughput hf/builtin = {ratio:.2f}x")
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
