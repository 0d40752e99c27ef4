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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default=os.environ.get("CURATE_CONFIG"), help="pipeline YAML (env CURATE_CONFIG)")
    p.add_argument("--cron", default=os.environ.get("CURATE_CRON", DEFAULT_CRON), help="schedule (env CURATE_CRON)")
    p.add_argument("--timezone", default=os.environ.get("CURATE_TIMEZONE", "UTC"), help="the cron's time zone")
    p.add_argument("--work-pool", default=os.environ.get("CURATE_WORK_POOL"),
                   help="deploy to this work pool instead of serving from this process (env CURATE_WORK_POOL)")
    p.add_argument("--name", default=DEPLOYMENT, help="deployment name")
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
    from prefect.schedules import Cron

    from flows.curation import curation_flow

    params = flow_parameters(args.config)
    schedule = Cron(args.cron, timezone=args.timezone)
    if args.work_pool:
        # The worker loads the flow from the repository folder (a `set_working_directory` pull step).
        flow = curation_flow.from_source(source=str(REPO_ROOT), entrypoint=ENTRYPOINT)
        flow.deploy(name=args.name, work_pool_name=args.work_pool, schedule=schedule, parameters=params,
                    build=False, push=False)
    else:
        from prefect import serve

        serve(curation_flow.to_deployment(name=args.name, schedule=schedule, parameters=params))


if __name__ == "__main__":
    main()
