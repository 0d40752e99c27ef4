"""Similarity primitives shared by dedup, the split and the augment gates.

  content     normalisation keys (16-byte content hashes), compared text, shingles, Jaccard
  union_find  `GroupMerger`: union-find over group ids
  shingling   hashed word or character n-grams of a whole batch (numpy)
  minhash     vectorised MinHash signatures; oph: one-permutation hashing
  lsh         LSH banding: candidate pairs from signatures
"""

from pipeline.similarity.content import compared_text, content_key, jaccard, shingles
from pipeline.similarity.union_find import GroupMerger

__all__ = ["GroupMerger", "compared_text", "content_key", "jaccard", "shingles"]
