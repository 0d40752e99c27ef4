"""Deploy the annotation sync ("annotation-sync/annotation-sync") on a schedule.

    # serve: this process registers the deployment and runs its scheduled and triggered runs
    python deploy/annotation_deployment.py --config /abs/path/config.yaml

    # work pool: a `prefect worker` on a machine with this repository runs the flow runs
    python deploy/annotation_deployment.py --config /abs/path/config.yaml --work-pool curation-pool

Each run pulls what changed in Label Studio and, once `annotate.retrain_threshold` new decisions
are accepted, retrains (split -> train -> evaluate) and publishes the metric change. The webhook
receiver (`python -m flows.webhook`) triggers the same deployment between scheduled runs.
Settings: CURATE_CONFIG, CURATE_SYNC_CRON (default every 15 minutes), CURATE_TIMEZONE,
CURATE_WORK_POOL; the server's URL and token: see deploy/annotation_secrets.py.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
ENTRYPOINT = "flows/annotation.py:annotation_sync_flow"
DEPLOYMENT = "annotation-sync"
DEFAULT_CRON = "*/15 * * * *"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default=os.environ.get("CURATE_CONFIG"), help="pipeline YAML (env CURATE_CONFIG)")
    p.add_argument("--cron", default=os.environ.get("CURATE_SYNC_CRON", DEFAULT_CRON), help="env CURATE_SYNC_CRON")
    p.add_argument("--timezone", default=os.environ.get("CURATE_TIMEZONE", "UTC"))
    p.add_argument("--work-pool", default=os.environ.get("CURATE_WORK_POOL"))
    p.add_argument("--name", default=DEPLOYMENT)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT))
    from prefect.schedules import Cron

    from deploy.curation_deployment import flow_parameters
    from flows.annotation import annotation_sync_flow

    params = flow_parameters(args.config)  # validated now, not at the first scheduled run
    schedule = Cron(args.cron, timezone=args.timezone)
    if args.work_pool:
        flow = annotation_sync_flow.from_source(source=str(REPO_ROOT), entrypoint=ENTRYPOINT)
        flow.deploy(name=args.name, work_pool_name=args.work_pool, schedule=schedule, parameters=params,
                    build=False, push=False)
    else:
        from prefect import serve

        serve(annotation_sync_flow.to_deployment(name=args.name, schedule=schedule, parameters=params))


if __name__ == "__main__":
    main()
