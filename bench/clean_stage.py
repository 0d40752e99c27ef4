"""Throughput of CleanStage.process_batch on short, realistic records (one process).

    .venv/bin/python bench/clean_stage.py [n_records] [--profile]

Builds n records (default 20,000) of all three kinds by perturbing a few dozen realistic
short texts (some with PII, HTML entities, other languages, repeated lines), then times
process_batch over 2,000-record batches with every filter on. Not collected by pytest.
"""

from __future__ import annotations

import random
import sys
import time

from pipeline.clean import CleanStage
from pipeline.clean.config import CleanConfig
from pipeline.records import empty_record, operation, record_id, records_to_table

REVIEWS = [
    "This blender is fantastic, it crushes ice in seconds and is easy to clean afterwards.",
    "Terrible customer service. I waited two weeks for a refund and nobody answered my emails.",
    "The movie was okay, a bit too long, but the soundtrack was great and the actors did well.",
    "Arrived broken. Packaging was flimsy. Would not buy again!!!",
    "Great value for the price; the battery lasts all day and charging is quick.",
    "I love this café, the croissants are fresh every morning and the staff are friendly.",
    "Das Produkt ist in Ordnung, aber die Lieferung hat viel zu lange gedauert.",
    "Le service était excellent et la nourriture délicieuse, je recommande vivement.",
    "Contact me at jane.doe@example.com or call (555) 123-4567 if the order is late.",
    "Meh.",
    "#win #free #giveaway #follow #like #share #contest #prize",
]
PROMPTS = [
    "Summarize the following paragraph in one sentence.",
    "Explain the difference between a list and a tuple in Python.",
    "Write a short poem about the ocean at night.",
    "What are three tips for improving sleep quality?",
    "Translate 'good morning' into Spanish and French.",
    "Give me a recipe for a quick vegetarian dinner.",
    "How do I reset my router? My IP is 192.168.0.1 and it stopped working.",
]
RESPONSES = [
    "Lists are mutable, so you can change their contents after creation, while tuples are immutable. "
    "Tuples are often used for fixed collections such as coordinates.",
    "The ocean hums beneath the moon,\nits silver waves a quiet tune.\n"
    "Stars lean down to hear it sing,\nof tides and time and everything.",
    "1. Keep a regular schedule.\n2. Avoid screens an hour before bed.\n3. Keep your bedroom cool and dark.",
    "In Spanish it is 'buenos días' and in French it is 'bonjour'.",
    "Sauté onions and garlic, add a can of chickpeas, tomatoes and spinach, season with cumin, and serve over rice.",
    "Unplug the router, wait thirty seconds, plug it back in, and wait for the lights to turn green.",
]
CODE_PROMPTS = [
    "Write a function that returns the factorial of n.",
    "Return the list of even numbers in xs.",
    "Parse a CSV line into fields.",
    "Compute the mean of a list of numbers.",
]
CODES = [
    "def factorial(n):\n    result = 1\n    for i in range(2, n + 1):\n        result *= i\n    return result\n",
    "def evens(xs):\n    return [x for x in xs if x % 2 == 0]\n",
    "def parse(line):\n    return [f.strip() for f in line.split(',')]\n",
    "def mean(xs):\n    if not xs:\n        raise ValueError('empty')\n    return sum(xs) / len(xs)\n",
    "def broken(x)\n    return x\n",
]
WORDS = "alpha beta gamma delta really quite very also then maybe today later soon".split()


def perturb(rng: random.Random, text: str) -> str:
    extra = " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 4)))
    return f"{text} {extra} {rng.randint(0, 9999)}".strip()


def build_records(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    ops = [operation("collect.bench", "collect")]
    rows = []
    for i in range(n):
        k = i % 3
        if k == 0:
            fields = {"text": perturb(rng, rng.choice(REVIEWS)), "label": rng.choice(["pos", "neg"])}
            kind = "classification"
        elif k == 1:
            fields = {"prompt": perturb(rng, rng.choice(PROMPTS)), "response": perturb(rng, rng.choice(RESPONSES))}
            kind = "instruction"
        else:
            fields = {"prompt": perturb(rng, rng.choice(CODE_PROMPTS)), "code": rng.choice(CODES), "language": "python"}
            kind = "code"
        rid = record_id(kind, "bench", fields)
        rows.append(
            empty_record(
                id=rid, kind=kind, source="bench", origin=f"bench:{i}", group_id=rid, operations=ops, **fields
            )
        )
    return rows


def main() -> None:
    n = int(next((a for a in sys.argv[1:] if a.isdigit()), 20_000))
    table = records_to_table(build_records(n))
    batches = table.to_batches(max_chunksize=2000)
    stage = CleanStage(CleanConfig())
    stage.setup()
    stage.process_batch(batches[0])  # warm-up: first-call costs are not throughput

    def run() -> tuple[int, int]:
        kept = rejected = 0
        for b in batches:
            r = stage.process_batch(b)
            kept += r.kept.num_rows
            rejected += r.rejected.num_rows
        return kept, rejected

    if "--profile" in sys.argv:
        import cProfile
        import pstats

        cProfile.runctx("run()", globals(), {"run": run}, "/tmp/clean.prof")
        pstats.Stats("/tmp/clean.prof").sort_stats("tottime").print_stats(25)
        return
    t0 = time.perf_counter()
    kept, rejected = run()
    dt = time.perf_counter() - t0
    print(f"{n} records in {dt:.2f} s: {n / dt:,.0f} records/s per process (kept {kept}, rejected {rejected})")


if __name__ == "__main__":
    main()
