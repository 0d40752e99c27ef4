"""Did each stage help: per task and metric, every variant in pipeline order with its interval,
beside its random control, each stage's paired differences with verdicts, and training cost."""

from __future__ import annotations

from html import escape
from typing import Any

from pipeline.report.arms import CONTROL_SUFFIX, ITEM_METRICS, arm_order, first_present
from pipeline.report.html import count, img, interval, seconds, table, verdict


def _cost(e: dict[str, Any]) -> str:
    return f"<span class=iv>{seconds(e['train_seconds'])}, {e['train_tokens']:,} tokens</span>"


def _difference(d: dict[str, Any] | None, name_other: bool = True) -> str:
    if not d:
        return ""
    other = f" <span class=muted>vs {escape(d['other'])}</span>" if name_other else ""
    return f"{interval(d['value'], d['low'], d['high'], signed=True)}{other}<br>{verdict(d['verdict'])}"


def _metric_table(rows: dict[str, dict[str, Any]], order: list[str]) -> str:
    """One row per variant; its random control's estimate and cost in the cells beside it."""
    body = []
    for arm in order:
        e = rows.get(arm)
        if e is None or e["role"] != "variant":
            continue
        control = rows.get(arm + CONTROL_SUFFIX)
        control_cell = "" if control is None else (
            f"{interval(control['value'], control['low'], control['high'])}"
            f"<br><span class=muted>{_cost(control)}</span>")
        body.append([escape(arm), count(e["n_train"]), interval(e["value"], e["low"], e["high"]), control_cell,
                     _difference(e["vs_previous"]), _difference(e["vs_control"], name_other=False),
                     f"{seconds(e['train_seconds'])}<br><small>{e['train_tokens']:,} tokens</small>"])
    return table(["variant", "train records", "mean [interval]", "random control (same size)",
                  "effect vs previous variant", "effect vs random control", "train cost"], body, numeric=(1, 6))


def _glance(task: str, metric: str, rows: dict[str, dict[str, Any]], order: list[str]) -> list[list[str]]:
    """Per stage of a task, on its main metric: the verdicts against the variant before it and
    against its random control."""
    out = []
    for arm in order:
        e = rows.get(arm)
        if e and e["role"] == "variant" and e["vs_previous"]:
            out.append([escape(task), escape(metric), escape(arm), escape(e["vs_previous"]["other"]),
                        *(f"{verdict(d['verdict'])} <span class=iv>{d['value']:+.3f}</span>" if d else "–"
                          for d in (e["vs_previous"], e["vs_control"]))])
    return out


def _glance_table(tasks: dict[str, list[dict[str, Any]]], orders: dict[str, list[str]]) -> list[str]:
    rows = []
    for task, effects in tasks.items():
        by_metric = _by_metric(effects)
        rows += _glance(task, _plotted(by_metric), by_metric[_plotted(by_metric)], orders[task])
    return ["<h3>At a glance</h3>", table(["task", "metric", "variant", "previous variant", "vs previous variant",
                                           "vs random control"], rows)]


def _by_metric(effects: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for e in effects:
        out.setdefault(e["metric"], {})[e["variant"]] = e
    return out


def _plotted(by_metric: dict[str, Any]) -> str:
    return first_present(ITEM_METRICS, by_metric) or next(iter(by_metric))


def _task_effects(task: str, effects: list[dict[str, Any]], order: list[str]) -> list[str]:
    from pipeline import plots
    from pipeline.experiments.stats import METRICS

    by_metric = _by_metric(effects)
    parts = [f"<h3>{escape(task)}</h3>"]
    plotted = _plotted(by_metric)
    arms = [by_metric[plotted][a] for a in order if a in by_metric[plotted]]
    confidence = arms[0]["confidence"]
    parts.append(img(plots.effects_forest(task, plotted, arms, confidence), f"{task}: {plotted} per variant"))
    for name, rows in by_metric.items():
        metric = METRICS.get(name)
        better = None if metric is None else "higher" if metric.higher_is_better else "lower"
        parts.append(f"<h4>{escape(task)}: {escape(name)}" + (f" <small class=muted>({better} is better)</small>"
                                                             if better else "") + "</h4>")
        parts.append(_metric_table(rows, order))
    return parts


def effects_section(effects: list[dict[str, Any]], config: dict[str, Any] | None) -> list[str]:
    """The ablation's verdicts; empty when the run had no ablation with intervals."""
    if not effects:
        return []
    first = effects[0]
    parts = ["<h2 id=effects>Did each stage help?</h2>",
             f"<p class=note>Each variant is the data as it stood after one stage, trained {first['n_seeds']} times "
             f"(seeds) and scored on one fixed test split: its mean with a {first['confidence']:.0%} interval "
             "(bootstrap over test items and seeds). A stage's effect is its variant minus the variant before "
             "it, and minus its random control: the earlier variant cut at random to the same size (topped up "
             "with repeats where the stage adds records), which asks whether the stage chose its records "
             "better than chance. Differences are paired by test item and seed. "
             "<span class='v helps'>helps</span> and <span class='v hurts'>hurts</span> need an interval "
             "that excludes zero; otherwise <span class='v unclear'>can't tell at this size</span>.</p>"]
    tasks: dict[str, list[dict[str, Any]]] = {}
    for e in effects:
        tasks.setdefault(e["task"], []).append(e)
    orders = {task: arm_order(config, rows, [e["variant"] for e in rows]) for task, rows in tasks.items()}
    parts += _glance_table(tasks, orders)
    for task, rows in tasks.items():
        parts += _task_effects(task, rows, orders[task])
    return parts
