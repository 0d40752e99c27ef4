"""The translator interface that back-translation's backends (apertium.py, marian.py) implement."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field


@dataclass
class Translations:
    """One translator call's outputs, in input order, with what happened on the way."""

    texts: list[str]
    truncated: list[bool] = field(default_factory=list)  # the input was cut to max_length
    fallback: bool = False  # the batch mapping broke and records were retranslated one by one

    def __post_init__(self) -> None:
        if not self.truncated:
            self.truncated = [False] * len(self.texts)


class Translator(ABC):
    """Translates a batch of texts in one direction; outputs map 1:1, in order, to inputs."""

    @abstractmethod
    def run(self, texts: list[str]) -> Translations:
        """The translations and per-record details (truncation, fallback)."""

    def translate(self, texts: list[str]) -> list[str]:
        return self.run(texts).texts
