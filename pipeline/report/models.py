"""The models a run trained: one row per variant (seeds aggregated) with real columns, the SFT
token accounting, and the task's metric across the runs scored on the same test split."""

from __future__ import annotations

from html import escape
from typing import Any

from pipeline.report.arms import MAIN_METRICS, by_arm, by_task, main_metric
from pipeline.report.html import count, img, seconds, table


def _spread(values: list[float]) -> str:
    """The mean over seeds, and the lowest and highest seed when there are several."""
    if not values:
        return "–"
    mean = f"{sum(values) / len(values):.3f}"
    return mean if len(values) == 1 else f"{mean}<br><small class=muted>{min(values):.3f}–{max(values):.3f}</small>"


def _row(arm: str, seeds: list[dict[str, Any]], names: list[str]) -> list[str]:
    """One arm: what it trained on, each metric over its seeds, the baseline and the cost."""
    first = seeds[0]
    base = next((main_metric(first["kind"], m["baseline_metrics"]) for m in seeds if m["baseline_metrics"]), None)
    metrics = [_spread([m["metrics"][n] for m in seeds if m["metrics"].get(n) is not None]) for n in names]
    return [escape(arm), str(len(seeds)), f"<code>{escape(first['data_version'][:8])}</code>",
            count(first["n_train"]), count(first["n_validation"]), count(first["n_test"]),
            count(first["leakage_removed"]), *metrics, f"{base[1]:.3f}" if base else "",
            seconds(sum(m["train_seconds"] or 0 for m in seeds)), count(sum(m["train_tokens"] or 0 for m in seeds))]


def _task_table(models: list[dict[str, Any]], order: list[str]) -> str:
    names = [n for n in MAIN_METRICS.get(models[0]["kind"], ()) if any(m["metrics"].get(n) is not None
                                                                       for m in models)]
    arms = by_arm(models, order)
    rows = [_row(arm, seeds, names) for arm, seeds in arms.items()]
    classes = ["control" if seeds[0]["role"] == "random_control" else "" for seeds in arms.values()]
    header = ["variant", "seeds", "data version", "train", "val", "test", "leaks removed", *names,
              f"TF-IDF + LR ({names[0]})" if names else "TF-IDF + LR", "train time", "train tokens"]
    return table(header, rows, numeric=[1, *range(3, len(header))], row_classes=classes)


def _tokens(models: list[dict[str, Any]]) -> list[str]:
    """SFT token accounting per data version and split, by source, and training warnings."""
    rows, warnings, seen = [], [], set()
    share = lambda v: "–" if v is None else f"{v:.1%}"  # noqa: E731
    for m in models:
        warnings += [f"{escape(m['task'])} / {escape(m['variant'])}: {escape(w)}" for w in m.get("warnings") or []]
        if not m.get("tokens") or (m["task"], m["data_version"]) in seen:
            continue
        seen.add((m["task"], m["data_version"]))  # seeds share their data
        for split, c in m["tokens"].items():
            by_source = c.get("by_source", {})
            for source, s in [("all", c), *(by_source.items() if len(by_source) > 1 else [])]:
                rows.append([escape(m["task"]), escape(m["variant"]), escape(split), escape(source),
                             count(s["records"]), f"{(s['tokens_per_record'] or 0):.0f}", share(s["truncated_share"]),
                             share(s["loss_token_share"])])
    parts = []
    if rows:
        parts += ["<h3>Tokens under the model's tokenizer and chat template</h3>",
                  table(["task", "variant", "split", "source", "records", "tokens/record", "truncated",
                         "loss tokens"], rows, numeric=range(4, 8))]
    if warnings:
        parts += ["<h3>Training warnings</h3><ul>", *(f"<li>{w}</li>" for w in dict.fromkeys(warnings)), "</ul>"]
    return parts


def _history(task: str, run_models: list[dict[str, Any]], all_models: list[dict[str, Any]]) -> list[str]:
    """The task's main metric per run and variant on this run's test split, when other runs
    were scored on it too (the ablation's own comparison is the effects section's)."""
    from pipeline import plots

    test = run_models[-1]["test_fingerprint"]
    points: dict[tuple[str, str], dict[str, Any]] = {}
    for m in all_models:
        mm = main_metric(m["kind"], m["metrics"])
        if m["task"] != task or m["test_fingerprint"] != test or m["role"] != "variant" or not mm:
            continue
        p = points.setdefault((m["run_id"], m["variant"]), {"label": f"{m['run_id'][:15]}  {m['variant']}  "
                                                                   f"n={m['n_train']:,}", "values": []})
        p["values"].append(mm[1])
        base = main_metric(m["kind"], m["baseline_metrics"] or {})
        p["baseline"] = p.get("baseline") or (base[1] if base else None)
        p["metric"] = mm[0]
    if len({run for run, _ in points}) < 2:
        return []
    for p in points.values():
        p["value"] = sum(p["values"]) / len(p["values"])
    ordered = list(points.values())
    return [img(plots.metric_history(task, ordered[0]["metric"], ordered), f"{task}: metric per run")]


def models_section(run_models: list[dict[str, Any]], all_models: list[dict[str, Any]],
                   order: list[str]) -> list[str]:
    if not run_models:
        return []
    parts = ["<h2 id=models>Models</h2><p class=note>One row per variant (grey: random controls); a metric is "
             "the mean over its seeds (lowest–highest seed) on the test split; train time and tokens add up the "
             "seeds; leaks removed: train records dropped for equalling a validation or test record. "
             "TF-IDF + LR: a linear baseline on the same split.</p>"]
    for task, models in by_task(run_models).items():
        parts += [f"<h3>{escape(task)} <small class=muted>{escape(models[0]['kind'])}, "
                  f"{escape(models[0]['model_name'])}</small></h3>", _task_table(models, order)]
        parts += _history(task, models, all_models)
    return parts + _tokens(run_models)
