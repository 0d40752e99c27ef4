"""`curate export`: a data version as a Hugging Face DatasetDict, JSONL and Parquet, with its card."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.text import Text

from pipeline.cli_common import console, out


class FormatOpt(str, Enum):
    auto = "auto"
    messages = "messages"
    prompt_completion = "prompt_completion"
    text_label = "text_label"


def export(
    dest: Optional[Path] = typer.Option(None, "--out", help="folder to write (must not exist or be empty)"),
    run_dir: Path = typer.Option(Path("runs/demo"), "--run-dir", help="the run directory holding the catalog"),
    version: Optional[str] = typer.Option(None, "--version", help="data version (prefix), model id, run id or "
                                          "variant; default: the latest run's current data"),
    task: Optional[str] = typer.Option(None, "--task", help="the task, when the version names several"),
    fmt: FormatOpt = typer.Option(FormatOpt.auto, "--format", help="messages (TRL conversational), "
                                  "prompt_completion, or text_label; auto: text_label for classification, "
                                  "messages otherwise"),
    push: Optional[str] = typer.Option(None, "--push", help="also push to this Hub dataset repo, on a branch "
                                       "named by the data version"),
    private: bool = typer.Option(False, "--private", help="create the Hub repo private"),
) -> None:
    """A data version for other tools: DatasetDict (save_to_disk or push_to_hub), JSONL, Parquet, dataset card."""
    from pipeline.export.formats import FormatError
    from pipeline.export.version import ExportError
    from pipeline.export.write import export_version

    try:
        done = export_version(run_dir, dest, ref=version, task=task, fmt=fmt.value, push_to=push,
                              private=private or None)
    except (ExportError, FormatError) as exc:
        console.print(Text(str(exc), style="red"))
        raise typer.Exit(2) from None
    counts = ", ".join(f"{k} {v:,}" for k, v in done.counts.items())
    out.print(f"[bold]{done.task}[/] data version {done.version[:12]} as {done.format}: {counts}")
    if done.out is not None:
        out.print(f"written: {done.out}/dataset (datasets.load_from_disk), {done.out}/jsonl, {done.out}/parquet, "
                  f"{done.out}/README.md (dataset card)")
    if done.pushed:
        out.print(f"pushed: {done.pushed}")
