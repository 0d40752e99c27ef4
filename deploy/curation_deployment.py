"""Deploy the curation flow with a schedule. See deploy/README.md for the whole walk-through.

Two ways, one deployment ("curation/nightly-curation"):

    # serve: this process registers the deployment and runs its scheduled and triggered runs
    python deploy/curation_deployment.py --config /abs/path/config.yaml

    # work pool: register the deployment with a pool; a `prefect worker` runs the flow runs
    python deploy/curation_deployment.py --config /abs/path/config.yaml --work-pool curation-pool

Settings come from arguments or the environment: CURATE_CONFIG (the pipeline YAML; without
one the demo pipeline runs), CURATE_CRON (default "0 2 * * *"), CURATE_TIMEZONE (default
UTC) and CURATE_WORK_POOL (setting it selects the work-pool variant).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
ENTRYPOINT = "flows/curation.py:curation_flow"
DEPLOYMENT = "nightly-curation"
DEFAULT_CRON = "0 2 * * *"


def parse_args(argv: list[str] | None = None, description: str = __doc__, deployment: str = DEPLOYMENT,
               cron_env: str = "CURATE_CRON", default_cron: str = DEFAULT_CRON) -> argparse.Namespace:
    """The deployment scripts' shared arguments (this one's, or the annotation sync's defaults)."""
    p = argparse.ArgumentParser(description=description.split("\n\n")[0])
    p.add_argument("--config", default=os.environ.get("CURATE_CONFIG"), help="pipeline YAML (env CURATE_CONFIG)")
    p.add_argument("--cron", default=os.environ.get(cron_env, default_cron), help=f"schedule (env {cron_env})")
    p.add_argument("--timezone", default=os.environ.get("CURATE_TIMEZONE", "UTC"), help="the cron's time zone")
    p.add_argument("--work-pool", default=os.environ.get("CURATE_WORK_POOL"),
                   help="deploy to this work pool instead of serving from this process (env CURATE_WORK_POOL)")
    p.add_argument("--name", default=deployment, help="deployment name")
    return p.parse_args(argv)


def flow_parameters(config: str | None) -> dict[str, str]:
    # The run happens in another process and maybe another directory: pass an absolute path,
    # and fail now, not at 2 a.m., if the file is missing or invalid.
    if not config:
        return {}
    path = Path(config).expanduser().resolve()
    from pipeline.config import load_config

    load_config(path)
    return {"config_path": str(path)}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT))  # run as a script from anywhere
    from flows.curation import curation_flow

    deploy_or_serve(curation_flow, ENTRYPOINT, args, flow_parameters(args.config))


def concurrency(collision: str) -> object:
    """One run of a deployment at a time; an overlapping one waits (ENQUEUE) or is dropped
    (CANCEL_NEW) instead of failing on the run directory's lock."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

    return ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy(collision))


def deployment_options(args: argparse.Namespace | None, params: dict[str, str], collision: str,
                       triggers: list | None = None) -> dict[str, object]:
    """What every deployment of this project carries: parameters, a concurrency limit, and its
    schedule (when `args` gives a cron) and event triggers."""
    from prefect.schedules import Cron

    options: dict[str, object] = {"parameters": params, "concurrency_limit": concurrency(collision)}
    if args is not None and args.cron:
        options["schedule"] = Cron(args.cron, timezone=args.timezone)
    if triggers:
        options["triggers"] = triggers
    return options


def deploy_or_serve(flow: object, entrypoint: str, args: argparse.Namespace, params: dict[str, str],
                    collision: str = "ENQUEUE", triggers: list | None = None,
                    also: list[tuple[object, str, str, dict[str, object]]] = ()) -> None:
    """Register `flow` (and the `also` deployments: flow, entrypoint, name, options) with a work pool
    when one is named, else serve them all from this process."""
    deployments = [(flow, entrypoint, args.name, deployment_options(args, params, collision, triggers)), *also]
    if args.work_pool:
        # The worker loads the flows from the repository folder (a `set_working_directory` pull step).
        for fl, entry, name, options in deployments:
            source = fl.from_source(source=str(REPO_ROOT), entrypoint=entry)  # type: ignore[attr-defined]
            source.deploy(name=name, work_pool_name=args.work_pool, build=False, push=False, **options)
    else:
        from prefect import serve

        serve(*(fl.to_deployment(name=name, **options) for fl, _, name, options in deployments))  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
