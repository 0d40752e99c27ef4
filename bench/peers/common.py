"""Shared by the runners of bench/dedup_peers.py: arguments, documents in, result out, and the
text the near level compares.

Each runner is executed as its own process by bench/dedup_peers.py (the peers' runners by the
python of the peers' venv, ours by the project's), so that every tool pays its interpreter
start-up and its imports. It reads the documents from a JSONL file ({"id": "<line number>",
"text": ...} per line), writes one JSON object with what the tool predicted, and imports
nothing of the project except what it needs (ours: bench/dedup_truth.run_near).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import time
from pathlib import Path

WORDS = re.compile(r"\w+")


def normalised(text: str) -> str:
    """Lower-cased \\w+ words joined by single spaces: the text the near level and the truth
    compare. bench/dedup_peers.py checks it against dedup_truth.normalised on every document."""
    return " ".join(WORDS.findall(text.lower()))


def char_grams(text: str, n: int) -> set[str]:
    """Character n-grams of the normalised text, as dedup_truth.gram_sets makes them (a text
    shorter than n is one gram; an empty text has none)."""
    s = normalised(text)
    return {s[i:i + n] for i in range(max(len(s) - n + 1, 1))} if s else set()


def arguments() -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=Path, required=True, help="JSONL of {id, text}, id = line number")
    ap.add_argument("--out", type=Path, required=True, help="result JSON written here")
    ap.add_argument("--work", type=Path, required=True, help="an empty folder the tool may write to")
    ap.add_argument("--threshold", type=float, default=0.7)
    ap.add_argument("--num-perm", type=int, default=128)
    ap.add_argument("--ngram", type=int, default=5)
    ap.add_argument("--variant", default="", help="runner-specific variant")
    ap.add_argument("--workers", type=int, default=1)
    return ap.parse_args()


def read_texts(path: Path) -> list[str]:
    texts = []
    with path.open(encoding="utf-8") as f:
        for k, line in enumerate(f):
            row = json.loads(line)
            assert row["id"] == str(k), "ids are line numbers"
            texts.append(row["text"])
    return texts


def peak_rss_mb() -> float:
    """The largest resident set of this process (VmHWM: this program's own, unlike RUSAGE_SELF, which
    keeps the high-water mark of the process it was exec'd from) or of any child it has waited for."""
    with open("/proc/self/status") as f:
        own = next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))
    return max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024


def write_result(path: Path, **fields) -> None:
    path.write_text(json.dumps({**fields, "peak_rss_mb": peak_rss_mb()}))


class Phases:
    """Wall seconds of named phases inside a runner, reported next to the whole-process time."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._t = time.perf_counter()

    def done(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self._t, 3)
        self._t = now
