"""text-dedup: `python -m text_dedup.minhash` (its click entry, called in-process), on a local JSONL.

    python run_text_dedup.py --docs D --out O --work W [--variant words|chars] [--workers N]

text-dedup 0.4.0 (the current PyPI release) shingles *words* only: `embed_func` takes n-grams of
`re.split(r"\\W", text.lower())` joined by " "; there is no character option. So two variants:
  words  its own shingles: word 5-grams (--ngram 5);
  chars  our shingles, given to it as words: each character 5-gram of the normalised text becomes
         one token (its spaces replaced by a word character that no normalised text contains), and
         --ngram 1, so each token is one shingle: the same sets as ours. The rewriting is timed.
Settings: --threshold 0.7 --num_perm 128 (it picks its band layout for 0.7 with datasketch's
optimiser: 14 bands x 9 rows), --hash_func xxh3 ("xxh3 is faster" than the sha1 default),
--hash_bits 64 (default), --min_length 0 (the default 5 drops every document of fewer than 5
tokens from the output, a length filter rather than deduplication), --num_proc N (default: all
cores), --path json --data_files D --split train (a local JSONL through `datasets.load_dataset`),
--cache_dir/--output in the work folder. text-dedup has no verification: documents that share one
band are unioned, and it keeps one document per union-find cluster. Cluster membership is read from
its union-find (module global `text_dedup.minhash.uf`, the structure it filters with and dumps as
uf.pkl with --debug); the count it kept is checked against the saved output.
"""

from __future__ import annotations

import json

from common import Phases, arguments, normalised, write_result

SPACE = "\ua66e"  # CYRILLIC LETTER MULTIOCULAR O: a \w character, absent from the documents (checked)


def chars_as_words(docs, work, ngram):
    """The documents rewritten so that text-dedup's word 1-grams are our character n-grams."""
    out = work / "chars.jsonl"
    with docs.open(encoding="utf-8") as f, out.open("w", encoding="utf-8") as g:
        for line in f:
            row = json.loads(line)
            s = normalised(row["text"])
            assert SPACE not in s
            grams = {s[i:i + ngram] for i in range(max(len(s) - ngram + 1, 1))} if s else set()
            row["text"] = " ".join(gram.replace(" ", SPACE) for gram in grams)
            g.write(json.dumps(row) + "\n")
    return out


def main() -> None:
    args = arguments()
    phases = Phases()
    import datasets
    import text_dedup.minhash as td

    phases.done("import")
    if args.variant == "chars":
        data, ngram = chars_as_words(args.docs, args.work, args.ngram), 1
        phases.done("rewrite")
    elif args.variant == "words":
        data, ngram = args.docs, args.ngram
    else:
        raise SystemExit(f"unknown variant {args.variant!r}")
    output = args.work / "output"
    td.main.main(args=[
        "--path", "json", "--data_files", str(data), "--split", "train", "--cache_dir", str(args.work / "cache"),
        "--output", str(output), "--column", "text", "--num_perm", str(args.num_perm),
        "--threshold", str(args.threshold), "--ngram", str(ngram), "--min_length", "0",
        "--hash_func", "xxh3", "--hash_bits", "64", "--num_proc", str(args.workers),
    ], standalone_mode=False)
    phases.done("text_dedup.minhash")

    # The row index text-dedup gives each document (its __index__ column) is its line number.
    uf = td.uf
    root = {i: uf.find(i) for i in list(uf.parent)}
    removed = sorted(i for i, r in root.items() if r != i)
    kept = len(datasets.load_from_disk(str(output)))
    n = sum(1 for _ in args.docs.open(encoding="utf-8"))
    assert kept == n - len(removed), (kept, n, len(removed))
    phases.done("read output")
    write_result(args.out, clusters=[[i, r] for i, r in root.items()], removed=removed, phases=phases.seconds,
                 workers=args.workers)


if __name__ == "__main__":
    main()
