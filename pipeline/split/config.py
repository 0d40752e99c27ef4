"""The split stage's configuration: ratios, the hashing key, and held-out reference sets.

Checked at construction like every config here: ratios that do not sum to 1, a key blake2b
cannot take, or a reference set that names unknown fields fail before any record is read.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from pipeline.config_base import Strict, require_unique
from pipeline.reference_source import ReferenceSource

SPLITS: tuple[str, ...] = ("train", "validation", "test")
# What "the same content" means per kind, for duplicate merging, leakage and reference matching:
# the input side of a pair, not the answer (two prompts that agree leak whatever the responses).
DEFAULT_COMPARED: dict[str, tuple[str, ...]] = {
    "classification": ("text",),
    "instruction": ("prompt",),
    "code": ("prompt", "code"),
}
_RATIO_TOLERANCE = 1e-6


class SplitRatios(Strict):
    train: float = Field(default=0.8, ge=0, le=1)
    validation: float = Field(default=0.1, ge=0, le=1)
    test: float = Field(default=0.1, ge=0, le=1)

    @model_validator(mode="after")
    def _sum_to_one(self) -> "SplitRatios":
        total = self.train + self.validation + self.test
        if abs(total - 1.0) > _RATIO_TOLERANCE:
            raise ValueError(
                f"split ratios must sum to 1, got {total:g} "
                f"(train {self.train:g} + validation {self.validation:g} + test {self.test:g})"
            )
        return self

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in SPLITS}


class ReferenceSet(ReferenceSource):
    """A held-out benchmark: input records that copy or nearly copy one of its records are removed."""

    near_threshold: float = Field(
        # Leaving a benchmark item in training costs more than dropping a training record, so
        # the default leans to recall: two words changed in a 30-word text still score ~0.44-0.63.
        default=0.5, gt=0, le=1, description="Jaccard similarity of word 5-gram shingles that counts as a copy"
    )

    def compared(self) -> tuple[str, ...]:
        return self.compared_or(DEFAULT_COMPARED[self.kind])


class SplitConfig(Strict):
    ratios: SplitRatios = Field(default_factory=SplitRatios)
    key: str = Field(
        default="curate-split-v1", min_length=1,
        description="salt of the keyed hash; changing it reshuffles every split",
    )
    stratify: bool = Field(
        default=True,
        description="guarantee every label with >= 3 groups a group in train and in test"
        " (per-label counts are reported either way)",
    )
    merge_exact_duplicates: bool = Field(
        default=True, description="put records with identical compared content into one group first"
    )
    reference_sets: list[ReferenceSet] = Field(default_factory=list)
    augmented_in_eval: bool = Field(
        default=False, description="false: augmented records of validation/test families are rejected"
        " (augmented_held_out), so held-out splits hold original records only")
    measure_near_leakage: bool = Field(
        default=True, description="also count held-out records with a near duplicate (MinHash) in train"
    )
    near_leakage_threshold: float = Field(default=0.7, gt=0, lt=1, description="estimated Jaccard of character 5-grams")

    @field_validator("key")
    @classmethod
    def _key_fits_blake2b(cls, v: str) -> str:
        if len(v.encode()) > 64:
            raise ValueError(f"key is {len(v.encode())} bytes; blake2b keys are at most 64")
        return v

    @field_validator("reference_sets")
    @classmethod
    def _unique_names(cls, v: list[ReferenceSet]) -> list[ReferenceSet]:
        require_unique([r.name for r in v], "reference set")
        return v
