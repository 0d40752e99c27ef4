"""Which split a group belongs to: a keyed hash of its id, cut at the cumulative ratios.

The hash depends on nothing but the group id and the key, so every record of a group lands
in the same split, the order of the input does not matter, and adding records never moves an
existing one. Stratification by label is therefore only in expectation; `cover_small_labels`
adds the one guarantee hashing cannot give (see there).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Mapping, Sequence, Union

from pipeline.split.config import SPLITS, SplitRatios

RatiosLike = Union[SplitRatios, Mapping[str, float], Sequence[float]]
# A label needs this many groups before it is guaranteed one in train and one in test:
# with fewer, giving it both would leave nothing for the other.
MIN_GROUPS_FOR_COVERAGE = 3
_SCALE = float(1 << 64)


def _ratios(ratios: RatiosLike) -> dict[str, float]:
    if isinstance(ratios, SplitRatios):
        return ratios.as_dict()
    if isinstance(ratios, Mapping):
        return {name: float(ratios.get(name, 0.0)) for name in SPLITS}
    return dict(zip(SPLITS, (float(r) for r in ratios)))


def hash_fraction(group_id: str, key: str) -> float:
    """blake2b keyed with `key`, of the group id, as a number in [0, 1)."""
    digest = hashlib.blake2b(group_id.encode("utf-8", "surrogatepass"), key=key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def split_of_fraction(u: float, ratios: RatiosLike) -> str:
    r = _ratios(ratios)
    cut = 0.0
    for name in SPLITS:
        cut += r[name]
        if u < cut:
            return name
    # Float rounding can leave the cuts a hair below 1: the remainder goes to the last split
    # that has a share, never to one whose ratio is 0.
    return next(name for name in reversed(SPLITS) if r[name] > 0)


def assign_split(group_id: str, key: str, ratios: RatiosLike) -> str:
    """The split of every record whose group is `group_id`."""
    return split_of_fraction(hash_fraction(group_id, key), ratios)


def cover_small_labels(label_groups: Mapping[str, set[str]], key: str, ratios: RatiosLike) -> dict[str, str]:
    """Overrides (group -> split) giving every label with >= 3 groups a group in test and in train.

    This is the only place where a group's split depends on other records: when hashing left a
    label with no group in test (or train), that label's group with the smallest hash value
    among those that can be spared is moved there. It only ever affects tiny labels, since a
    label with a few dozen groups misses a 10% split with negligible probability. A split whose
    ratio is 0 is not wanted, so it is not filled. Labels are handled in sorted order; a group
    carrying several labels moves whole (groups never straddle), so in the rare case of such
    groups a later label's move can undo an earlier label's coverage.
    """
    r = _ratios(ratios)
    overrides: dict[str, str] = {}

    def split_of(g: str) -> str:
        return overrides.get(g) or assign_split(g, key, r)

    for label in sorted(label_groups):
        groups = label_groups[label]
        if len(groups) < MIN_GROUPS_FOR_COVERAGE:
            continue
        for needed in ("test", "train"):
            if r[needed] == 0:
                continue
            # Stops at the first group found there: cheap for the large labels that need nothing.
            if any(split_of(g) == needed for g in groups):
                continue
            overrides[_group_to_move({g: split_of(g) for g in groups}, key)] = needed
    return overrides


def _group_to_move(where: dict[str, str], key: str) -> str:
    """The smallest-hash group whose move empties neither train nor test for its label.

    With >= 3 groups and the needed split empty, one always exists: either the other guaranteed
    split holds two or more, or validation holds the rest.
    """
    per_split = Counter(where.values())
    spare = [g for g, s in where.items() if s == "validation" or per_split[s] > 1]
    return min(spare, key=lambda g: (hash_fraction(g, key), g))
