"""Merging the groups of exact duplicates, so identical content cannot sit in two splits.

Groups come from collection (a conversation, a record and its variants); two copies of one
text from different files are still different groups until deduplication. Hashing groups
would then put the copies in different splits, which is leakage. A union-find over content
hashes joins such groups first. Each component is represented by its lexicographically
smallest group id, so the result does not depend on the order records are seen in.
"""

from __future__ import annotations


class GroupMerger:
    """Union-find over group ids, joined by shared content; memory: one hash per distinct content."""

    def __init__(self) -> None:
        self._first_group: dict[bytes, str] = {}  # content hash -> the first group seen with it
        self._parent: dict[str, str] = {}  # only groups that were merged appear here

    def add(self, content: bytes, group: str) -> None:
        first = self._first_group.setdefault(content, group)
        if first != group:
            self.union(first, group)

    def find(self, group: str) -> str:
        """The representative of `group`'s component: the smallest group id in it."""
        root = group
        while (parent := self._parent.get(root, root)) != root:
            root = parent
        while group != root:  # path compression keeps later finds short
            self._parent[group], group = root, self._parent[group]
        return root

    def union(self, a: str, b: str) -> None:
        """Join the components of groups `a` and `b`."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        # The larger root joins the smaller, so every root is the minimum of its component.
        low, high = (ra, rb) if ra < rb else (rb, ra)
        self._parent[high] = low

    @property
    def merged_groups(self) -> int:
        """Groups that were joined into another group's component."""
        return len(self._parent)
