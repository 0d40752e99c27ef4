"""The base of every config model: unknown keys fail, defaults are validated too."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


def require_unique(names: list[str], what: str) -> None:
    """Raise naming the repeats when `names` (of sources, tasks, ...) are not unique."""
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"{what} names must be unique; repeated: {dup}")


class Threshold(Strict):
    """A filter's switch and bounds; the score is computed and kept whether or not it decides."""

    enabled: bool = True
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "Threshold":
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} > max {self.max}")
        return self
