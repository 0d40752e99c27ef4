"""The `curate` command line."""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table
from rich.text import Text

from pipeline.cli_common import ExecutorOpt, console, out, state
from pipeline.cli_common import load_run_config as _config
from pipeline.config import ConfigError, PipelineConfig

# Busy-waiting OpenMP threads slow torch's small CPU matmuls many times over when another
# process (a stage worker, a neighbour) holds a core; must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Curate SFT data: collect, clean, deduplicate, score, augment, split, train, inspect.")


@app.callback()
def _main(debug: bool = typer.Option(False, "--debug", help="show the traceback of an error, and the "
                                      "libraries' own warnings and progress bars")) -> None:
    state["debug"] = debug
    if not debug:
        quiet_libraries()


def quiet_libraries() -> None:
    """The console shows the pipeline's progress and results, not messages a user can do nothing
    about: transformers' per-model load reports (a new classifier head is "MISSING" by design),
    its warning that a text is longer than the model (training truncates it), weight-loading
    progress bars, and deprecation notices of libraries. Set before the libraries are imported
    (they read these settings once); `--debug` keeps them."""
    import os
    import warnings

    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    for category in (FutureWarning, DeprecationWarning):
        warnings.filterwarnings("ignore", category=category)


class Engine(str, Enum):
    prefect = "prefect"
    local = "local"


def _run(cfg: PipelineConfig, engine: Engine, until: str | None = None, only_ablation: bool = False) -> None:
    from pipeline.collect.base import SourceError
    from pipeline.executors import ExecutorError
    from pipeline.score.endpoint import EndpointError
    from pipeline.tracking import TrackingError

    try:
        run_id = _run_engine(cfg, engine, until, only_ablation)
    except (SourceError, ExecutorError, ConfigError, TrackingError, EndpointError) as exc:
        # A user's mistake (a path that matches nothing, a scheduler or tracking server out of reach): one line.
        if state["debug"]:
            raise
        console.print(Text(f"error: {exc}", style="red"), soft_wrap=True)
        raise typer.Exit(2) from None
    _print_inspect(Path(cfg.run.out_dir), run_id, examples=1)
    out.print(f"\nOutputs: [bold]{cfg.run.out_dir}/stages/[/]   catalog: {cfg.run.out_dir}/catalog.sqlite")
    out.print(f"Report:  [bold]{cfg.run.out_dir}/report.html[/]   details: curate inspect {cfg.run.out_dir}")


def _run_engine(cfg: PipelineConfig, engine: Engine, until: str | None, only_ablation: bool) -> str:
    from pipeline import runner

    runner.preflight(cfg)  # one line for a user's mistake, not a failed flow run's traceback
    if engine is Engine.prefect and until is None and not only_ablation:
        # Verified here: the 20 s default start-up of Prefect's ephemeral server is too short on
        # 2 cores, and analytics would try to reach the internet.
        os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        from flows.curation import run_curation

        return run_curation(cfg, show_progress=sys.stderr.isatty())["run_id"]
    from pipeline.progress import rich_progress

    with rich_progress() as factory:
        return runner.run_pipeline(cfg, factory, until=until, only_ablation=only_ablation).run_id


_CONFIG_OPT = typer.Option(None, "--config", "-c", help="pipeline YAML; without it, the demo")
_OUT_OPT = typer.Option(None, "--out", help="override run.out_dir")
_EXECUTOR_OPT = typer.Option(None, "--executor", help="where shard tasks run (overrides run.executor)")
_SCHEDULER_OPT = typer.Option(None, "--scheduler", help="a Dask scheduler's address (tcp://host:8786); implies dask")


@app.command()
def run(
    config: Optional[Path] = _CONFIG_OPT,
    out_dir: Optional[Path] = _OUT_OPT,
    engine: Engine = typer.Option(Engine.prefect, help="prefect: a Prefect flow run (no server needed); local: in-process"),
    executor: Optional[ExecutorOpt] = _EXECUTOR_OPT,
    scheduler: Optional[str] = _SCHEDULER_OPT,
) -> None:
    """Run the whole pipeline (as far as stages exist)."""
    _run(_config(config, out_dir, executor, scheduler), engine)


def _step_command(name: str, help_text: str) -> None:
    """`curate <step>`: the steps up to this one, from the step list (stored stages are reused)."""

    def command(config: Optional[Path] = _CONFIG_OPT, out_dir: Optional[Path] = _OUT_OPT,
                executor: Optional[ExecutorOpt] = _EXECUTOR_OPT, scheduler: Optional[str] = _SCHEDULER_OPT) -> None:
        _run(_config(config, out_dir, executor, scheduler), Engine.local, until=name)

    app.command(name, help=f"The steps up to {name}: {help_text} (stored stages are reused).")(command)


def _register_step_commands() -> None:
    from pipeline.steps import STEPS

    for step in STEPS:
        if step.name == "annotate":  # `curate annotate` is the review group; later steps apply annotations
            continue
        _step_command(step.name, step.help)
    _step_command("train", "then fine-tune and evaluate every `train` task on the current data")


_register_step_commands()


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
    """Write the run's HTML report: where records went, whether each stage helped, where the model is weak."""
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
        if c.intervals:
            t = Table("metric", f"B - A ({c.seeds} seeds each)", "95% interval", "verdict",
                      title="test metrics: paired over test items and seeds")
            for k, d in c.intervals.items():
                t.add_row(k, f"{d['value']:+.4f}", f"[{d['low']:+.4f}, {d['high']:+.4f}]", d["verdict"])
        else:
            t = Table("metric", "A", "B", "B - A", title="test metrics (one model each: no interval; train with "
                      "ablation.seeds >= 2 for one)")
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
            for k, ex in enumerate(st.examples.get(reason) or []):
                cell.append(("\n" if k else "") + f"{ex['origin']}\n", style="dim")  # one example after another
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

    t = Table("task", "variant", "seed", "data version", "train", "test", "test metrics", "TF-IDF + LR", title="Models")
    for m in models:
        t.add_row(m["task"], m["variant"], str(m["seed"]), m["data_version"][:12], f"{m['n_train']:,}",
                  f"{m['n_test']:,}", fmt(m["metrics"]), fmt(m["baseline_metrics"]))
    out.print(t)
    _print_tokens(models)
    for m in models:
        for warning in m.get("warnings") or []:
            out.print(f"[yellow]warning[/] {m['task']}/{m['variant']}: {warning}")
    from pipeline.tracking.champion import champion_line

    for m in models:
        if m.get("champion"):
            out.print(f"{m['task']}: {champion_line(m['champion'])}", soft_wrap=True)
    _print_effects(Catalog(run_dir).effects(run_id))


def _print_tokens(models: list[dict]) -> None:
    """SFT token accounting: one row per data version (seeds share their data) and split."""
    seen, rows = set(), []
    for m in models:
        if m.get("tokens") and (m["task"], m["data_version"]) not in seen:
            seen.add((m["task"], m["data_version"]))
            rows += [(m, split, c) for split, c in m["tokens"].items()]
    if not rows:
        return
    t = Table("task", "variant", "split", "records", "tokens/record", "truncated", "loss tokens", "dropped",
              title="Tokens under the model's tokenizer and chat template")
    for m, split, c in rows:
        t.add_row(m["task"], m["variant"], split, f"{c['records']:,}",
                  f"{c['tokens_per_record']:.0f}" if c["tokens_per_record"] is not None else "-",
                  f"{c['truncated_share']:.1%}" if c["truncated_share"] is not None else "-",
                  f"{c['loss_token_share']:.1%}" if c["loss_token_share"] is not None else "-", f"{c['dropped']:,}")
    out.print(t)


def _print_effects(effects: list[dict]) -> None:
    from pipeline.experiments.effects import describe

    if not effects:
        return
    t = Table("task", "variant", "metric", "mean over seeds [95% interval]", "stage effect", "against random control",
              "train cost", title=f"Effects ({effects[0]['n_seeds']} seeds; intervals over test items and seeds)")
    for e in effects:
        d = describe(e)
        t.add_row(e["task"], e["variant"], e["metric"], d["value"], d["vs_previous"], d["vs_control"], d["cost"])
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

from pipeline.cli_export import export  # noqa: E402
from pipeline.cli_models import models_app  # noqa: E402

app.command()(export)
app.add_typer(models_app, name="models")
app.add_typer(labelstudio_app, name="labelstudio")
app.add_typer(annotate_app, name="annotate")


if __name__ == "__main__":
    app()
