"""A self-contained HTML page for one run: per-stage counts and reject reasons with examples,
length distributions, and every model's metrics per data version, with plots."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from pipeline.atomic import write_text_atomic
from pipeline.catalog import Catalog
from pipeline.summary import RunSummary, StageSummary, run_summary

REPORT_FILE = "report.html"
# The metric that summarises a model of each kind; the first one present is used.
MAIN_METRICS = {"classification": ("macro_f1", "accuracy"),
                "instruction": ("rouge_l", "exact_match", "perplexity"),
                "code": ("code_pass_rate", "rouge_l", "exact_match", "perplexity")}

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}
code{font-size:90%;word-break:break-all}img{max-width:100%;margin:.5em 0}
td.warn{background:#fff4d6}
"""


def main_metric(kind: str, metrics: dict[str, Any]) -> tuple[str, float] | None:
    for name in MAIN_METRICS.get(kind, ()):
        if metrics.get(name) is not None:
            return name, float(metrics[name])
    return None


def _img(uri: str) -> str:
    return f'<img src="{uri}">'


def _stages_section(s: RunSummary) -> list[str]:
    from pipeline import plots

    parts = ["<h2>Stages</h2><table><tr><th>stage</th><th>in</th><th>kept</th><th>rejected</th><th>wall s</th>"
             "<th>reused</th><th>output fingerprint</th></tr>"]
    for st in s.stages:
        parts.append(f"<tr><td>{escape(st.stage)}</td><td class=n>{st.n_in:,}</td><td class=n>{st.n_kept:,}</td>"
                     f"<td class=n>{st.n_rejected:,}</td><td class=n>{st.wall_s:.1f}</td>"
                     f"<td>{'yes' if st.reused else 'no'}</td><td><code>{escape(st.output_fingerprint)}</code></td></tr>")
    parts.append("</table>")
    if s.stages:
        parts.append(_img(plots.stage_counts([(st.stage, st.n_kept, st.n_rejected) for st in s.stages])))
    return parts


def _reasons_section(st: StageSummary) -> list[str]:
    from pipeline import plots

    parts = [f"<h2>{escape(st.stage)}: rejected by reason</h2>"]
    if not st.reasons:
        return parts + ["<p>No records rejected.</p>"]
    parts.append(_img(plots.reject_reasons(st.stage, st.reasons)))
    parts.append("<table><tr><th>reason</th><th>count</th><th>example origin</th><th>detail</th><th>record</th></tr>")
    for reason, n in sorted(st.reasons.items(), key=lambda kv: -kv[1]):
        ex = (st.examples.get(reason) or [{}])[0]
        parts.append(f"<tr><td>{escape(reason)}</td><td class=n>{n:,}</td><td><code>{escape(ex.get('origin', ''))}"
                     f"</code></td><td>{escape(ex.get('detail', ''))}</td><td><code>{escape(ex.get('record', ''))}"
                     "</code></td></tr>")
    parts.append("</table>")
    if st.counters:
        rows = "".join(f"<tr><td>{escape(k)}</td><td class=n>{v:,}</td></tr>" for k, v in st.counters.items())
        parts.append(f"<h3>{escape(st.stage)}: counters</h3><table>{rows}</table>")
    return parts


def _lengths_section(s: RunSummary, sample: int = 200_000) -> list[str]:
    import pyarrow.parquet as pq

    from pipeline import plots

    clean = next((st for st in s.stages if st.stage == "clean"), None)
    if clean is None:
        return []
    table = pq.read_table(Path(clean.path) / "kept", columns=["kind", "score_chars"]).slice(0, sample)
    lengths: dict[str, list[float]] = {}
    for kind, n in zip(table.column("kind").to_pylist(), table.column("score_chars").to_pylist()):
        lengths.setdefault(kind, []).append(n)
    return ["<h2>Length distributions</h2>", _img(plots.length_histograms(lengths))]


def _models_section(out_dir: Path, run_id: str) -> list[str]:
    from pipeline import plots

    catalog = Catalog(out_dir)
    run_models = catalog.models(run_id)
    if not run_models:
        return []
    parts = _effects_section(catalog.effects(run_id))
    parts += ["<h2>Models</h2><table><tr><th>task</th><th>variant</th><th>seed</th><th>data version</th><th>train</th>"
             "<th>val</th><th>test</th><th>leakage removed</th><th>metrics (test)</th><th>TF-IDF + LR</th></tr>"]
    for m in run_models:
        fmt = ", ".join(f"{k}={v:.4g}" for k, v in m["metrics"].items() if isinstance(v, (int, float)))
        base = ", ".join(f"{k}={v:.4g}" for k, v in (m["baseline_metrics"] or {}).items() if isinstance(v, (int, float)))
        parts.append(f"<tr><td>{escape(m['task'])}</td><td>{escape(m['variant'])}</td><td class=n>{m['seed']}</td>"
                     f"<td><code>{m['data_version'][:12]}"
                     f"</code></td><td class=n>{m['n_train']:,}</td><td class=n>{m['n_validation']:,}</td>"
                     f"<td class=n>{m['n_test']:,}</td><td class=n>{m['leakage_removed']:,}</td>"
                     f"<td>{escape(fmt)}</td><td>{escape(base)}</td></tr>")
    parts.append("</table>")
    parts += _tokens_section(run_models)
    all_models = catalog.models()
    for task in dict.fromkeys(m["task"] for m in run_models):
        latest = [m for m in run_models if m["task"] == task]
        test_fp = latest[-1]["test_fingerprint"]
        same_test = {m["data_version"]: m for m in all_models if m["task"] == task and m["test_fingerprint"] == test_fp}
        points = []
        for m in same_test.values():
            mm = main_metric(m["kind"], m["metrics"])
            if mm:
                base = main_metric(m["kind"], m["baseline_metrics"] or {})
                points.append({"variant": m["variant"], "data_version": m["data_version"], "n_train": m["n_train"],
                               "value": mm[1], "baseline": base[1] if base else None, "metric": mm[0]})
        if points:
            parts.append(f"<h3>{escape(task)}</h3>")
            parts.append(_img(plots.metric_by_version(task, points[0]["metric"], points)))
        first_seed = min(m["seed"] for m in latest)
        for m in latest:
            if m["role"] == "variant" and m["seed"] == first_seed:  # one seed's details per variant
                parts += _model_details(Path(m["model_dir"]), f"{task} / {m['variant']} (seed {first_seed})")
    return parts


def _tokens_section(models: list[dict]) -> list[str]:
    """SFT token accounting per data version and split, by source, and training warnings."""
    rows, seen = [], set()
    for m in models:
        for w in m.get("warnings") or []:
            rows.append(f"<tr><td colspan=8 class=warn>{escape(m['task'])} / {escape(m['variant'])}: {escape(w)}</td></tr>")
        if not m.get("tokens") or (m["task"], m["data_version"]) in seen:
            continue
        seen.add((m["task"], m["data_version"]))
        for split, c in m["tokens"].items():
            for source, s in [("all", c), *c.get("by_source", {}).items()]:
                share = lambda v: "-" if v is None else f"{v:.1%}"  # noqa: E731
                rows.append(f"<tr><td>{escape(m['task'])}</td><td>{escape(m['variant'])}</td><td>{split}</td>"
                            f"<td>{escape(source)}</td><td class=n>{s['records']:,}</td>"
                            f"<td class=n>{(s['tokens_per_record'] or 0):.0f}</td><td class=n>{share(s['truncated_share'])}"
                            f"</td><td class=n>{share(s['loss_token_share'])}</td></tr>")
    if not rows:
        return []
    return ["<h3>Tokens under the model's tokenizer and chat template</h3><table><tr><th>task</th><th>variant</th>"
            "<th>split</th><th>source</th><th>records</th><th>tokens/record</th><th>truncated</th>"
            "<th>loss tokens</th></tr>", *rows, "</table>"]


def _effects_section(effects: list[dict]) -> list[str]:
    """Each stage's effect on each metric, with its interval and its random control, in pipeline order."""
    from pipeline.experiments.effects import describe

    if not effects:
        return []
    parts = [f"<h2>Did each stage help?</h2><p>Mean over {effects[0]['n_seeds']} seeds with a "
             f"{effects[0]['confidence']:.0%} interval (bootstrap over test items and seeds); a stage's effect is its "
             "variant minus the variant before it, and minus a random subset of that variant of the same size "
             "(the random control), paired by test item and seed.</p>",
             "<table><tr><th>task</th><th>variant</th><th>metric</th><th>train</th><th>mean [interval]</th>"
             "<th>stage effect</th><th>against random control</th><th>train cost</th></tr>"]
    for e in effects:
        d = describe(e)
        parts.append(f"<tr><td>{escape(e['task'])}</td><td>{escape(e['variant'])}</td><td>{escape(e['metric'])}</td>"
                     f"<td class=n>{e['n_train']:,}</td><td>{escape(d['value'])}</td><td>{escape(d['vs_previous'])}</td>"
                     f"<td>{escape(d['vs_control'])}</td><td>{escape(d['cost'])}</td></tr>")
    parts.append("</table>")
    return parts


def _model_details(model_dir: Path, title: str) -> list[str]:
    from pipeline import plots

    record = model_dir / "training.json"
    if not record.is_file():
        return []
    result = json.loads(record.read_text())
    parts = []
    conf = result.get("confusion")
    if conf and conf.get("labels"):
        parts.append(_img(plots.confusion(f"{title}: confusion (test)", conf["labels"], conf["matrix"])))
    rows = []
    for slice_kind, values in (result.get("slices") or {}).items():
        for value, metrics in values.items():
            fmt = ", ".join(f"{k}={v:.4g}" for k, v in metrics.items() if k != "n" and isinstance(v, (int, float)))
            rows.append(f"<tr><td>{escape(slice_kind)}</td><td>{escape(str(value))}</td>"
                        f"<td class=n>{metrics.get('n', '')}</td><td>{escape(fmt)}</td></tr>")
    if rows:
        parts.append(f"<h4>{escape(title)}: metrics by slice</h4><table><tr><th>slice</th><th>value</th>"
                     f"<th>n</th><th>metrics</th></tr>{''.join(rows)}</table>")
    return parts


def render(summary: RunSummary) -> str:
    out_dir = Path(summary.out_dir)
    parts = [f"<!doctype html><meta charset=utf-8><title>curate run {escape(summary.run_id)}</title>",
             f"<style>{_CSS}</style>",
             f"<h1>Run {escape(summary.name)} <small>{escape(summary.run_id)}</small></h1>",
             f"<p>Status <b>{escape(summary.status)}</b>, started {escape(summary.started_at)}, "
             f"code {escape(summary.code_version)}. Output: <code>{escape(summary.out_dir)}</code></p>"]
    parts += _stages_section(summary)
    parts += _models_section(out_dir, summary.run_id)
    for st in summary.stages:
        if st.stage == "annotate":
            from pipeline.annotate.report import annotation_html

            parts += annotation_html(st.path)
    parts += _lengths_section(summary)
    for st in summary.stages:
        parts += _reasons_section(st)
    return "\n".join(parts)


def write_report(out_dir: str | Path, run_id: str | None = None) -> Path:
    summary = run_summary(out_dir, run_id, examples=1)
    path = Path(out_dir) / REPORT_FILE
    return write_text_atomic(path, render(summary))
