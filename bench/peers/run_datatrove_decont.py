"""datatrove's n-gram decontamination on bench/decontam_ngram.py's records, in the peers' venv.

    python run_datatrove_decont.py --input DIR --refs bench.jsonl --work W [--ngram 13] [--workers 2]

The index: datatrove's NGramsDecontIndexer turns each reference (label = the answer, query = the
question) into the hashes of its label's n-grams and of the n-grams that straddle query and label
(`find_overlap_ngrams`, its default), and saves one array per task as `<task>.index.hashes`. Its
`run` also loads lighteval's task table, and the class requires the `lighteval` package at
construction; lighteval requires torch, transformers and accelerate, which this venv does not
hold. So the runner makes the indexer without that check (`object.__new__`, then its own
`__init__`) and calls its own `compute_hashes` on each reference, then saves the array exactly as
`run` does. The index is a few seconds of the total and is timed apart ("index").

The filter, as in datatrove's decontamination example: ParquetReader(text_key="response") over the
input's Parquet files, NGramsDecontFilter(index, exclusion_writer=JsonlWriter) and a ParquetWriter
for the kept documents, through LocalPipelineExecutor with one task per input file and --workers
processes. Its config: NGramsDecontConfig(n_grams=--ngram), every other setting its default
(lower-casing, punctuation and diacritics removed, numbers normalised; spaCy's English word
tokenizer; 64-bit xxhash). Every column of a record travels as document metadata (its default,
read_metadata=True), so the kept output holds whole records, as the project's stage writes them.

Prints one JSON line: the removed documents' ids with the n-gram that matched, and the phases.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
from collections import defaultdict
from pathlib import Path

from common import Phases, peak_rss_mb


def build_index(refs: Path, folder: Path, config, task: str) -> int:
    """NGramsDecontIndexer's hashes of every reference, saved as its `run` saves them."""
    import numpy as np
    from datatrove.pipeline.decont.n_grams import NGramsDecontIndexer

    indexer = object.__new__(NGramsDecontIndexer)  # skips the lighteval check of PipelineStep.__new__
    NGramsDecontIndexer.__init__(indexer, str(folder), config=config)
    hashes: dict[str, set[int]] = defaultdict(set)
    with refs.open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            hashes[task].update(indexer.compute_hashes(row["answer"], row["question"]))
    folder.mkdir(parents=True, exist_ok=True)
    for name, task_hashes in hashes.items():
        array = np.array(list(task_hashes), dtype=config.hash_config.np_descr)
        with open(folder / f"{name.replace(' ', '_')}.index.hashes", "wb") as out:
            array.tofile(out)
    return sum(map(len, hashes.values()))


def quiet_logs(path: Path) -> None:
    """datatrove's logs (its workers inherit the descriptor) to a file, not between the bench's
    figures; the bench prints the file's tail when the run fails."""
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 2)
    os.close(log)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", type=Path, required=True, help="a folder of Parquet files, one task each")
    ap.add_argument("--refs", type=Path, required=True, help="JSONL of {question, answer}")
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--ngram", type=int, default=13)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    quiet_logs(args.work / "datatrove.log")
    phases = Phases()
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.decont.n_grams import NGramsDecontConfig, NGramsDecontFilter
    from datatrove.pipeline.readers import ParquetReader
    from datatrove.pipeline.writers import JsonlWriter, ParquetWriter

    phases.done("import")
    config = NGramsDecontConfig(n_grams=args.ngram)
    hashes = build_index(args.refs, args.work / "index", config, "brown")
    phases.done("index")
    files = sorted(args.input.glob("*.parquet"))
    LocalPipelineExecutor(
        [ParquetReader(str(args.input), glob_pattern="*.parquet", text_key="response", id_key="id"),
         NGramsDecontFilter(str(args.work / "index"), config=config,
                            exclusion_writer=JsonlWriter(str(args.work / "removed"))),
         ParquetWriter(str(args.work / "kept"))],
        tasks=len(files), workers=args.workers, logging_dir=str(args.work / "logs")).run()
    phases.done("filter")
    removed = {}
    for path in sorted((args.work / "removed").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                removed[row["id"]] = row["metadata"].get("contaminated_ngram")
    print(json.dumps({"removed": removed, "index_hashes": hashes, "tasks": len(files), "phases": phases.seconds,
                      "peak_rss_mb": peak_rss_mb()}))


if __name__ == "__main__":
    main()
