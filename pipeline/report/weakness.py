"""Where is the model weak: per task, metrics by slice and by closeness to the train split
(leakage strata), and confusion matrices side by side, one column per variant in pipeline order.
Random controls are left out: they answer "did the stage help", not "where is the model weak"."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any, Iterator

from pipeline.report.arms import ITEM_METRICS, MAIN_METRICS, by_arm, first_present
from pipeline.report.html import img, metric, table

STRATA = ("exact", "near", "semantic", "none")  # as pipeline.experiments.leakage, without its imports


def _training(model: dict[str, Any]) -> dict[str, Any]:
    path = Path(model["model_dir"]) / "training.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _slice_rows(training: dict[str, Any]) -> Iterator[tuple[tuple[str, str], dict[str, Any]]]:
    """((slice, value), metrics) of the slices with more than one value: a slice with one value
    is the whole test set again."""
    for slice_kind, values in (training.get("slices") or {}).items():
        if len(values) > 1:
            for value, metrics in values.items():
                yield (slice_kind, str(value)), metrics


def _slices_table(kind: str, arms: dict[str, list[dict[str, Any]]]) -> list[str]:
    """One row per slice value, its metric as the mean over seeds, one column per variant."""
    cells: dict[tuple[str, str], dict[str, list[float]]] = {}
    info: dict[tuple[str, str], tuple[int, str | None]] = {}
    for arm, models in arms.items():
        for m in models:
            for key, metrics in _slice_rows(m["training"]):
                if key not in info:  # the first model names the row's metric: every cell uses it
                    info[key] = (metrics.get("n", 0), first_present(MAIN_METRICS.get(kind, ()) + ITEM_METRICS,
                                                                     metrics))
                name = info[key][1]
                if name and metrics.get(name) is not None:
                    cells.setdefault(key, {}).setdefault(arm, []).append(metrics[name])
    if not info:
        return []
    rows = [[escape(k), escape(v), f"{n:,}", escape(name or ""),
             *(metric(_mean(cells.get((k, v), {}).get(a, []))) for a in arms)] for (k, v), (n, name) in
            sorted(info.items())]
    return ["<h4>Metrics by slice <small class=muted>(mean over seeds)</small></h4>",
            table(["slice", "value", "test items", "metric", *arms], rows, numeric=range(2, 4 + len(arms)))]


def _leakage_table(arms: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Per stratum of closeness to each variant's train split: test items and the metric (for
    the variants the ablation measured it for)."""
    arms = {a: ms for a, ms in arms.items() if any(m.get("leakage") for m in ms)}
    if not arms:
        return []
    first = next(m["leakage"] for ms in arms.values() for m in ms if m.get("leakage"))
    name = first_present(ITEM_METRICS, {k: v for s in first.values() for k, v in s.items() if k != "n"})
    rows = []
    for stratum in STRATA:
        row = [escape(stratum)]
        for models in arms.values():
            strata = [m["leakage"][stratum] for m in models if m.get("leakage")]
            if not strata:
                row.append("")
                continue
            value = _mean([s[name] for s in strata if name and s.get(name) is not None])
            row.append(f"{metric(value)} <span class=muted>(n={strata[0]['n']:,})</span>")
        rows.append(row)
    return [f"<h4>{escape(name or 'metric')} by closeness of the test item to the variant's train split</h4>",
            "<p class=note>exact: equal to a train record; near: character 5-gram Jaccard ≥ 0.7; semantic: "
            "MiniLM cosine ≥ 0.9; none: none of these. A score that rests on exact or near items rests on "
            "memorised ones.</p>", table(["stratum", *arms], rows, numeric=range(1, 1 + len(arms)))]


def _mean_confusion(models: list[dict[str, Any]]) -> tuple[list[str], list[list[float]]] | None:
    """The confusion matrix averaged over seeds (so every variant's cells count test items, with
    one or many seeds), on the union of the seeds' labels."""
    confs = [c for c in (m["training"].get("confusion") for m in models) if c and c.get("labels")]
    if not confs:
        return None
    labels = sorted({lb for c in confs for lb in c["labels"]})
    at = {lb: i for i, lb in enumerate(labels)}
    total = [[0.0] * len(labels) for _ in labels]
    for c in confs:
        for i, row in enumerate(c["matrix"]):
            for j, v in enumerate(row):
                total[at[c["labels"][i]]][at[c["labels"][j]]] += v / len(confs)
    return labels, total


def _confusion_figure(arm: str, labels: list[str], matrix: list[list[float]], vmax: float, seeds: int) -> str:
    from pipeline import plots

    caption = f"{escape(arm)}: " + (f"mean of {seeds} seeds" if seeds > 1 else "one seed")
    return (f"<figure>{img(plots.confusion(arm, labels, matrix, vmax), f'confusion matrix of {arm}')}"
            f"<figcaption>{caption}</figcaption></figure>")


def _confusions(arms: dict[str, list[dict[str, Any]]]) -> list[str]:
    matrices = {a: c for a, ms in arms.items() if (c := _mean_confusion(ms))}
    if not matrices:
        return []
    vmax = max(v for _, m in matrices.values() for row in m for v in row)
    figures = [_confusion_figure(arm, labels, m, vmax, len(arms[arm])) for arm, (labels, m) in matrices.items()]
    return ["<h4>Confusion on the test split <small class=muted>(rows true, columns predicted; "
            "one colour scale)</small></h4>", "<div class=grid>", *figures, "</div>"]


def weakness_section(models: list[dict[str, Any]], order: list[str]) -> list[str]:
    """`models`: the run's models of every task; `order`: arm names in pipeline order."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for m in models:  # variants are compared on one test split only
        if m["role"] == "variant":
            groups.setdefault((m["task"], m["test_fingerprint"]), []).append(m)
    parts, plain = [], []
    for (task, test), task_models in groups.items():
        arms = by_arm([{**m, "training": _training(m)} for m in task_models], order)  # each file read once
        found = _slices_table(task_models[0]["kind"], arms) + _leakage_table(arms) + _confusions(arms)
        if not found:
            plain.append(task)
            continue
        parts += [f"<h3>{escape(task)} <small class=muted>test split {escape(test[:12])}, "
                  f"{task_models[0]['n_test']:,} items</small></h3>", *found]
    if not groups:
        return []
    if plain:
        parts.append(f"<p class=note>Nothing to break down for {escape(', '.join(dict.fromkeys(plain)))}: its test "
                     "split has one source and one origin, no leakage strata (measured by the ablation only) and "
                     "no confusion matrix (generation tasks have none).</p>")
    return ["<h2 id=weak>Where is the model weak?</h2>", *parts]
