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

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
ENTRYPOINT = "flows/annotation.py:annotation_sync_flow"
DEPLOYMENT = "annotation-sync"
DEFAULT_CRON = "*/15 * * * *"


def main(argv: list[str] | None = None) -> None:
    sys.path.insert(0, str(REPO_ROOT))
    from deploy.curation_deployment import deploy_or_serve, flow_parameters, parse_args

    args = parse_args(argv, __doc__, DEPLOYMENT, "CURATE_SYNC_CRON", DEFAULT_CRON)
    from flows.annotation import annotation_sync_flow

    # The config is validated now, not at the first scheduled run.
    deploy_or_serve(annotation_sync_flow, ENTRYPOINT, args, flow_parameters(args.config))


if __name__ == "__main__":
    main()
