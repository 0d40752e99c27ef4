"""Deploy the annotation loop: "annotation-sync/annotation-sync" and "retrain/retrain".

    # serve: this process registers both deployments and runs their scheduled and triggered runs
    python deploy/annotation_deployment.py --config /abs/path/config.yaml

    # work pool: a `prefect worker` on a machine with this repository runs the flow runs
    python deploy/annotation_deployment.py --config /abs/path/config.yaml --work-pool curation-pool

- annotation-sync: every 15 minutes, and whenever the webhook receiver (`python -m flows.webhook`)
  sends `curate.annotations.submitted`: pull what changed and send an event per newly accepted
  decision. One run at a time: an overlapping one is dropped (the running one pulls it all).
- retrain: no schedule; its triggers start it when `annotate.retrain_threshold` decisions are
  accepted within `annotate.retrain_window_s`, or when a sync finds the threshold reached since
  the last retrain. One run at a time: a trigger that arrives during a retrain is dropped (the
  next sync sends `curate.retrain.due` again if decisions are still waiting).

Settings: CURATE_CONFIG, CURATE_SYNC_CRON (default every 15 minutes), CURATE_TIMEZONE,
CURATE_WORK_POOL; the server's URL and token: see deploy/annotation_secrets.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
ENTRYPOINT = "flows/annotation.py:annotation_sync_flow"
RETRAIN_ENTRYPOINT = "flows/annotation.py:retrain_flow"
DEPLOYMENT = "annotation-sync"
RETRAIN_DEPLOYMENT = "retrain"
DEFAULT_CRON = "*/15 * * * *"


def retrain_deployment(config_path: str) -> tuple[object, str, str, dict[str, object]]:
    """The retrain deployment (flow, entrypoint, name, options), its triggers from the config."""
    from deploy.curation_deployment import deployment_options
    from flows.annotation import retrain_flow
    from flows.events import retrain_triggers
    from pipeline.config import load_config

    cfg = load_config(config_path)
    triggers = retrain_triggers(cfg.run.out_dir, cfg.annotate.retrain_threshold, cfg.annotate.retrain_window_s,
                                config_path)
    options = deployment_options(None, {"config_path": config_path}, "CANCEL_NEW", triggers)
    return retrain_flow, RETRAIN_ENTRYPOINT, RETRAIN_DEPLOYMENT, options


def main(argv: list[str] | None = None) -> None:
    sys.path.insert(0, str(REPO_ROOT))
    from deploy.curation_deployment import deploy_or_serve, flow_parameters, parse_args

    args = parse_args(argv, __doc__, DEPLOYMENT, "CURATE_SYNC_CRON", DEFAULT_CRON)
    if not args.config:
        raise SystemExit("set --config or CURATE_CONFIG: the annotation loop needs the pipeline's config")
    from flows.annotation import annotation_sync_flow
    from flows.events import sync_triggers

    params = flow_parameters(args.config)  # validated now, not at the first scheduled run
    deploy_or_serve(annotation_sync_flow, ENTRYPOINT, args, params, collision="CANCEL_NEW",
                    triggers=sync_triggers(params["config_path"]),
                    also=[retrain_deployment(params["config_path"])])


if __name__ == "__main__":
    main()
