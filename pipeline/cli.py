"""The `curate` command line."""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pipeline.config import ConfigError, PipelineConfig, load_config

# Busy-waiting OpenMP threads slow torch's small CPU matmuls many times over when another
# process (a stage worker, a neighbour) holds a core; must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Curate SFT data: collect, clean, deduplicate, augment, split, train, inspect.")
console = Console(stderr=True)
# Piped output (CI logs, files) gets a wide page instead of rich's 80-column default.
out = Console(width=None if sys.stdout.isatty() else 160)


class Engine(str, Enum):
    prefect = "prefect"
    local = "local"


def _config(config: Optional[Path], out_dir: Optional[Path]) -> PipelineConfig:
    try:
        if config is None:
            from pipeline.demo.config import demo_config
            from pipeline.demo.data import prepare_all

            console.print("[bold]No --config: running the demo[/] (chatterbot dialogues, stdlib code, SpamAssassin)")
            prepare_all()
            cfg = demo_config(out_dir or Path("runs/demo"))
        else:
            cfg = load_config(config)
    except ConfigError as exc:
        console.print(Text(str(exc), style="red"))
        raise typer.Exit(2) from None
    if out_dir is not None:
        cfg.run.out_dir = str(out_dir.resolve())
    return cfg


def _run(cfg: PipelineConfig, engine: Engine, until: str | None = None, only_ablation: bool = False) -> None:
    from pipeline import runner

    if engine is Engine.prefect and until is None and not only_ablation:
        # Verified here: the 20 s default start-up of Prefect's ephemeral server is too short on
        # 2 cores, and analytics would try to reach the internet.
        os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        from flows.curation import curation_flow

        summary = curation_flow(config=cfg.model_dump(mode="json"), show_progress=sys.stderr.isatty())
        run_id = summary["run_id"]
    else:
        from pipeline.progress import rich_progress

        with rich_progress() as factory:
            run_id = runner.run_pipeline(cfg, factory, until=until, only_ablation=only_ablation).run_id
    _print_inspect(Path(cfg.run.out_dir), run_id, examples=1)
    out.print(f"\nOutputs: [bold]{cfg.run.out_dir}/stages/[/]   catalog: {cfg.run.out_dir}/catalog.sqlite")
    out.print(f"Report:  [bold]{cfg.run.out_dir}/report.html[/]   details: curate inspect {cfg.run.out_dir}")


@app.command()
def run(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="pipeline YAML; without it, the demo"),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="override run.out_dir"),
    engine: Engine = typer.Option(Engine.prefect, help="prefect: a Prefect flow run (no server needed); local: in-process"),
) -> None:
    """Run the whole pipeline (as far as stages exist)."""
    _run(_config(config, out_dir), engine)


@app.command()
def collect(
    config: Optional[Path] = typer.Option(None, "--config", "-c"),
    out_dir: Optional[Path] = typer.Option(None, "--out"),
) -> None:
    """Run the collection stage only."""
    _run(_config(config, out_dir), Engine.local, until="collect")


@app.command()
def clean(
    config: Optional[Path] = typer.Option(None, "--config", "-c"),
    out_dir: Optional[Path] = typer.Option(None, "--out"),
) -> None:
    """Run collection (reused when stored) and cleaning."""
    _run(_config(config, out_dir), Engine.local, until="clean")


@app.command()
def dedup(
    config: Optional[Path] = typer.Option(None, "--config", "-c"),
    out_dir: Optional[Path] = typer.Option(None, "--out"),
) -> None:
    """Run the stages up to deduplication (exact, near, semantic; stored stages are reused)."""
    _run(_config(config, out_dir), Engine.local, until="dedup")


@app.command("augment")
def augment_cmd(
    config: Optional[Path] = typer.Option(None, "--config", "-c"),
    out_dir: Optional[Path] = typer.Option(None, "--out"),
) -> None:
    """Run the stages up to augmentation (stored stages are reused)."""
    _run(_config(config, out_dir), Engine.local, until="augment")


@app.command()
def split(
    config: Optional[Path] = typer.Option(None, "--config", "-c"),
    out_dir: Optional[Path] = typer.Option(None, "--out"),
) -> None:
    """Run the stages up to the train/validation/test split (stored stages are reused)."""
    _run(_config(config, out_dir), Engine.local, until="split")


@app.command()
def train(
    config: Optional[Path] = typer.Option(None, "--config", "-c"),
    out_dir: Optional[Path] = typer.Option(None, "--out"),
) -> None:
    """Run the stages, then fine-tune and evaluate every `train` task on the current data."""
    _run(_config(config, out_dir), Engine.local, until="train")


@app.command()
def ablate(
    config: Optional[Path] = typer.Option(None, "--config", "-c"),
    out_dir: Optional[Path] = typer.Option(None, "--out"),
) -> None:
    """Train every task on each data variant (raw, cleaned, ...) and score all on one test split."""
    cfg = _config(config, out_dir)
    if cfg.ablation is None:
        from pipeline.experiments.config import AblationConfig

        cfg.ablation = AblationConfig()
    _run(cfg, Engine.local, only_ablation=True)


@app.command()
def report(
    run_dir: Path = typer.Argument(..., help="a run directory (run.out_dir)"),
    run_id: Optional[str] = typer.Option(None, help="a run id from the catalog; default: the latest"),
) -> None:
    """Write the run's HTML report (plots of counts, reasons, lengths, metrics per data version)."""
    from pipeline.report import write_report

    try:
        out.print(write_report(run_dir, run_id))
    except (FileNotFoundError, LookupError) as exc:
        console.print(Text(str(exc), style="red"))
        raise typer.Exit(2) from None


@app.command()
def compare(
    a: str = typer.Argument(..., help="data version (prefix), model id, run id or variant name"),
    b: str = typer.Argument(..., help="the same, for the other side"),
    run_dir: Path = typer.Option(Path("runs/demo"), "--run-dir", help="the run directory holding both"),
) -> None:
    """Two data versions side by side: records added and removed by stage and reason, metric changes."""
    from pipeline.experiments.compare import CompareError
    from pipeline.experiments.compare import compare as compare_versions

    try:
        results = compare_versions(run_dir, a, b)
    except (CompareError, FileNotFoundError) as exc:
        console.print(Text(str(exc), style="red"))
        raise typer.Exit(2) from None
    for c in results:
        out.print(f"[bold]{c.task}[/]: A = {c.a['variant']} @{c.a['data_version'][:12]} (train {c.a['n_train']:,}),"
                  f" B = {c.b['variant']} @{c.b['data_version'][:12]} (train {c.b['n_train']:,})")
        if not c.same_test:
            out.print("[yellow]different test splits: metric differences are not comparable[/]")
        t = Table("metric", "A", "B", "B - A", title="test metrics")
        for k, (va, vb, d) in c.metric_diff.items():
            t.add_row(k, f"{va:.4f}", f"{vb:.4f}", f"{d:+.4f}")
        out.print(t)
        r = Table("change", "stage:reason", "records", title=f"train records: {c.removed:,} removed, {c.added:,} added")
        for label, counter in (("removed in B", c.removed_by), ("added in B", c.added_by)):
            for why, n in counter.most_common():
                r.add_row(label, why, f"{n:,}")
        out.print(r)


def _print_inspect(run_dir: Path, run_id: str | None, examples: int) -> None:
    from pipeline.summary import run_summary

    s = run_summary(run_dir, run_id, examples=examples)
    out.print(f"[bold]Run {s.name}[/] {s.run_id}  status={s.status}  code={s.code_version}")
    t = Table("stage", "in", "generated", "kept", "rejected", "wall s", "reused", "output fingerprint",
              title="Stages")
    for st in s.stages:
        t.add_row(st.stage, f"{st.n_in:,}", f"{st.n_generated:,}" if st.n_generated else "-", f"{st.n_kept:,}",
                  f"{st.n_rejected:,}", f"{st.wall_s:.1f}", "yes" if st.reused else "no", st.output_fingerprint[:16])
    out.print(t)
    generated = [Path(st.path) for st in s.stages if st.n_generated]
    if generated:
        _print_augment(generated, max(examples, 1))
    for st in s.stages:
        if not st.reasons:
            continue
        r = Table("reason", "count", "examples (origin, detail, record)", title=f"{st.stage}: rejected by reason",
                  show_lines=True)
        for reason, n in sorted(st.reasons.items(), key=lambda kv: -kv[1]):
            cell = Text()  # built from parts, not markup: record text may hold "[...]"
            for ex in st.examples.get(reason) or []:
                cell.append(f"{ex['origin']}\n", style="dim")
                cell.append(f"  {ex['detail']}\n  ")
                cell.append(ex["record"], style="italic")
            r.add_row(reason, f"{n:,}", cell)
        out.print(r)
        if st.counters:
            out.print(f"{st.stage} counters: " + ", ".join(f"{k}={v:,}" for k, v in st.counters.items()))
    _print_models(run_dir, s.run_id)
    if s.error:
        out.print(Text("error: ", style="red") + Text(s.error))


def _print_augment(stage_dirs: list[Path], examples: int) -> None:
    from pipeline.augment.report import augment_summary

    t = Table("augmenter", "generated", "kept", "rejected by gate", "kept examples (field: before → after)",
              title="augment: per augmenter", show_lines=True)
    for a in (a for d in stage_dirs for a in augment_summary(d, examples)):
        gates = ", ".join(f"{r}: {n:,}" for r, n in a.decisions.most_common() if r != "kept") or "-"
        cell = Text()  # built from parts, not markup: record text may hold "[...]"
        for ex in a.examples:
            cell.append(f"{ex['field']}: ", style="bold")
            cell.append(ex["before"], style="dim")
            cell.append("\n  → ")
            cell.append(ex["after"], style="italic")
            cell.append(f"\n  {ex['scores']}\n", style="dim")
        t.add_row(f"{a.name} ({a.method})", f"{a.generated:,}", f"{a.kept:,}", gates, cell)
    out.print(t)


def _print_models(run_dir: Path, run_id: str) -> None:
    from pipeline.catalog import Catalog

    models = Catalog(run_dir).models(run_id)
    if not models:
        return
    def fmt(metrics: dict | None) -> str:
        return ", ".join(f"{k}={v:.4g}" for k, v in (metrics or {}).items()
                         if isinstance(v, (int, float)) and not k.startswith("val_"))

    t = Table("task", "variant", "data version", "train", "test", "test metrics", "TF-IDF + LR", title="Models")
    for m in models:
        t.add_row(m["task"], m["variant"], m["data_version"][:12], f"{m['n_train']:,}", f"{m['n_test']:,}",
                  fmt(m["metrics"]), fmt(m["baseline_metrics"]))
    out.print(t)


@app.command()
def inspect(
    run_dir: Path = typer.Argument(..., help="a run directory (run.out_dir)"),
    run_id: Optional[str] = typer.Option(None, help="a run id from the catalog; default: the latest"),
    examples: int = typer.Option(3, help="examples shown per reject reason"),
) -> None:
    """Per-stage counts, reject reasons with examples, and timings of a run."""
    try:
        _print_inspect(run_dir, run_id, examples)
    except (FileNotFoundError, LookupError) as exc:
        console.print(Text(str(exc), style="red"))
        raise typer.Exit(2) from None


@app.command()
def validate(config: Path = typer.Argument(..., help="pipeline YAML")) -> None:
    """Validate a config file without running anything."""
    cfg = _config(config, None)
    out.print(f"ok: {len(cfg.sources)} source(s), out_dir {cfg.run.out_dir}")


@app.command("demo-data")
def demo_data() -> None:
    """Install and prepare the demo data (chatterbot-corpus, SpamAssassin) from the registries."""
    from pipeline.demo.data import prepare_all

    out.print(prepare_all())


from pipeline.cli_annotate import annotate_app, labelstudio_app  # noqa: E402 - needs `app`'s helpers above

app.add_typer(labelstudio_app, name="labelstudio")
app.add_typer(annotate_app, name="annotate")


if __name__ == "__main__":
    app()
