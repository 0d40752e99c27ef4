"""What two records are compared on: normalised content, its hash, and word shingles.

One definition serves duplicate merging, leakage counting and reference matching, so "the
same content" means the same thing in every counter the stage reports.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any, Mapping, Sequence

from pipeline.records import normalise_for_id

SHINGLE_WORDS = 5
_WORD = re.compile(r"\w+")


def compared_text(row: Mapping[str, Any], fields: Sequence[str], canonical: bool = True) -> str | None:
    """The fields, normalised as for record ids and lower-cased; None when all are empty.

    `canonical=False` gives only their NFKC form, for comparers that tokenise themselves and
    ignore case and spacing (MinHash shingling): collapsing the whitespace of every text cost
    as much as hashing it.
    """
    if canonical:
        parts = [normalise_for_id(str(row.get(f) or "")).lower() for f in fields]
    else:
        parts = [unicodedata.normalize("NFKC", str(row.get(f) or "")) for f in fields]
    if not any(p and not p.isspace() for p in parts):
        return None
    return "\x1e".join(parts)  # a separator no text contains, so ("ab", "c") != ("a", "bc")


def content_key(kind: str, text: str) -> bytes:
    """A short hash of compared content; the kind is part of it, so kinds never match each other."""
    return hashlib.blake2b(f"{kind}\x1f{text}".encode("utf-8", "surrogatepass"), digest_size=16).digest()


def shingles(text: str) -> frozenset[int]:
    """Hashes of the text's word 5-grams; a text of fewer words is one shingle of all of them.

    Words are runs of letters and digits, so punctuation and spacing changes do not count as
    edits. The hashes are Python's own (of word tuples, built by `zip` in C, which is several
    times faster than joining strings): they differ between processes, which is fine because
    an index is built and queried in the same process, and 64-bit collisions are negligible.
    """
    words = _WORD.findall(text)
    if len(words) < SHINGLE_WORDS:
        return frozenset((hash(tuple(words)),)) if words else frozenset()
    return frozenset(map(hash, zip(*(words[i:] for i in range(SHINGLE_WORDS)))))


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)
