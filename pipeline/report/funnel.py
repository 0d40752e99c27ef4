"""Where did records go: per stage, records in, generated, kept and rejected, and why."""

from __future__ import annotations

from html import escape

from pipeline.report.html import count, img, seconds, table
from pipeline.summary import RunSummary, StageSummary

TOP_REASONS = 3


def _top_reasons(st: StageSummary) -> str:
    ranked = sorted(st.reasons.items(), key=lambda kv: -kv[1])
    shown = "<br>".join(f"{escape(r)} <b>{n:,}</b>" for r, n in ranked[:TOP_REASONS])
    more = len(ranked) - TOP_REASONS
    return shown + (f" <span class=muted>(+{more} more)</span>" if more > 0 else "")


def _stage_table(stages: list[StageSummary]) -> str:
    rows = [[escape(st.stage), count(st.n_in), count(st.n_generated) if st.n_generated else "",
             count(st.n_kept), count(st.n_rejected),
             f"{st.n_rejected / max(st.n_in + st.n_generated, 1):.1%}", _top_reasons(st),
             seconds(st.wall_s) + (" <span class=muted>(reused)</span>" if st.reused else "")]
            for st in stages]
    return table(["stage", "in", "generated", "kept", "rejected", "rejected share", "top reject reasons", "time"],
                 rows, numeric=(1, 2, 3, 4, 5))


def _reasons_details(stages: list[StageSummary]) -> list[str]:
    """Every reason with one example record, folded: the table is long on a real corpus."""
    rows = []
    for st in stages:
        for reason, n in sorted(st.reasons.items(), key=lambda kv: -kv[1]):
            ex = (st.examples.get(reason) or [{}])[0]
            rows.append([escape(st.stage), escape(reason), count(n), f"<code>{escape(ex.get('origin', ''))}</code>",
                         escape(ex.get("detail", "")), f"<code>{escape(ex.get('record', ''))}</code>"])
    if not rows:
        return []
    return [f"<details><summary>All {len(rows)} reject reasons with an example record each</summary>",
            table(["stage", "reason", "records", "example origin", "detail", "example record"], rows, numeric=(2,)),
            "</details>"]


def _counters_details(stages: list[StageSummary]) -> list[str]:
    rows = [[escape(st.stage), f"<code>{escape(st.output_fingerprint)}</code>",
             "<br>".join(f"{escape(k)}: {v:,}" for k, v in st.counters.items())] for st in stages]
    return ["<details><summary>Stage output fingerprints and counters</summary>",
            table(["stage", "output fingerprint", "counters"], rows), "</details>"]


def funnel_section(summary: RunSummary) -> list[str]:
    from pipeline import plots

    parts = ["<h2 id=records>Where did records go</h2>"]
    stages = summary.stages
    if not stages:
        return parts + ["<p>No stage ran in this run.</p>"]
    ablation = any(":" in st.stage for st in stages)
    parts.append("<p class=note>Per stage, records in plus records it generated equal records kept plus "
                 "records rejected." + (" Stages named <code>split:&lt;variant&gt;</code> split one ablation "
                                        "variant's data." if ablation else "") + "</p>")
    bars = [{"stage": st.stage, "in": st.n_in, "generated": st.n_generated, "kept": st.n_kept,
             "rejected": st.n_rejected} for st in stages]
    parts += [img(plots.stage_funnel(bars), "records kept and rejected per stage"), _stage_table(stages)]
    reasons = [(f"{st.stage}: {r}", n) for st in stages for r, n in st.reasons.items()]
    if reasons:
        parts.append(img(plots.reject_reasons(reasons), "most frequent reject reasons"))
    return parts + _reasons_details(stages) + _counters_details(stages)
