"""Small HTML builders the report's sections share: tables, images, numbers, verdict labels."""

from __future__ import annotations

from html import escape
from typing import Any, Iterable

CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1180px;padding:0 1em;color:#222;line-height:1.4}
h1 small{font-weight:normal;color:#666;font-size:55%}
h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
nav a{margin-right:1em}p.lead{font-size:110%}p.note{color:#555;font-size:92%;max-width:70em}
table{border-collapse:collapse;margin:.6em 0 1.2em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3;font-weight:600}th.n{text-align:right}
td{overflow-wrap:anywhere}td:first-child{overflow-wrap:normal}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap;overflow-wrap:normal}
tr.control td{color:#555;background:#fafafa}
code{font-size:88%;word-break:break-all}img{max-width:100%;height:auto;display:block;margin:.4em 0}
.warn{background:#fff4d6;padding:.3em .6em}.muted{color:#777}
.v{display:inline-block;padding:0 .5em;border-radius:.7em;font-size:88%;white-space:nowrap;color:#fff}
.v.helps{background:#2e7d32}.v.hurts{background:#c62828}.v.unclear{background:#8a8a8a}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:.8em}
.grid figure{margin:0}.grid figcaption{font-size:90%;text-align:center;color:#444}
.iv{white-space:nowrap}.scroll{overflow-x:auto;max-width:100%}
details{margin:.5em 0 1em}summary{cursor:pointer;color:#245}
"""


def img(uri: str, alt: str) -> str:
    return f'<img src="{uri}" alt="{escape(alt)}">'


def table(header: Iterable[str], rows: Iterable[Iterable[Any]], numeric: Iterable[int] = (),
          row_classes: Iterable[str] | None = None) -> str:
    """A table of already-escaped cells; `numeric` column indexes are right-aligned."""
    right = set(numeric)
    head = "".join(f"<th{' class=n' if i in right else ''}>{escape(h)}</th>" for i, h in enumerate(header))
    classes = iter(row_classes) if row_classes is not None else None
    body = []
    for row in rows:
        cls = next(classes, "") if classes is not None else ""
        cells = "".join(f"<td{' class=n' if i in right else ''}>{c}</td>" for i, c in enumerate(row))
        body.append(f"<tr{f' class={cls}' if cls else ''}>{cells}</tr>")
    # A wide table scrolls inside its box: the page itself never scrolls sideways.
    return f"<div class=scroll><table><tr>{head}</tr>{''.join(body)}</table></div>"


def count(n: int | None) -> str:
    return "" if n is None else f"{n:,}"


def metric(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


def interval(value: float | None, low: float | None, high: float | None, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    f = "{:+.3f}" if signed else "{:.3f}"
    return f"<span class=iv>{f.format(value)} <span class=muted>[{f.format(low)}, {f.format(high)}]</span></span>"


def verdict(text: str | None) -> str:
    """A verdict as a coloured label: green helps, red hurts, grey can't tell."""
    if not text:
        return ""
    cls = {"helps": "helps", "hurts": "hurts"}.get(text, "unclear")
    return f"<span class='v {cls}'>{escape(text)}</span>"


def seconds(s: float | None) -> str:
    if s is None:
        return ""
    return f"{s:.1f} s" if s < 10 else f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"
