"""The run's config from what an entry point was given: a YAML path, a mapping, or nothing (the demo).

The command line, the Prefect flows and the deployments all resolve a run's config here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.config import ConfigError, PipelineConfig, load_config, parse_config, resolve_paths


def resolve_run_config(config_path: str | Path | None = None, config: dict[str, Any] | None = None,
                       out_dir: str | Path | None = None, *, prepare_demo: bool = False) -> PipelineConfig:
    """One of a YAML path or a config mapping (relative paths against the working folder); with
    neither, the demo pipeline (its data installed first with `prepare_demo`). `out_dir`
    overrides `run.out_dir`."""
    if config_path and config:
        raise ConfigError("give config_path or config, not both")
    if config_path:
        cfg = load_config(config_path)
    elif config is not None:
        cfg = resolve_paths(parse_config(config), Path.cwd())
    else:
        from pipeline.demo.config import demo_config

        if prepare_demo:
            from pipeline.demo.data import prepare_all

            prepare_all()
        cfg = demo_config(out_dir or "runs/demo")
    if out_dir:
        cfg.run.out_dir = str(Path(out_dir).expanduser().resolve())
    return cfg
