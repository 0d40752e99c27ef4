"""The base of every config model: unknown keys fail, defaults are validated too."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


def require_unique(names: list[str], what: str) -> None:
    """Raise naming the repeats when `names` (of sources, tasks, ...) are not unique."""
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"{what} names must be unique; repeated: {dup}")
