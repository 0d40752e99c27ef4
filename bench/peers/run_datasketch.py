"""datasketch: MinHash.bulk + MinHashLSH, pairs decided on the MinHash estimate.

    python run_datasketch.py --docs D --out O --work W [--variant sha1|xxh32]

* shingles: a Python set of character 5-gram slices of the normalised text (part of the time);
* signatures: `MinHash.bulk(shingle lists, num_perm=128, seed=1, hashfunc=...)`, the default
  permutation scheme ("affine32" since datasketch 2.0); variant sha1 = the default hashfunc
  (datasketch.hashfunc.sha1_hash32, wants bytes, so the shingles are encoded), variant xxh32 =
  `xxhash.xxh32_intdigest` (the docs suggest a fast non-cryptographic hash such as farmhash for
  speed; xxh32 takes str directly);
* index: `MinHashLSH(threshold=0.7, num_perm=128)` (its own band layout for 0.7: 14 bands x 9 rows),
  every non-empty MinHash inserted through `insertion_session()`, then one `query` per document;
* decision: a candidate (i, j) is a predicted pair when `MinHash.jaccard` (the estimate over all
  128 permutations) is >= the threshold, as datasketch's docs recommend filtering query results.
Documents with an empty normalised text have no shingles and are left out of the index.
"""

from __future__ import annotations

from common import Phases, arguments, char_grams, read_texts, write_result


def main() -> None:
    args = arguments()
    phases = Phases()
    from datasketch import MinHash, MinHashLSH

    texts = read_texts(args.docs)
    phases.done("import+read")

    if args.variant == "xxh32":
        import xxhash

        shingles = (list(char_grams(t, args.ngram)) for t in texts)
        extra = {"hashfunc": xxhash.xxh32_intdigest}
    elif args.variant == "sha1":
        shingles = ([g.encode("utf-8") for g in char_grams(t, args.ngram)] for t in texts)
        extra = {}
    else:
        raise SystemExit(f"unknown variant {args.variant!r}")
    sketches = MinHash.bulk(shingles, num_perm=args.num_perm, seed=1, **extra)
    phases.done("shingle+minhash")

    lsh = MinHashLSH(threshold=args.threshold, num_perm=args.num_perm)
    with lsh.insertion_session() as session:
        for i, m in enumerate(sketches):
            if not m.is_empty():
                session.insert(i, m)
    phases.done("lsh insert")

    pairs, candidates = [], 0
    for i, m in enumerate(sketches):
        if m.is_empty():
            continue
        for j in lsh.query(m):
            if j > i:
                candidates += 1
                if m.jaccard(sketches[j]) >= args.threshold:
                    pairs.append((i, j))
    phases.done("query+estimate")
    write_result(args.out, pairs=pairs, phases=phases.seconds, candidates=candidates,
                 layout=f"{lsh.b} bands x {lsh.r} rows")


if __name__ == "__main__":
    main()
