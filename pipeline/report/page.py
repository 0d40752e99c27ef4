"""The report page: a header that says what the run did in one line, then the questions a data
engineer asks, in order: where did records go, did each stage help, where is the model weak;
then the models, annotation and record lengths."""

from __future__ import annotations

from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

from pipeline.atomic import write_text_atomic
from pipeline.catalog import Catalog
from pipeline.report.html import CSS, img, seconds
from pipeline.summary import RunSummary, run_summary

REPORT_FILE = "report.html"
SECTION_TITLES = {"records": "Where did records go", "effects": "Did each stage help?",
                  "weak": "Where is the model weak?", "models": "Models", "annotation": "Annotation",
                  "lengths": "Record lengths"}


def _pipeline_stages(s: RunSummary) -> list:
    """The chain of stages the data went through (an ablation's `split:<variant>` runs aside)."""
    return [st for st in s.stages if ":" not in st.stage]


def _duration(s: RunSummary) -> str:
    if not s.finished_at:
        return ""
    took = datetime.fromisoformat(s.finished_at) - datetime.fromisoformat(s.started_at)
    return f", took {seconds(took.total_seconds())}"


def _headline(s: RunSummary, models: list[dict[str, Any]]) -> str:
    chain = _pipeline_stages(s)
    parts = []
    if chain:
        generated = sum(st.n_generated for st in chain)
        parts.append(f"<b>{chain[0].n_in:,}</b> records in → <b>{chain[-1].n_kept:,}</b> kept after "
                     f"{escape(chain[-1].stage)} ({sum(st.n_rejected for st in chain):,} rejected"
                     + (f", {generated:,} generated" if generated else "") + " along the way)")
    tasks = {m["task"] for m in models}
    parts.append(f"<b>{len(models)}</b> model{'s' if len(models) != 1 else ''} trained for {len(tasks)} "
                 f"task{'s' if len(tasks) != 1 else ''}" if models else "no model trained")
    ablation = (s.config or {}).get("ablation")
    if ablation and models:
        parts.append(f"an ablation of {len(ablation['variants'])} variants × {ablation['seeds']} seeds"
                     + (" with random controls" if ablation.get("random_control") else ""))
    return "<p class=lead>" + "; ".join(parts) + ".</p>"


def _header(s: RunSummary, models: list[dict[str, Any]]) -> list[str]:
    chain = _pipeline_stages(s)
    version = (f"data version <code>{escape(chain[-1].output_fingerprint[:12])}</code> (output of "
               f"{escape(chain[-1].stage)}), ") if chain else ""
    error = f"<p class=warn><b>Error:</b> {escape(s.error)}</p>" if s.error else ""
    return [f"<h1>Run {escape(s.name)} <small>{escape(s.run_id)}</small></h1>", _headline(s, models),
            f"<p class=note>Status <b>{escape(s.status)}</b>, started {escape(s.started_at)}{_duration(s)}; "
            f"{version}code {escape(s.code_version)}. Output: <code>{escape(s.out_dir)}</code></p>{error}"]


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
    return ["<h2 id=lengths>Record lengths</h2>", img(plots.length_histograms(lengths), "record length per kind")]


def _annotation_section(s: RunSummary) -> list[str]:
    from pipeline.annotate.report import annotation_html

    parts = [p for st in s.stages if st.stage == "annotate" for p in annotation_html(st.path)]
    return ["<span id=annotation></span>", *parts] if parts else []


def _model_sections(s: RunSummary, catalog: Catalog, models: list[dict[str, Any]]) -> list[str]:
    from pipeline.report.arms import arm_order
    from pipeline.report.effects import effects_section
    from pipeline.report.models import models_section
    from pipeline.report.weakness import weakness_section

    effects = catalog.effects(s.run_id)
    if not models:
        return ["<h2 id=models>Models</h2><p>No model was trained in this run: it has no <code>train:</code> "
                "tasks, or it stopped before training.</p>"]
    order = arm_order(s.config, effects, [m["variant"] for m in models])
    measured = effects_section(effects, s.config) or [
        "<h2 id=effects>Did each stage help?</h2><p>No ablation with intervals in this run: add an "
        "<code>ablation:</code> section (seeds ≥ 2) or run <code>curate ablate</code> to measure each stage "
        "against a random control.</p>"]
    return measured + weakness_section(models, order) + models_section(models, catalog.models(), order)


def _nav(body: list[str]) -> str:
    text = "".join(body)
    links = [f"<a href='#{k}'>{escape(v)}</a>" for k, v in SECTION_TITLES.items() if f"id={k}>" in text]
    return "<nav>" + "".join(links) + "</nav>"


def render(summary: RunSummary) -> str:
    from pipeline.report.funnel import funnel_section

    catalog = Catalog(summary.out_dir)
    models = catalog.models(summary.run_id)
    body = (funnel_section(summary) + _model_sections(summary, catalog, models) + _annotation_section(summary)
            + _lengths_section(summary))
    head = [f"<!doctype html><html lang=en><meta charset=utf-8><title>curate run {escape(summary.run_id)}</title>",
            f"<style>{CSS}</style>", *_header(summary, models)]
    return "\n".join(head + [_nav(body)] + body)


def write_report(out_dir: str | Path, run_id: str | None = None) -> Path:
    summary = run_summary(out_dir, run_id, examples=1)
    return write_text_atomic(Path(out_dir) / REPORT_FILE, render(summary))
