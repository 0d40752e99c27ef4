"""The augmenter contract: a batch of strings in, one `Edit` per string out.

An augmenter knows nothing of records, gates or lineage: the augmentation stage picks the
fields to change, calls `augment` on a whole batch (so a model or a translator subprocess
is used once per batch, not once per record), and turns each `Edit` into a candidate
record. A seed per input makes every output reproducible whatever the batch it falls in.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass
class Edit:
    """One augmenter output: the new text, or None with the reason nothing usable came out."""

    text: str | None
    params: dict[str, Any] = field(default_factory=dict)  # what was done, e.g. {"swaps": 3}
    reason: str | None = None  # set when text is None: no_candidates, protected_span_lost, ...

    @classmethod
    def failed(cls, reason: str, **params: Any) -> "Edit":
        return cls(None, dict(params), reason)


class Augmenter(ABC):
    """A batch text transformation. Subclasses set `name`; heavy state loads in `setup`."""

    name: ClassVar[str]

    def setup(self) -> None:
        """Load models, taggers or dictionaries once, before the first batch."""

    @abstractmethod
    def augment(self, texts: list[str], seeds: list[int]) -> list[Edit]:
        """One Edit per text, in order; the same (text, seed) always gives the same Edit."""
