"""What the new annotations did to the models: each task's metrics before and after a retrain.

"Before" is the latest model of each task in the catalog when the retrain starts, "after" the
one the retrain made. Both name their data version; the report adds the annotations the new data
version includes (the `annotate` stage's counts and input fingerprint), and says whether the two
were measured on the same test set: a human relabel of a test record changes the test set, and
then the change mixes a better model with a different yardstick.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from pipeline.catalog import Catalog
from pipeline.tracking.champion import champion_line


def previous_models(out_dir: str) -> dict[str, dict[str, Any]]:
    """task -> its latest model (variant 'current') in the catalog."""
    latest: dict[str, dict[str, Any]] = {}
    for m in Catalog(out_dir).models():
        if m["variant"] == "current":
            latest[m["task"]] = m
    return latest


def _numeric(metrics: dict[str, Any] | None) -> dict[str, float]:
    return {k: v for k, v in (metrics or {}).items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def metric_changes(before: dict[str, dict[str, Any]], after: list[dict[str, Any]], ctx: Any) -> dict[str, Any]:
    annotate = ctx.outputs.get("annotate")
    applied = {"stage_input_fingerprint": annotate.manifest["input_fingerprint"] if annotate else None,
               "counters": annotate.manifest.get("counters", {}) if annotate else {},
               "rejected_by_reason": annotate.counts.get("rejected_by_reason", {}) if annotate else {}}
    rows = []
    for m in after:
        old = before.get(m["task"])
        new_metrics, old_metrics = _numeric(m["metrics"]), _numeric(old["metrics"] if old else None)
        rows.append({
            "task": m["task"], "model_id": m["model_id"], "data_version": m["data_version"],
            "previous_data_version": old["data_version"] if old else None,
            "same_test_set": bool(old) and old["test_fingerprint"] == m["test_fingerprint"],
            "champion": m.get("champion"),
            "metrics": {k: {"before": old_metrics.get(k), "after": v,
                            "change": None if old_metrics.get(k) is None else round(v - old_metrics[k], 6)}
                        for k, v in sorted(new_metrics.items())},
        })
    return {"run_id": ctx.run_id, "annotations": applied, "models": rows, "markdown": _markdown(applied, rows)}


def _markdown(applied: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    c = applied["counters"]
    lines = ["# Retrain after annotation", "",
             f"Annotations applied: {c.get('relabel', 0)} relabelled, {c.get('rewrite', 0)} rewritten, "
             f"{c.get('confirmed', 0)} confirmed, {c.get('flagged', 0)} flagged out; "
             f"{c.get('decision_unclear', 0)} unclear and {c.get('decision_pending', 0)} pending stay queued.", ""]
    for r in rows:
        test = "same test set" if r["same_test_set"] else "test set changed (annotations touched it, or no previous model)"
        lines += [f"## {r['task']}: data {str(r['previous_data_version'])[:12]} -> {r['data_version'][:12]} ({test})",
                  "", "| metric | before | after | change |", "|---|---|---|---|"]
        for k, v in r["metrics"].items():
            fmt = lambda x: "-" if x is None else f"{x:.4f}"  # noqa: E731
            lines.append(f"| {k} | {fmt(v['before'])} | {fmt(v['after'])} | {fmt(v['change'])} |")
        lines += ["", champion_line(r["champion"]), ""] if r.get("champion") else [""]
    return "\n".join(lines)


def annotation_html(stage_dir: str | Path) -> list[str]:
    """The run report's section for an `annotate` stage: decisions and agreement per kind, and
    each annotator's agreement with the merged result and with each other."""
    path = Path(stage_dir) / "agreement.json"
    if not path.is_file():
        return []
    fmt = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731
    parts = ["<h2>Annotation: decisions and agreement</h2><table><tr><th>kind</th><th>tasks</th><th>accepted</th>"
             "<th>unclear</th><th>pending</th><th>Krippendorff's alpha</th><th>mean task agreement</th></tr>"]
    report = json.loads(path.read_text())
    for kind, r in report.items():
        s, by = r["summary"], r["summary"].get("by_status", {})
        parts.append(f"<tr><td>{escape(kind)}</td><td class=n>{s.get('n_tasks', 0)}</td>"
                     + "".join(f"<td class=n>{by.get(k, 0)}</td>" for k in ("accepted", "unclear", "pending"))
                     + f"<td class=n>{fmt(s.get('alpha'))}</td><td class=n>{fmt(s.get('mean_agreement'))}</td></tr>")
    parts.append("</table><table><tr><th>kind</th><th>annotator</th><th>tasks</th><th>agreement with result</th>"
                 "<th>kappa with result</th></tr>")
    for kind, r in report.items():
        for who, a in sorted(r["annotators"].items()):
            parts.append(f"<tr><td>{escape(kind)}</td><td>{escape(who)}</td><td class=n>{a['n_tasks']}</td>"
                         f"<td class=n>{fmt(a['agreement_with_result'])}</td>"
                         f"<td class=n>{fmt(a['kappa_with_result'])}</td></tr>")
    return [*parts, "</table>"]
