"""One-permutation hashing (Li, Owen and Zhang 2012) with optimal densification (Shrivastava 2017).

A MinHash signature of K values costs K hash evaluations per shingle. One-permutation hashing
hashes each shingle once: the top bits choose one of K bins, the low 32 bits are its value, and
each bin keeps the minimum of its values. A document with fewer shingles than bins leaves bins
empty; optimal densification fills an empty bin i from the first non-empty bin on a probe
sequence that depends only on i (here a fixed random permutation of the K bins per i), the
same for every document. For two documents each signature position then agrees with probability
equal to their Jaccard, as with K permutations, so the LSH banding and the estimate are unchanged.

Shingling is MinHasher's (the same n-grams of the same units); only the signature differs. On
the CPU, n-grams, bins and densification are one compiled pass per document (`kernels`); on a
torch device, `oph_device` gives the same bits.
Persisted signatures name their scheme, so an index of one scheme is never compared with another.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from pipeline.similarity.minhash import MAX_HASH, MinHasher
from pipeline.similarity.shingling import Shingler, shingle_counts

# v2: the seed's salt goes into the shingle hash's own final mix instead of a second mix here.
SCHEME = "oph-optimal-densification-v2"


class OnePermutationHasher(MinHasher):
    """K-bin one-permutation MinHash; `num_perm` is the number of bins."""

    scheme = SCHEME

    def __init__(self, num_perm: int = 128, ngram: int = 3, unit: Literal["word", "char"] = "word",
                 seed: int = 1, device: str = "cpu") -> None:
        super().__init__(num_perm=num_perm, ngram=ngram, unit=unit, seed=seed)
        self.device = device  # "cpu": numpy; a torch device ("cuda"): oph_device, the same values
        rng = np.random.default_rng([self.seed, 0x0FF])
        self._salt = rng.integers(0, 2**64, dtype=np.uint64, endpoint=False)
        # Shingle hashes mixed with the salt are already seed-dependent and uniform: no second mix.
        self.shingler = Shingler(self.ngram, self.unit, salt=int(self._salt))
        # probe[i] is bin i's sequence of bins to borrow from: a permutation, so every
        # non-empty bin is reached within K probes.
        self._probe = np.stack([rng.permutation(self.num_perm) for _ in range(self.num_perm)]).astype(np.int64)

    def _window(self, texts, keep_shingles):
        units, lengths = self.shingler.units(texts)
        if self.device != "cpu":
            from pipeline.similarity.oph_device import sketch_window

            return sketch_window(units, lengths, self.ngram, self.shingler.salt, self._probe, self.device, keep_shingles)
        from pipeline.similarity import kernels

        n = self.ngram
        counts = shingle_counts(lengths, n)
        sig = np.full((len(lengths), self.num_perm), MAX_HASH, dtype=np.uint32)
        top = np.empty(int(counts.sum()) if keep_shingles else 0, np.uint32)
        kernels.oph_sketch(units, lengths, n, np.uint64(self.shingler.salt), self._probe, keep_shingles, sig, top)
        return sig, (top if keep_shingles else None), counts
