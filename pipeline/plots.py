"""Figures for the run report, as PNG data URIs (the page stays one self-contained file).

Every chart with one row per stage, reason or arm is horizontal and grows in height with its
rows, so labels never overlap however many there are.
"""

from __future__ import annotations

import base64
import io
from typing import Any

KEPT, REJECTED, IN, VARIANT, CONTROL, BASELINE = "#4a7", "#c54", "#222", "#2a5caa", "#888", "#e90"
VERDICT_COLOURS = {"helps": "#2e7d32", "hurts": "#c62828"}
ROW_INCHES = 0.36  # per bar: room for a 9-point label


def _figure(width: float = 7.0, height: float = 3.2, ncols: int = 1, **kw):
    import matplotlib

    matplotlib.use("Agg")  # no display here, nor in scheduled runs
    import matplotlib.pyplot as plt

    return plt.subplots(1, ncols, figsize=(width, height), dpi=100, **kw)


def _data_uri(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def rows_height(n: int, extra: float = 1.2) -> float:
    """Figure height (inches) for `n` horizontal rows plus title and axis."""
    return ROW_INCHES * max(n, 1) + extra


def stage_funnel(stages: list[dict[str, Any]]) -> str:
    """Per stage (top to bottom in pipeline order) kept and rejected records, stacked, with a tick
    at the records that came in: a bar past the tick is what the stage generated."""
    fig, ax = _figure(9.0, rows_height(len(stages)))
    y = range(len(stages))
    kept = [s["kept"] for s in stages]
    ax.barh(y, kept, color=KEPT, label="kept")
    ax.barh(y, [s["rejected"] for s in stages], left=kept, color=REJECTED, label="rejected")
    for i, s in enumerate(stages):
        ax.plot([s["in"]] * 2, [i - 0.42, i + 0.42], color=IN, lw=1.6, label="records in" if i == 0 else None)
        note = f"{s['kept']:,} kept, {s['rejected']:,} rejected" + (f", {s['generated']:,} generated"
                                                                      if s["generated"] else "")
        ax.annotate(note, (s["kept"] + s["rejected"], i), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=8)
    ax.set_yticks(list(y), [s["stage"] for s in stages], fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, max((s["kept"] + s["rejected"] for s in stages), default=1) * 1.6)  # room for the notes
    ax.set_xlabel("records")
    # Above the bars, not over them: a legend inside the axes hides some stage's note.
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3, fontsize=8, frameon=False)
    ax.set_title("Where did records go: kept and rejected per stage", pad=20)
    return _data_uri(fig)


def reject_reasons(reasons: list[tuple[str, int]], top: int = 15) -> str:
    """The most frequent reject reasons over all stages (labels `stage: reason`)."""
    items = sorted(reasons, key=lambda kv: -kv[1])[:top]
    fig, ax = _figure(9.0, rows_height(len(items)))
    ax.barh(range(len(items)), [n for _, n in items], color=REJECTED)
    for i, (_, n) in enumerate(items):
        ax.annotate(f"{n:,}", (n, i), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
    ax.set_yticks(range(len(items)), [r for r, _ in items], fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, max((n for _, n in items), default=1) * 1.15)
    ax.set_xlabel("records rejected")
    ax.set_title(f"Top {len(items)} reject reasons, all stages")
    return _data_uri(fig)


def length_histograms(lengths: dict[str, list[float]]) -> str:
    """Distribution of record length (characters) per record kind, log-scaled bins."""
    import numpy as np

    fig, ax = _figure()
    values = [v for vs in lengths.values() for v in vs if v and v > 0]
    if values:
        bins = np.logspace(0, np.log10(max(values)) + 0.1, 40)
        for kind, vs in sorted(lengths.items()):
            ax.hist([v for v in vs if v and v > 0], bins=bins, alpha=0.55, label=f"{kind} (n={len(vs):,})")
        ax.set_xscale("log")
        ax.legend()
    ax.set_xlabel("characters")
    ax.set_ylabel("records")
    ax.set_title("Record length after cleaning")
    return _data_uri(fig)


def _interval_row(ax, y: float, e: dict[str, Any], colour: str, marker: str) -> None:
    ax.errorbar([e["value"]], [y], xerr=[[e["value"] - e["low"]], [e["high"] - e["value"]]], fmt=marker,
                color=colour, mfc=colour if marker == "o" else "white", ms=7, capsize=3)


def effects_forest(task: str, metric: str, arms: list[dict[str, Any]], confidence: float) -> str:
    """Left: each arm's mean with its interval, in pipeline order, controls (hollow diamonds) right
    under their variant. Right: each stage's difference to the variant before it and to its
    random control, coloured by verdict, against a line at zero."""
    fig, (left, right) = _figure(10.0, rows_height(len(arms), 1.6), ncols=2, sharey=True)
    for y, e in enumerate(arms):
        control = e["role"] == "random_control"
        _interval_row(left, y, e, CONTROL if control else VARIANT, "D" if control else "o")
        for dy, key, marker in ((-0.14, "vs_previous", "o"), (0.14, "vs_control", "D")):
            d = e.get(key)
            if d and not control:
                _interval_row(right, y + dy, d, VERDICT_COLOURS.get(d["verdict"], CONTROL), marker)
    left.set_yticks(range(len(arms)), [e["variant"] for e in arms], fontsize=9)
    left.invert_yaxis()
    left.set_xlabel(f"{metric} ({confidence:.0%} interval)")
    # Markers are explained in the titles: a legend inside the axes can hide a point.
    left.set_title(f"{task}: {metric}, ● variant, ◆ random control", fontsize=10)
    right.axvline(0, color="#444", lw=0.8)
    right.set_xlabel(f"difference in {metric}")
    right.set_title("stage effect: ● vs previous variant, ◆ vs random control\n"
                    "(green helps, red hurts, grey can't tell)", fontsize=10)
    for ax in (left, right):
        ax.grid(axis="x", alpha=0.3)
    return _data_uri(fig)


def metric_history(task: str, metric: str, points: list[dict[str, Any]]) -> str:
    """The task's metric per run (oldest on top) on the same test split, with the TF-IDF + LR
    baseline where it was scored."""
    fig, ax = _figure(9.0, rows_height(len(points)))
    y = range(len(points))
    ax.scatter([p["value"] for p in points], list(y), color=VARIANT, zorder=3, label=f"fine-tuned: {metric}")
    base = [(i, p["baseline"]) for i, p in enumerate(points) if p.get("baseline") is not None]
    if base:
        ax.scatter([b for _, b in base], [i for i, _ in base], color=BASELINE, marker="x", zorder=3,
                   label="TF-IDF + LR")
    ax.set_yticks(list(y), [p["label"] for p in points], fontsize=8)
    ax.set_ylim(len(points) - 0.5, -0.5)  # oldest on top, half a row of room around each point
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlabel(metric)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, fontsize=8, frameon=False)
    ax.set_title(f"{task}: {metric} per run (same test split)", pad=20)
    return _data_uri(fig)


def confusion(title: str, labels: list[str], matrix: list[list[float]], vmax: float | None = None) -> str:
    """A small confusion matrix (rows true, columns predicted); `vmax` shares one colour scale
    between the matrices shown side by side."""
    # Small enough to sit four or five in a row at full size; many labels need more room.
    fig, ax = _figure(2.4, 2.3) if len(labels) <= 4 else _figure(3.4, 3.2)
    ax.imshow(matrix, cmap="Blues", vmin=0, vmax=vmax)
    short = [lb if len(lb) <= 12 else lb[:11] + "…" for lb in labels]
    size = 10 if len(labels) <= 3 else 8 if len(labels) <= 6 else 6
    ax.set_xticks(range(len(labels)), short, rotation=45, ha="right", fontsize=size)
    ax.set_yticks(range(len(labels)), short, fontsize=size)
    top = vmax or max((v for row in matrix for v in row), default=0)
    if len(labels) <= 10:
        for i, row in enumerate(matrix):
            for j, v in enumerate(row):
                text = f"{v:.0f}" if float(v).is_integer() else f"{v:.1f}"  # a mean over seeds
                ax.text(j, i, text, ha="center", va="center", fontsize=size, color="white" if v > top / 2 else "black")
    ax.set_xlabel("predicted", fontsize=8)
    ax.set_ylabel("true", fontsize=8)
    ax.set_title(title, fontsize=9)
    return _data_uri(fig)
