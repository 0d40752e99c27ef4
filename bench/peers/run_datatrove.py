"""datatrove: its four MinHash steps with LocalPipelineExecutor, on character 5-grams.

    python run_datatrove.py --docs D --out O --work W [--workers 1|2]

datatrove shingles *words*: `MinhashDedupSignature.get_shingles` is n-grams of
`word_tokenizer.word_tokenize(simplify_text(text, config.norm_config))`, each n-gram joined with
" " and hashed. It has no character option, but its `language` argument also takes a
`WordTokenizer` instance ("for custom tokenizers", datatrove.utils.word_tokenizers.load_word_tokenizer).
So: a tokenizer whose "words" are the characters of the normalised text, `n_grams=5`, and a
TextNormConfig with every normalisation off (the tokenizer normalises as our level does) gives
exactly the character 5-grams of the normalised text ("a b c d e" is a 5-gram joined with spaces:
one string per 5-gram). A text shorter than 5 characters has no n-gram and no signature.

Settings: MinhashConfig(n_grams=5, num_buckets=16, hashes_per_bucket=8 -> 128 permutations; the
S-curve's midpoint (1/16)^(1/8) = 0.707; datatrove has no threshold and no verification: one
equal bucket makes a duplicate), seed=1, HashConfig(precision=64, hash_fc="xxhash") (its default).
Pipeline, as in datatrove's examples/minhash_deduplication.py:
  1 JsonlReader + MinhashDedupSignature                    tasks = workers = --workers
  2 MinhashDedupBuckets                                    tasks = 16 (one per bucket), workers = --workers
  3 MinhashDedupCluster(save_cluster_id=True)              tasks = 1
  4 JsonlReader + MinhashDedupFilter(exclusion_writer=JsonlWriter, load_cluster_ids=True) + JsonlWriter
                                                           tasks = workers = --workers
With --workers > 1 the documents are first split into that many JSONL files (one per task).
The result: each document's `minhash_cluster_id` (metadata written by step 4; -1 = no cluster)
and the documents step 4 removed (its exclusion writer's output), by their "id".
"""

from __future__ import annotations

import gzip
import json

from common import Phases, arguments, normalised, write_result


def main() -> None:
    args = arguments()
    phases = Phases()
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers.jsonl import JsonlWriter
    from datatrove.utils.hashing import HashConfig
    from datatrove.utils.text import TextNormConfig
    from datatrove.utils.word_tokenizers import WordTokenizer

    class CharTokenizer(WordTokenizer):
        """The characters of the normalised text as the 'words' datatrove makes n-grams of."""

        def word_tokenize(self, text: str) -> list[str]:
            return list(normalised(text))

        def sent_tokenize(self, text: str) -> list[str]:
            return [text]

        def span_tokenize(self, text: str) -> list[tuple[int, int]]:
            return [(0, len(text))]

    phases.done("import")
    work, workers = args.work, args.workers
    docs = docs_folder(args.docs, work, workers)
    config = MinhashConfig(
        n_grams=args.ngram, num_buckets=16, hashes_per_bucket=args.num_perm // 16, seed=1,
        norm_config=TextNormConfig(lowercase=False, norm_whitespace=False, remove_punctuation=False,
                                   norm_unicode_diacritics=False, norm_numbers=False),
        hash_config=HashConfig(precision=64, hash_fc="xxhash"),
    )

    def reader():
        return JsonlReader(str(docs), glob_pattern="*.jsonl", id_key="id", text_key="text")

    signatures = LocalPipelineExecutor(
        [reader(), MinhashDedupSignature(str(work / "signatures"), config=config, language=CharTokenizer())],
        tasks=workers, workers=workers, logging_dir=str(work / "logs/signatures"))
    buckets = LocalPipelineExecutor(
        [MinhashDedupBuckets(str(work / "signatures"), str(work / "buckets"), config=config)],
        tasks=config.num_buckets, workers=workers, logging_dir=str(work / "logs/buckets"), depends=signatures)
    cluster = LocalPipelineExecutor(
        [MinhashDedupCluster(str(work / "buckets"), str(work / "remove_ids"), config=config, save_cluster_id=True)],
        tasks=1, logging_dir=str(work / "logs/clusters"), depends=buckets)
    filtering = LocalPipelineExecutor(
        [reader(),
         MinhashDedupFilter(str(work / "remove_ids"), exclusion_writer=JsonlWriter(str(work / "removed")),
                            load_cluster_ids=True),
         JsonlWriter(str(work / "kept"))],
        tasks=workers, workers=workers, logging_dir=str(work / "logs/filter"), depends=cluster)
    # Run one at a time (each would launch its dependency anyway) to time the steps.
    for name, step in (("signatures", signatures), ("buckets", buckets), ("cluster", cluster),
                       ("filter", filtering)):
        step.run()
        phases.done(name)

    cluster_of, removed = {}, []
    for folder, is_removed in (("kept", False), ("removed", True)):
        for path in sorted((work / folder).glob("*.jsonl.gz")):
            with gzip.open(path, "rt", encoding="utf-8") as f:
                for line in f:
                    row = json.loads(line)
                    cid = row["metadata"].get("minhash_cluster_id", -1)
                    if cid != -1:
                        cluster_of[row["id"]] = cid
                    if is_removed:
                        removed.append(int(row["id"]))
    phases.done("read output")
    write_result(args.out, clusters=[[int(i), c] for i, c in cluster_of.items()], removed=removed,
                 phases=phases.seconds, layout=f"{config.num_buckets} buckets x {config.hashes_per_bucket} hashes",
                 workers=workers)


def docs_folder(docs, work, workers):
    """A folder with the documents: the given file alone, or split into one file per task."""
    folder = work / "input"
    folder.mkdir(parents=True)
    if workers == 1:
        (folder / "docs.jsonl").symlink_to(docs.resolve())
        return folder
    lines = docs.read_text(encoding="utf-8").splitlines(keepends=True)
    share = -(-len(lines) // workers)
    for k in range(workers):
        (folder / f"docs_{k:02d}.jsonl").write_text("".join(lines[k * share:(k + 1) * share]), encoding="utf-8")
    return folder


if __name__ == "__main__":
    main()
