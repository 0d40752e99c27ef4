"""The executor interface: run `fn(shared, item)` for many items somewhere, and report each result."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, Iterator

ShardFn = Callable[[Any, Any], Any]


class ExecutorError(RuntimeError):
    """The executor itself failed (a scheduler out of reach), not a stage."""


class Executor(ABC):
    name: str

    @abstractmethod
    def map(self, fn: ShardFn, items: list[Any], shared: Any, resources: dict[str, float] | None = None,
            label: str = "task") -> Iterator[tuple[int, Any]]:
        """(index, fn(shared, item)) for every item, as they complete. `shared` is sent to each
        worker once; `fn` must be importable by workers (a module-level function)."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}

    def close(self) -> None:
        """Release workers and clusters this executor started."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
