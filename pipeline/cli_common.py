"""What the command lines (`cli.py`, `cli_annotate.py`) share: the consoles, the config loader, options."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.text import Text

from pipeline.config import ConfigError, PipelineConfig
from pipeline.run_config import resolve_run_config

# An error is one line in a log: never wrapped at rich's 80 columns when stderr is not a terminal.
console = Console(stderr=True, soft_wrap=not sys.stderr.isatty())
# Piped output (CI logs, files) gets a wide page instead of rich's 80-column default.
out = Console(width=None if sys.stdout.isatty() else 160)
# Set by `curate --debug`: errors show their traceback.
state = {"debug": False}


class ExecutorOpt(str, Enum):
    local = "local"
    dask = "dask"


def load_run_config(config: Optional[Path], out_dir: Optional[Path], executor: Optional[ExecutorOpt] = None,
            scheduler: Optional[str] = None) -> PipelineConfig:
    if config is None:
        console.print("[bold]No --config: running the demo[/] (chatterbot dialogues, stdlib code, SpamAssassin)")
    try:
        cfg = resolve_run_config(config, None, out_dir, prepare_demo=True)
    except ConfigError as exc:
        console.print(Text(str(exc), style="red"))
        raise typer.Exit(2) from None
    if scheduler is not None:
        cfg.run.executor, cfg.run.dask.address = "dask", scheduler
    if executor is not None:
        cfg.run.executor = executor.value
    return cfg
