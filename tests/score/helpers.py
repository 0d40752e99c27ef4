"""Small instruction data sets with answers that fit their questions, and answers that do not."""

from __future__ import annotations

import json
from pathlib import Path

PAIRS = [
    ("What is the capital of France?", "The capital of France is Paris."),
    ("How many days are in a week?", "There are seven days in a week."),
    ("What color is the sky on a clear day?", "On a clear day the sky is blue."),
    ("Name a fruit that is yellow.", "A banana is a yellow fruit."),
    ("What do bees make?", "Bees make honey from the nectar of flowers."),
    ("What is two plus two?", "Two plus two equals four."),
    ("Which animal says moo?", "A cow says moo."),
    ("What is frozen water called?", "Frozen water is called ice."),
    ("Where does the sun rise?", "The sun rises in the east."),
    ("What do you use to write on a blackboard?", "You write on a blackboard with chalk."),
    ("How many legs does a spider have?", "A spider has eight legs."),
    ("What is the opposite of hot?", "The opposite of hot is cold."),
]


def mismatched(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Each question with the answer of the question six places on: fluent, but beside the point."""
    return [(q, pairs[(i + 6) % len(pairs)][1]) for i, (q, _) in enumerate(pairs)]


def write_instructions(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("".join(json.dumps({"prompt": q, "response": a}) + "\n" for q, a in rows))
    return path


def score_config(d: Path, data: Path, scorers: list[dict], **run) -> dict:
    return {"run": {"name": "scored", "out_dir": str(d / "out"), "workers": 1, **run},
            "sources": [{"name": "qa", "kind": "instruction", "format": "jsonl", "path": str(data)}],
            "dedup": {"near": {"enabled": False}, "semantic": {"enabled": False}},
            "score": {"enabled": True, "scorers": scorers}}


def run_until_score(cfg: dict):
    from pipeline.config import parse_config
    from pipeline.runner import run_pipeline

    ctx = run_pipeline(parse_config(cfg), until="score")
    return ctx
