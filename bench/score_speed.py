"""Scores per second of each scorer on this machine, on the same chatterbot Q&A pairs.

Each scorer scores the same records `--runs` times after one warm-up call (model loads are not
timed); reported: the median records/s, and the spread of the runs (min-max) as the machine's
noise. The endpoint judge goes through a real OpenAI-compatible server on 127.0.0.1 (the test
server: SmolLM2 behind HTTP, one generation at a time), so its figure is HTTP and queueing on
top of the local judge's generation. No cache: every call scores every record.

    .venv/bin/python bench/score_speed.py                  # 64 records, 3 runs, on the CPU
    .venv/bin/python bench/score_speed.py --device cuda    # on a GPU

The demo data must be prepared first (`curate demo-data`).
"""

from __future__ import annotations

import _setup  # noqa: F401  (sys.path, offline hubs, quiet loads)

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def records(n: int):
    from pipeline.demo.data import chatterbot_jsonl, data_home
    from pipeline.score.base import Item

    with open(chatterbot_jsonl(data_home())) as f:
        pairs = [json.loads(line) for line in f]
    pairs = pairs[:: max(len(pairs) // n, 1)][:n]
    return [Item("instruction", p["question"], p["answer"], "en") for p in pairs]


def classifier_folder(tmp: Path) -> str:
    """MiniLM with a seeded two-class head, saved as a user's classifier folder would be."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from pipeline.train.models import model_path

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(model_path("minilm"), num_labels=2)
    model.save_pretrained(tmp / "clf")
    AutoTokenizer.from_pretrained(model_path("minilm")).save_pretrained(tmp / "clf")
    return str(tmp / "clf")


def start_server() -> tuple[subprocess.Popen, str]:
    import httpx

    from pipeline.train.models import ensure_smollm2

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = Path(__file__).resolve().parents[1] / "tests" / "score" / "chat_server.py"
    proc = subprocess.Popen([sys.executable, str(server), "--port", str(port), "--model", str(ensure_smollm2())],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    for _ in range(360):
        try:
            if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("the chat server did not start")


def scorers(device: str, tmp: Path, url: str | None):
    from pipeline.score import config as c
    from pipeline.score.scorers import endpoint_client, make_scorer

    specs = [c.FlaggedWordsScorer(name="flag", kind="flagged_words"),
             c.ClassifierScorer(name="clf", kind="classifier", model=classifier_folder(tmp), device=device),
             c.PerplexityScorer(name="ppl", kind="perplexity", device=device),
             c.JudgeScorer(name="judge_expected", kind="judge", mode="expected", device=device),
             c.JudgeScorer(name="judge_generate", kind="judge", device=device)]
    if url:
        specs.append(c.JudgeScorer(name="judge_endpoint", kind="judge", backend="openai", url=url, model="local",
                                   concurrency=4))
    return [(s.name, make_scorer(s, endpoint_client(s))) for s in specs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--no-endpoint", action="store_true", help="skip the endpoint judge")
    args = parser.parse_args()
    items = records(args.records)
    proc, url = (None, None) if args.no_endpoint else start_server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            print(f"{len(items)} chatterbot Q&A records, {args.runs} runs each after a warm-up; device {args.device}")
            print(f"{'scorer':<16} {'records/s':>10} {'min-max':>16} {'missing':>8}")
            for name, scorer in scorers(args.device, Path(tmp), url):
                scorer.setup()
                scorer.score(items[:4])  # warm-up: first-call costs (kernels, lists, connections)
                rates, missing = [], 0
                for _ in range(args.runs):
                    t0 = time.perf_counter()
                    out = scorer.score(items)
                    rates.append(len(items) / (time.perf_counter() - t0))
                    missing = sum(f is not None for f in out.failures)
                print(f"{name:<16} {statistics.median(rates):>10.1f} {min(rates):>7.1f}-{max(rates):<8.1f} {missing:>8}")
    finally:
        if proc is not None:
            proc.terminate()


if __name__ == "__main__":
    main()
