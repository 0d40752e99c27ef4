"""Serve the Label Studio webhook receiver; each burst of annotations becomes one Prefect event.

The receiver (pipeline/annotate/webhook.py) coalesces annotation webhooks into bursts; here a
burst's action is "send `curate.annotations.submitted`" and nothing more. The annotation-sync
deployment's event trigger (deploy/) turns the event into a pull, run by the deployment's own
serve process or worker with its retries, concurrency limit and logs in Prefect. A burst of
annotations thus becomes one sync run, not fifty.

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

SECRET_ENV = "CURATE_WEBHOOK_SECRET"


def event_trigger(receiver_name: str) -> Callable[[dict[str, Any]], None]:
    """A trigger that sends one `curate.annotations.submitted` event per burst, with its summary.

    It runs on the receiver's own thread, which would not see Prefect settings made in this
    thread's context (a temporary API URL, a profile): the caller's context is captured here
    and each event is sent inside a copy of it."""
    import contextvars

    from prefect.events import emit_event

    from flows.events import SUBMITTED

    caller = contextvars.copy_context()

    def trigger(summary: dict[str, Any]) -> None:
        event = caller.copy().run(emit_event, event=SUBMITTED, payload=summary,
                                  resource={"prefect.resource.id": f"curate.webhook.{receiver_name}",
                                            "prefect.resource.name": receiver_name})
        log.info("sent %s (%s) for %s", SUBMITTED, getattr(event, "id", "not sent"), summary)

    return trigger


def read_secret(secret_env: str = SECRET_ENV) -> str:
    secret = os.environ.get(secret_env, "")
    if not secret:
        raise SystemExit(f"set {secret_env} to the shared secret that Label Studio sends in the "
                         "X-Curate-Webhook-Secret header (see deploy/README.md)")
    return secret


def serve_webhook(host: str = "127.0.0.1", port: int = 9000, secret_env: str = SECRET_ENV, debounce_s: float = 5.0,
                  stop: threading.Event | None = None) -> WebhookReceiver:
    """Receive webhooks until interrupted (Ctrl-C, SIGTERM, or `stop` set); returns the stopped receiver."""
    secret = read_secret(secret_env)  # first: a missing secret fails before Prefect is even imported
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        log.warning("PREFECT_API_URL is not set: events go to a temporary server that no deployment listens on")
    stop = stop or threading.Event()
    receiver = WebhookReceiver(event_trigger(f"{host}:{port}"), secret, host=host, port=port, debounce_s=debounce_s)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())  # a service manager stops us with SIGTERM
    with receiver:
        log.info("sending annotation events for webhooks received at %s", receiver.url)
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
    p.add_argument("--host", default="127.0.0.1", help="bind address (put a TLS reverse proxy in front)")
    p.add_argument("--port", type=int, default=9000)
    p.add_argument("--debounce", type=float, default=5.0, help="seconds to coalesce a burst of events")
    p.add_argument("--secret-env", default=SECRET_ENV, help="environment variable that holds the secret")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    serve_webhook(args.host, args.port, args.secret_env, args.debounce)


if __name__ == "__main__":
    main()
