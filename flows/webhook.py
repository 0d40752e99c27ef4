"""Serve the Label Studio webhook receiver, and start the annotation-sync deployment when it fires.

The receiver (pipeline/annotate/webhook.py) debounces annotation events; here its trigger is
"create a flow run of the sync deployment" and nothing more: `run_deployment(timeout=0)` returns
as soon as the run is scheduled, and the deployment's own serve process or worker runs it, with
its retries and logs in Prefect. A burst of annotations thus becomes one sync run, not fifty.

    CURATE_WEBHOOK_SECRET=... python -m flows.webhook --port 9000

The secret comes from the environment only: command-line arguments show up in `ps` and shell
history, and it is never logged.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

from pipeline.annotate.webhook import WebhookReceiver

log = logging.getLogger("flows.webhook")

DEFAULT_DEPLOYMENT = "annotation-sync/annotation-sync"
SECRET_ENV = "CURATE_WEBHOOK_SECRET"


def deployment_trigger(deployment: str = DEFAULT_DEPLOYMENT) -> Callable[[dict[str, Any]], None]:
    """A trigger that schedules one run of `deployment` ("flow name/deployment name") and returns."""
    from prefect.deployments import run_deployment

    def trigger(summary: dict[str, Any]) -> None:
        # timeout=0: return once the run exists, do not wait for it; as_subflow=False: this
        # process is no flow, and the run must stand on its own in the UI.
        run = run_deployment(name=deployment, timeout=0, as_subflow=False, tags=["webhook"])
        log.info("started %s run %s for %s", deployment, run.id, summary)

    return trigger


def read_secret(secret_env: str = SECRET_ENV) -> str:
    secret = os.environ.get(secret_env, "")
    if not secret:
        raise SystemExit(f"set {secret_env} to the shared secret that Label Studio sends in the "
                         "X-Curate-Webhook-Secret header (see deploy/README.md)")
    return secret


def serve_webhook(deployment: str = DEFAULT_DEPLOYMENT, host: str = "127.0.0.1", port: int = 9000,
                  secret_env: str = SECRET_ENV, debounce_s: float = 5.0,
                  stop: threading.Event | None = None) -> WebhookReceiver:
    """Receive webhooks until interrupted (Ctrl-C, SIGTERM, or `stop` set); returns the stopped receiver."""
    secret = read_secret(secret_env)  # first: a missing secret fails before Prefect is even imported
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        log.warning("PREFECT_API_URL is not set: runs go to a temporary server that no worker watches")
    stop = stop or threading.Event()
    receiver = WebhookReceiver(deployment_trigger(deployment), secret, host=host, port=port, debounce_s=debounce_s)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())  # a service manager stops us with SIGTERM
    with receiver:
        log.info("waking %s on annotation events at %s", deployment, receiver.url)
        try:
            while not stop.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
    log.info("webhook receiver stopped: %d received, %d accepted, %d ignored, %d refused, %d triggered",
             receiver.received, receiver.accepted, receiver.ignored, receiver.refused, receiver.triggered)
    return receiver


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--deployment", default=DEFAULT_DEPLOYMENT, help="flow name/deployment name to run")
    p.add_argument("--host", default="127.0.0.1", help="bind address (put a TLS reverse proxy in front)")
    p.add_argument("--port", type=int, default=9000)
    p.add_argument("--debounce", type=float, default=5.0, help="seconds to coalesce a burst of events")
    p.add_argument("--secret-env", default=SECRET_ENV, help="environment variable that holds the secret")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    serve_webhook(args.deployment, args.host, args.port, args.secret_env, args.debounce)


if __name__ == "__main__":
    main()
