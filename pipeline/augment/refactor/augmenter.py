"""The refactor augmenter: one semantics-preserving rewrite per copy, chosen by the seed."""

from __future__ import annotations

import random
from typing import Any

import libcst as cst

from pipeline.augment.code_ops import CodeAugmenter
from pipeline.augment.refactor.base import run_rewrite
from pipeline.augment.refactor.facts import Facts
from pipeline.augment.refactor.params import RefactorParams
from pipeline.augment.refactor.registry import REWRITES


class RefactorAugmenter(CodeAugmenter):
    """Tries the configured rewrites in an order drawn from the seed and keeps the first that
    rewrites at least one site. When none can, the copy fails with the first refusal's reason
    (`refused:<rewrite>:<reason>`), or `no_site` when no pattern matched at all."""

    name = "refactor"

    def __init__(self, params: RefactorParams | None = None):
        self.params = params or RefactorParams()

    def edit(self, source: str, seed: int, prompt: str | None) -> tuple[str, dict[str, Any]]:
        facts = Facts(cst.parse_module(source))
        order = list(self.params.rewrites)
        random.Random(seed).shuffle(order)
        refusals: list[tuple[str, int, str]] = []
        for name in order:
            try:
                result = run_rewrite(facts, REWRITES[name], seed, self.params.sites)
            except (cst.CSTValidationError, cst.CSTLogicError) as exc:
                # A rewrite that built an invalid tree: a bug to report, not a reason to stop the run.
                refusals.append((name, 0, f"rewrite_error:{type(exc).__name__}"))
                continue
            refusals += [(name, line, why) for line, why in result.refused]
            if result.applied:
                return result.source, {"rewrite": name, "lines": result.applied,
                                       "refused": [f"{n}:{line}:{why}" for n, line, why in refusals]}
        if refusals:
            name, line, why = refusals[0]
            return source, {"_unchanged": f"refused:{name}:{why}",
                            "refused": [f"{n}:{ln}:{w}" for n, ln, w in refusals]}
        return source, {"_unchanged": "no_site"}
