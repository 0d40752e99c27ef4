"""Augmentation settings: which augmenters touch which fields of which kinds, the gates, the budget.

Each augmenter's own parameters (`params`) are checked against that method's config model at
construction, so a misspelt rate fails before any record is read.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from pipeline.config_base import Strict, Threshold, require_unique
from pipeline.records import CONTENT_FIELDS

Kind = Literal["classification", "instruction", "code"]
Method = Literal["back_translation", "synonym", "random_insert", "random_delete", "random_swap",
                 "rename_identifiers", "remove_comments", "add_docstring", "refactor", "add_comments"]
CODE_METHODS = frozenset({"rename_identifiers", "remove_comments", "add_docstring", "refactor", "add_comments"})
# The input side by default: paraphrasing a prompt multiplies the ways a task is asked while
# its answer stays correct; a rewritten response could drift from what was asked.
DEFAULT_TEXT_FIELDS: dict[str, list[str]] = {"classification": ["text"], "instruction": ["prompt"]}

# method -> (module, augmenter class, params model or None)
METHODS: dict[str, tuple[str, str, str | None]] = {
    "back_translation": ("pipeline.augment.translate", "BackTranslator", "BackTranslationConfig"),
    "synonym": ("pipeline.augment.words", "SynonymAugmenter", "SynonymConfig"),
    "random_insert": ("pipeline.augment.words", "RandomWordAugmenter", "RandomWordConfig"),
    "random_delete": ("pipeline.augment.words", "RandomWordAugmenter", "RandomWordConfig"),
    "random_swap": ("pipeline.augment.words", "RandomWordAugmenter", "RandomWordConfig"),
    "rename_identifiers": ("pipeline.augment.code_ops", "RenameAugmenter", None),
    "remove_comments": ("pipeline.augment.code_ops", "RemoveCommentsAugmenter", None),
    "add_docstring": ("pipeline.augment.code_ops", "AddDocstringAugmenter", None),
    "refactor": ("pipeline.augment.refactor.augmenter", "RefactorAugmenter", "RefactorParams"),
    "add_comments": ("pipeline.augment.comments", "AddCommentsAugmenter", "CommentParams"),
}
# Where a method's params model lives when not beside its augmenter (so a config loads without libcst).
PARAMS_MODULES = {"refactor": "pipeline.augment.refactor.params"}


class AugmenterConfig(Strict):
    method: Method
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.\-]+$", description="default: the method")
    kinds: list[Kind] | None = Field(default=None, description="default: code methods code, the others text kinds")
    fields: dict[str, list[str]] | None = Field(
        default=None, description="per kind, the fields changed (default: text / prompt / code)")
    copies: int = Field(default=1, ge=0, le=100, description="candidates made per record (before gates)")
    params: dict[str, Any] = Field(default_factory=dict, description="the method's own settings")

    @model_validator(mode="after")
    def _resolve(self) -> "AugmenterConfig":
        code = self.method in CODE_METHODS
        self.name = self.name or self.method
        self.kinds = self.kinds or (["code"] if code else ["classification", "instruction"])
        if code and self.kinds != ["code"]:
            raise ValueError(f"{self.method} changes code: kinds must be [code]")
        fields = self.fields or {}
        for kind in fields:
            if kind not in self.kinds:
                raise ValueError(f"fields given for kind {kind!r}, which is not in kinds {self.kinds}")
        resolved = {}
        for kind in self.kinds:
            chosen = fields.get(kind) or (["code"] if code else DEFAULT_TEXT_FIELDS.get(kind, ["prompt"]))
            allowed = ["code"] if code else [f for f in CONTENT_FIELDS[kind] if f not in ("label", "language", "code")]
            bad = sorted(set(chosen) - set(allowed))
            if bad:
                raise ValueError(f"{self.method} cannot change {bad} of {kind} records; allowed: {allowed}")
            resolved[kind] = list(chosen)
        self.fields = resolved
        self.params = self.params_model().model_dump(mode="json")
        return self

    def params_model(self) -> Any:
        module, _, model = METHODS[self.method]
        params = dict(self.params)
        if self.method.startswith("random_"):
            params.setdefault("action", self.method.removeprefix("random_"))
            if params["action"] != self.method.removeprefix("random_"):
                raise ValueError(f"{self.method}: params.action must be {self.method.removeprefix('random_')!r}")
        if model is None:
            from pipeline.augment.code_ops import CodeParams

            return CodeParams.model_validate(params)
        return getattr(import_module(PARAMS_MODULES.get(self.method, module)), model).model_validate(params)


class TextBand(Threshold):
    kinds: list[Kind] = Field(default_factory=lambda: ["classification", "instruction"],
                              description="code is gated by its own checks (parses, alpha-equivalence, tests):"
                              " a restored docstring may well double a function's length")


class SimilarityGate(TextBand):
    # Below 0.70 MiniLM finds the meaning changed; at 0.99 and above nothing was gained.
    min: float | None = 0.70
    max: float | None = 0.99
    model: str | None = Field(default=None, description="sentence-transformers id or folder; default offline MiniLM")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    batch_size: int = Field(default=256, ge=1)


class DuplicateGate(Strict):
    enabled: bool = True
    near_threshold: float = Field(default=0.7, gt=0, lt=1, description="estimated Jaccard of character 5-grams")


class LabelGate(Strict):
    enabled: bool = False
    model: str | None = Field(default=None, description="a trained classifier folder (a train task's model_dir)")
    batch_size: int = Field(default=64, ge=1)
    max_length: int = Field(default=256, ge=8)

    @model_validator(mode="after")
    def _model_when_enabled(self) -> "LabelGate":
        if self.enabled and not self.model:
            raise ValueError("the label gate needs `model`: the folder of a trained classifier")
        return self


class CodeGates(Strict):
    parses: bool = True
    alpha_equivalent: bool = Field(default=True, description="renames must leave the tree the same up to names")
    equivalent: bool = Field(default=True, description="a refactoring, undone by its inverse on both sides, must "
                             "leave the same syntax tree")
    tests: bool = Field(default=True, description="run the record's tests (meta test + entry_point) when it has them")
    test_timeout_s: float = Field(default=10.0, gt=0)


class GatesConfig(Strict):
    similarity: SimilarityGate = Field(default_factory=SimilarityGate)
    length_ratio: TextBand = Field(default_factory=lambda: TextBand(min=0.5, max=2.0))
    duplicates: DuplicateGate = Field(default_factory=DuplicateGate)
    label: LabelGate = Field(default_factory=LabelGate)
    code: CodeGates = Field(default_factory=CodeGates)


class BudgetConfig(Strict):
    max_per_record: int | None = Field(default=None, ge=0, description="kept outputs per parent, all augmenters")
    label_multipliers: dict[str, float] = Field(
        default_factory=dict, description="label -> factor on `copies` (0 leaves the label alone)")
    balance: bool = Field(default=False, description="augment smaller labels towards the largest")
    balance_target: float = Field(default=1.0, gt=0, le=1, description="of the largest label's count")

    @model_validator(mode="after")
    def _one_mode(self) -> "BudgetConfig":
        if self.balance and self.label_multipliers:
            raise ValueError("use balance or label_multipliers, not both: balance sets each label's count itself")
        return self

    @field_validator("label_multipliers")
    @classmethod
    def _non_negative(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: x for k, x in v.items() if x < 0}
        if bad:
            raise ValueError(f"label multipliers must be >= 0: {bad}")
        return v


class AugmentConfig(Strict):
    enabled: bool = Field(default=False, description="run the augment step (between dedup and split)")
    augmenters: list[AugmenterConfig] = Field(default_factory=list)
    gates: GatesConfig = Field(default_factory=GatesConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    seed: int = Field(default=0, ge=0)

    @field_validator("augmenters")
    @classmethod
    def _unique_names(cls, v: list[AugmenterConfig]) -> list[AugmenterConfig]:
        require_unique([a.name or a.method for a in v], "augmenter")
        return v

    @model_validator(mode="after")
    def _something_to_do(self) -> "AugmentConfig":
        if self.enabled and not self.augmenters:
            raise ValueError("augment is enabled but no augmenters are configured")
        return self
