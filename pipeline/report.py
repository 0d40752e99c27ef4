"""A self-contained HTML page for one run: per-stage counts, reject reasons with examples."""

from __future__ import annotations

from html import escape
from pathlib import Path

from pipeline.summary import RunSummary, run_summary

REPORT_FILE = "report.html"

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}
.bar{background:#4a7;height:10px;display:inline-block}.rej{background:#c54}
code{font-size:90%;word-break:break-all}
"""


def _bar(kept: int, total: int, width: int = 240) -> str:
    if total == 0:
        return ""
    k = round(width * kept / total)
    return f'<span class="bar" style="width:{k}px"></span><span class="bar rej" style="width:{width - k}px"></span>'


def render(summary: RunSummary) -> str:
    parts = [f"<!doctype html><meta charset=utf-8><title>curate run {escape(summary.run_id)}</title>",
             f"<style>{_CSS}</style>",
             f"<h1>Run {escape(summary.name)} <small>{escape(summary.run_id)}</small></h1>",
             f"<p>Status <b>{escape(summary.status)}</b>, started {escape(summary.started_at)}, "
             f"code {escape(summary.code_version)}. Output: <code>{escape(summary.out_dir)}</code></p>",
             "<h2>Stages</h2><table><tr><th>stage</th><th>in</th><th>kept</th><th>rejected</th>"
             "<th>kept / rejected</th><th>wall s</th><th>reused</th><th>output fingerprint</th></tr>"]
    for s in summary.stages:
        parts.append(
            f"<tr><td>{escape(s.stage)}</td><td class=n>{s.n_in:,}</td><td class=n>{s.n_kept:,}</td>"
            f"<td class=n>{s.n_rejected:,}</td><td>{_bar(s.n_kept, s.n_in)}</td><td class=n>{s.wall_s:.1f}</td>"
            f"<td>{'yes' if s.reused else 'no'}</td><td><code>{escape(s.output_fingerprint)}</code></td></tr>")
    parts.append("</table>")
    for s in summary.stages:
        parts.append(f"<h2>{escape(s.stage)}: rejected by reason</h2>")
        if not s.reasons:
            parts.append("<p>No records rejected.</p>")
            continue
        parts.append("<table><tr><th>reason</th><th>count</th><th>example origin</th><th>detail</th><th>record</th></tr>")
        for reason, n in sorted(s.reasons.items(), key=lambda kv: -kv[1]):
            ex = (s.examples.get(reason) or [{}])[0]
            parts.append(
                f"<tr><td>{escape(reason)}</td><td class=n>{n:,}</td><td><code>{escape(ex.get('origin', ''))}</code></td>"
                f"<td>{escape(ex.get('detail', ''))}</td><td><code>{escape(ex.get('record', ''))}</code></td></tr>")
        parts.append("</table>")
        if s.counters:
            items = "".join(f"<tr><td>{escape(k)}</td><td class=n>{v:,}</td></tr>" for k, v in s.counters.items())
            parts.append(f"<h3>{escape(s.stage)}: counters</h3><table>{items}</table>")
    return "\n".join(parts)


def write_report(out_dir: str | Path, run_id: str | None = None) -> Path:
    summary = run_summary(out_dir, run_id, examples=1)
    path = Path(out_dir) / REPORT_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(render(summary), encoding="utf-8")
    tmp.replace(path)
    return path
