"""Training throughput: our loop (pipeline.train.loop) against a plain transformers.Trainer.

Same model, same tokenised examples, same batch size, max_length, number of optimiser steps
(one epoch), seed, fp32 on CPU, dynamic padding on both sides, in the same process. Each side
runs `--repeats` times in alternating order after a warm-up; the median tokens/s (non-padding
tokens per second of wall time around the whole training call) is reported. The goal: our
wrapper costs < 10% against the Trainer.

    .venv/bin/python bench/train_throughput.py                                     # MiniLM classifier, SpamAssassin
    .venv/bin/python bench/train_throughput.py --data chatterbot                   # short texts: overhead-bound
    .venv/bin/python bench/train_throughput.py --model smollm2 --records 64 --batch-size 8   # SFT, SmolLM2-135M

The demo data must be prepared first (`curate demo-data` / `python -m pipeline.demo.data`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

# Spin-waiting OpenMP threads are ~30x slower on a busy 2-core machine; both sides get the same setting.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from pipeline.demo.data import chatterbot_jsonl, data_home, spamassassin_dir  # noqa: E402


def spamassassin_texts(n: int) -> tuple[list[str], list[str]]:
    """n e-mails (subject + body text), alternating spam and ham, spread evenly over the corpus."""
    from pipeline.collect.email_reader import message_row

    texts, labels = [], []
    per_label = {label: sorted((spamassassin_dir(data_home()) / label).glob("*.eml")) for label in ("spam", "ham")}
    for i in range(n):
        label = ("spam", "ham")[i % 2]
        files = per_label[label]
        texts.append(message_row(files[(i // 2) * len(files) // (n // 2 + 1)].read_bytes())["text"])
        labels.append(label)
    return texts, labels


def chatterbot_rows(n: int) -> list[dict]:
    with open(chatterbot_jsonl(data_home())) as f:
        rows = [json.loads(line) for line in f]
    step = max(len(rows) // n, 1)
    return rows[::step][:n]


def classification_examples(args) -> tuple[list[dict], list[str], str]:
    from transformers import AutoTokenizer

    from pipeline.train.models import model_path

    if args.data == "spamassassin":
        texts, labels = spamassassin_texts(args.records)
    else:
        rows = chatterbot_rows(args.records)
        texts, labels = [r["question"] for r in rows], [r["topic"] for r in rows]
    names = sorted(set(labels))
    tokenizer = AutoTokenizer.from_pretrained(model_path("minilm"))
    ids = tokenizer(texts, truncation=True, max_length=args.max_length)["input_ids"]
    return [{"input_ids": x, "labels": names.index(y), "row": i} for i, (x, y) in enumerate(zip(ids, labels))], names, \
        model_path("minilm")


def sft_examples_for_bench(args) -> tuple[list[dict], str]:
    from transformers import AutoTokenizer

    from pipeline.records import empty_record, records_to_table
    from pipeline.train.models import model_path
    from pipeline.train.sft_data import sft_examples

    rows = chatterbot_rows(args.records)
    table = records_to_table([empty_record(kind="instruction", prompt=r["question"], response=r["answer"])
                              for r in rows])
    path = model_path("smollm2")
    examples, dropped, _ = sft_examples(table, AutoTokenizer.from_pretrained(path), args.max_length)
    assert not dropped, dropped
    return examples, path


def fresh_model(args, labels, path):
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    torch.manual_seed(args.seed)  # the same new head on both sides
    if args.model == "smollm2":
        return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    return AutoModelForSequenceClassification.from_pretrained(path, num_labels=len(labels), dtype=torch.float32)


def run_ours(model, examples, pad_id, args) -> float:
    import torch

    from pipeline.train.config import TrainConfig
    from pipeline.train.loop import train_loop

    config = TrainConfig(epochs=1, batch_size=args.batch_size, max_length=args.max_length, learning_rate=args.lr,
                         seed=args.seed, device="cpu").resolved("sft" if args.model == "smollm2" else "classification")
    started = time.perf_counter()
    train_loop(model, examples, pad_id, lambda m: {"val_loss": 0.0}, config, torch.device("cpu"), score_key="val_loss",
               higher_is_better=False, progress=lambda stage, total: lambda n: None)
    return time.perf_counter() - started


def run_trainer(model, examples, tokenizer_pad_id, args) -> float:
    from transformers import Trainer, TrainingArguments

    def collate(batch):  # the same dynamic padding as ours: to the batch's longest example
        from pipeline.train.batching import collate as ours

        return ours(batch, tokenizer_pad_id)

    data = [{"input_ids": e["input_ids"], "labels": e["labels"]} for e in examples]
    with tempfile.TemporaryDirectory() as out:
        training_args = TrainingArguments(
            output_dir=out, per_device_train_batch_size=args.batch_size, num_train_epochs=1, learning_rate=args.lr,
            weight_decay=0.01, warmup_steps=0.1, lr_scheduler_type="linear", max_grad_norm=1.0, seed=args.seed,
            use_cpu=True, report_to="none", save_strategy="no", eval_strategy="no", logging_strategy="no",
            disable_tqdm=True, dataloader_num_workers=0, dataloader_pin_memory=False,
        )
        trainer = Trainer(model=model, args=training_args, train_dataset=data, data_collator=collate)
        started = time.perf_counter()
        trainer.train()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=["minilm", "smollm2"], default="minilm")
    parser.add_argument("--data", choices=["spamassassin", "chatterbot"], default="spamassassin",
                        help="minilm only; smollm2 always trains on chatterbot pairs")
    parser.add_argument("--records", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    import torch
    import transformers

    if args.model == "smollm2":
        examples, path = sft_examples_for_bench(args)
        labels, pad_id = [], 2  # SmolLM2 pads with <|im_end|>; padding is masked on both sides
    else:
        examples, labels, path = classification_examples(args)
        pad_id = 0  # BERT's [PAD]
    tokens = sum(len(e["input_ids"]) for e in examples)
    steps = -(-len(examples) // args.batch_size)
    print(f"{args.model}: {len(examples)} examples, {tokens:,} non-padding tokens, {steps} steps of batch "
          f"{args.batch_size}, max_length {args.max_length}; torch {torch.__version__} ({torch.get_num_threads()} "
          f"threads, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}), transformers {transformers.__version__}",
          flush=True)

    # Warm-up: one-time costs (kernel selection, allocator growth) go to neither side.
    run_ours(fresh_model(args, labels, path), examples[: args.batch_size * 2], pad_id, args)

    seconds = {"ours": [], "trainer": []}
    for r in range(args.repeats):
        order = ("ours", "trainer") if r % 2 == 0 else ("trainer", "ours")
        for side in order:
            model = fresh_model(args, labels, path)
            run = run_ours if side == "ours" else run_trainer
            seconds[side].append(run(model, examples, pad_id, args))
            print(f"  repeat {r + 1} {side:<8} {seconds[side][-1]:7.2f} s  {tokens / seconds[side][-1]:9,.0f} tok/s",
                  flush=True)
    ours, theirs = (tokens / statistics.median(seconds[s]) for s in ("ours", "trainer"))
    print(f"ours    {ours:9,.0f} tok/s\ntrainer {theirs:9,.0f} tok/s\nratio ours/trainer = {ours / theirs:.3f} "
          f"({'within' if ours >= 0.9 * theirs else 'OVER'} the 10% budget)")


if __name__ == "__main__":
    sys.exit(main())
