"""Ours: the dedup_near stage through bench/dedup_truth.run_near, run by the project's venv.

    .venv/bin/python bench/peers/run_ours.py --docs D --out O --work W

`run_near(texts, work, "exact", threshold, {})`: the stage with its defaults (character 5-grams of
the normalised text, 128 permutations, LSH bands laid out for the threshold, candidates decided on
the exact Jaccard of their shingle sets). Writes the duplicate pairs, the drops (dropped, kept
record named) and the stage's own wall and CPU seconds, measured inside run_near around run_stage.
"""

from __future__ import annotations

import sys
from pathlib import Path

from common import Phases, arguments, read_texts, write_result

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    args = arguments()
    phases = Phases()
    from dedup_truth import run_near

    texts = read_texts(args.docs)
    phases.done("import+read")
    pairs, drops, wall, cpu = run_near(texts, args.work, "exact", args.threshold, {})
    phases.done("run_near")
    write_result(args.out, pairs=sorted(pairs), drops=drops, stage_wall=wall, stage_cpu=cpu, phases=phases.seconds)


if __name__ == "__main__":
    main()
