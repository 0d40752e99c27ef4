"""Progress bars for long stages, shared by the CLI and the Prefect flow."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

ProgressFactory = Callable[[str, "int | None"], Callable[[int], None]]


@contextmanager
def rich_progress() -> Iterator[ProgressFactory]:
    """A factory of per-stage progress callbacks drawing rich bars on stderr."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True)) as progress:
        def factory(stage: str, total: int | None) -> Callable[[int], None]:
            task = progress.add_task(stage, total=total)
            return lambda n: progress.advance(task, n)

        yield factory
