"""Which models a report compares, and in which order: the pipeline's, never the catalog's.

An ablation's variants are named in its config in the order of the pipeline's stages (raw,
cleaned, deduped, augmented); each random control sits right after the variant it is matched
to. Models outside the ablation (the plain training of the current data) come last.
"""

from __future__ import annotations

from typing import Any

CONTROL_SUFFIX = "~random"
# The metric that summarises a model of each kind; the first one present is used.
MAIN_METRICS = {"classification": ("macro_f1", "accuracy"),
                "instruction": ("rouge_l", "exact_match", "perplexity"),
                "code": ("code_pass_rate", "rouge_l", "exact_match", "perplexity")}

# The same preference among the metrics computed from per-item test outputs (effects, leakage).
ITEM_METRICS = ("macro_f1", "code_pass_rate", "rouge_l", "exact_match", "accuracy", "test_perplexity")


def first_present(names: tuple[str, ...], values: dict[str, Any]) -> str | None:
    return next((n for n in names if values.get(n) is not None), None)


def main_metric(kind: str, metrics: dict[str, Any]) -> tuple[str, float] | None:
    for name in MAIN_METRICS.get(kind, ()):
        if metrics.get(name) is not None:
            return name, float(metrics[name])
    return None


def control_of(arm: str) -> str | None:
    """The variant a random-control arm is matched to; None for a variant."""
    return arm.removesuffix(CONTROL_SUFFIX) if arm.endswith(CONTROL_SUFFIX) else None


def _configured(config: dict[str, Any] | None) -> list[str]:
    ablation = (config or {}).get("ablation") or {}
    return [v["name"] for v in ablation.get("variants") or []]


def _chained(effects: list[dict[str, Any]]) -> list[str]:
    """Variants in the order their `vs_previous` links them (when the run's config is gone)."""
    previous = {e["variant"]: (e["vs_previous"] or {}).get("other") for e in effects if e["role"] == "variant"}
    following = {p: v for v, p in previous.items() if p is not None}
    start = [v for v, p in previous.items() if p is None]
    order = start[:1]
    while order and order[-1] in following and following[order[-1]] not in order:
        order.append(following[order[-1]])
    return order


def arm_order(config: dict[str, Any] | None, effects: list[dict[str, Any]], arms: list[str]) -> list[str]:
    """`arms` (variant and control names) in pipeline order, each control after its variant."""
    known = list(dict.fromkeys(arms))
    spine = [a for a in _configured(config) or _chained(effects) if a in known]
    spine += [a for a in known if a not in spine and control_of(a) is None]
    order = []
    for variant in spine:
        order.append(variant)
        if variant + CONTROL_SUFFIX in known:
            order.append(variant + CONTROL_SUFFIX)
    return order + [a for a in known if a not in order]  # controls of variants no model has


def by_arm(models: list[dict[str, Any]], order: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The models of each arm (its seeds, in seed order), arms in `order`."""
    out: dict[str, list[dict[str, Any]]] = {a: [] for a in order}
    for m in sorted(models, key=lambda m: m["seed"]):
        out.setdefault(m["variant"], []).append(m)
    return {a: ms for a, ms in out.items() if ms}


def by_task(models: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for m in models:
        out.setdefault(m["task"], []).append(m)
    return out
