"""The refactor augmenter's settings (kept apart from the rewrites, so a config loads without libcst)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from pipeline.config_base import Strict

REWRITE_NAMES = (
    "loop_to_comprehension", "comprehension_to_loop", "if_to_conditional", "conditional_to_if", "guard_clause",
    "nested_if", "augmented_assignment", "expanded_assignment", "negated_operator", "negation", "len_to_truth",
    "truth_to_len", "format_to_fstring", "fstring_to_format", "percent_to_format", "format_to_percent",
    "extract_subexpression", "inline_variable",
)


class RefactorParams(Strict):
    rewrites: list[str] = Field(
        default_factory=lambda: list(REWRITE_NAMES),
        description="the rewrites a copy may use; each copy takes the first, in an order drawn from its seed, "
                    "that applies somewhere")
    sites: Literal["all", "one"] = Field(default="all", description="rewrite every proven site, or one drawn "
                                                                    "from the seed")

    @field_validator("rewrites")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        unknown = sorted(set(v) - set(REWRITE_NAMES))
        if unknown or not v:
            raise ValueError(f"unknown rewrites {unknown}; known: {', '.join(REWRITE_NAMES)}" if unknown
                             else "rewrites must name at least one rewrite")
        return list(dict.fromkeys(v))
