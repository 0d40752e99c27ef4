"""Figures for the run report, as PNG data URIs (the page stays one self-contained file)."""

from __future__ import annotations

import base64
import io
from typing import Any


def _figure(width: float = 7.0, height: float = 3.2):
    import matplotlib

    matplotlib.use("Agg")  # no display here, nor in scheduled runs
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height), dpi=100)


def _data_uri(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def stage_counts(stages: list[tuple[str, int, int]]) -> str:
    """Kept and rejected records per stage, stacked."""
    fig, ax = _figure()
    names = [s for s, _, _ in stages]
    kept = [k for _, k, _ in stages]
    rejected = [r for _, _, r in stages]
    ax.bar(names, kept, color="#4a7", label="kept")
    ax.bar(names, rejected, bottom=kept, color="#c54", label="rejected")
    ax.set_ylabel("records")
    ax.set_title("Records per stage")
    ax.legend()
    return _data_uri(fig)


def reject_reasons(stage: str, reasons: dict[str, int], top: int = 12) -> str:
    items = sorted(reasons.items(), key=lambda kv: kv[1])[-top:]
    fig, ax = _figure(7.0, 0.35 * len(items) + 1.0)
    ax.barh([r for r, _ in items], [n for _, n in items], color="#c54")
    ax.set_xlabel("records rejected")
    ax.set_title(f"{stage}: reject reasons")
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


def metric_by_version(task: str, metric: str, points: list[dict[str, Any]]) -> str:
    """One bar per data version (labelled variant@version), with the baseline as a marker."""
    fig, ax = _figure(7.0, 3.4)
    labels = [f"{p['variant']}\n@{p['data_version'][:6]}\nn={p['n_train']:,}" for p in points]
    ax.bar(labels, [p["value"] for p in points], color="#47a", label=f"fine-tuned: {metric}")
    base = [(i, p["baseline"]) for i, p in enumerate(points) if p.get("baseline") is not None]
    if base:
        ax.scatter([i for i, _ in base], [b for _, b in base], color="#e90", zorder=3, label="TF-IDF + LR")
    for i, p in enumerate(points):
        ax.annotate(f"{p['value']:.4f}", (i, p["value"]), ha="center", va="bottom", fontsize=8,
                    xytext=(0, 2), textcoords="offset points")
    # Zoom to the values: differences between data versions are usually a few points.
    values = [p["value"] for p in points] + [b for _, b in base]
    lo, hi = min(values), max(values)
    if len(values) > 1 and hi > lo:
        pad = (hi - lo) * 0.5
        ax.set_ylim(lo - pad, hi + pad)
    else:  # one value: nothing to zoom on
        ax.set_ylim(0, hi * 1.2 if hi > 0 else 1)
    ax.set_ylabel(metric)
    ax.set_title(f"{task}: {metric} per data version (same test split)")
    ax.legend(fontsize=8)
    return _data_uri(fig)


def confusion(title: str, labels: list[str], matrix: list[list[int]]) -> str:
    fig, ax = _figure(4.2, 3.6)
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    top = max((v for row in matrix for v in row), default=0)
    for i, row in enumerate(matrix):
        for j, v in enumerate(row):
            ax.text(j, i, str(v), ha="center", va="center", fontsize=9, color="white" if v > top / 2 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    return _data_uri(fig)
