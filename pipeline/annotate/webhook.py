"""A webhook receiver that wakes the annotation sync, and the call that registers it in Label Studio.

Polling on a schedule finds new annotations late; Label Studio can instead POST an event for each
annotation created, updated or deleted. Two facts shape this receiver:

- Without Redis, Label Studio sends webhooks *inside the annotator's request* with a 1 s timeout,
  so the response must return at once: the receiver only records the event and answers; the
  trigger runs later on its own thread.
- Annotators submit in bursts, and a sync pulls everything that changed anyway, so events are
  debounced: the first accepted event opens a window of `debounce_s`, every event inside it is
  coalesced, and `trigger` is called once, at the window's end, with a summary of the burst.

The receiver does no sync work itself: `trigger` (e.g. "start the annotation-sync deployment")
decides what an event means. A shared secret header keeps strangers from waking it; the secret
is compared in constant time and never logged. Standard library only, no Prefect.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pipeline.http_json import send_json

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Curate-Webhook-Secret"
PATH = "/webhook"
MAX_BODY = 1 << 20  # 1 MB: an annotation event is a few kB; anything bigger is not Label Studio
DEFAULT_ACTIONS = ("ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED")


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class _Burst:
    """The events coalesced into one pending trigger."""

    opened: float  # time.monotonic() of the first event: the window runs from here
    actions: Counter[str] = field(default_factory=Counter)
    projects: set[int] = field(default_factory=set)
    tasks: set[int] = field(default_factory=set)
    first_at: str = field(default_factory=_now_iso)
    last_at: str = ""

    def add(self, event: dict[str, Any]) -> None:
        self.actions[event["action"]] += 1
        project = event.get("project")
        pid = project.get("id") if isinstance(project, dict) else project
        if isinstance(pid, int):
            self.projects.add(pid)
        task = event.get("task")
        tid = task.get("id") if isinstance(task, dict) else task
        if isinstance(tid, int):
            self.tasks.add(tid)
        self.last_at = _now_iso()

    def summary(self) -> dict[str, Any]:
        return {"actions": dict(self.actions), "projects": sorted(self.projects), "tasks": len(self.tasks),
                "first_at": self.first_at, "last_at": self.last_at}


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        # The request line only (never headers, so never the secret), at debug level.
        log.debug("webhook %s - " + format, self.address_string(), *args)

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        send_json(self, status, body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._reply(405 if self.path == PATH else 404, {"error": "POST only" if self.path == PATH else "not found"})

    def do_POST(self) -> None:  # noqa: N802
        if self.path != PATH:
            return self._reply(404, {"error": "not found"})
        status, body = self.server.receiver._handle(self.headers.get(SECRET_HEADER), self.headers, self.rfile)
        self._reply(status, body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hung client must not keep the process alive at exit
    receiver: "WebhookReceiver"


class WebhookReceiver:
    """POST /webhook -> debounced `trigger(summary)` on a background thread. Use as a context manager."""

    def __init__(self, trigger: Callable[[dict[str, Any]], None], secret: str, host: str = "127.0.0.1",
                 port: int = 0, debounce_s: float = 5.0, actions: Iterable[str] = DEFAULT_ACTIONS):
        if not secret:
            raise ValueError("a webhook secret is required: without it anyone who can reach the port can trigger")
        self.trigger = trigger
        self._secret = secret.encode()
        self.host, self.port = host, port
        self.debounce_s = debounce_s
        self.actions = frozenset(actions)
        self.received = self.accepted = self.ignored = self.triggered = self.refused = self.failed = 0
        self._cond = threading.Condition()
        self._burst: _Burst | None = None
        self._stopping = False
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{PATH}"

    # -- lifecycle
    def start(self) -> "WebhookReceiver":
        self._server = _Server((self.host, self.port), _Handler)
        self._server.receiver = self
        self.port = self._server.server_address[1]  # the real one when port=0
        self._stopping = False
        self._threads = [threading.Thread(target=self._server.serve_forever, name="webhook-http", daemon=True),
                         threading.Thread(target=self._run_triggers, name="webhook-trigger", daemon=True)]
        for t in self._threads:
            t.start()
        log.info("webhook receiver listening on %s", self.url)
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop listening; a pending burst is triggered now rather than lost."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for t in self._threads:
            t.join(timeout_s)
        self._server = None

    def __enter__(self) -> "WebhookReceiver":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- requests (on the HTTP server's threads)
    def _handle(self, secret: str | None, headers: Any, body: Any) -> tuple[int, dict[str, Any]]:
        with self._cond:
            self.received += 1
        if secret is None or not hmac.compare_digest(secret.encode(), self._secret):
            with self._cond:
                self.refused += 1
            return 403, {"error": f"missing or wrong {SECRET_HEADER}"}
        try:
            length = int(headers.get("Content-Length") or 0)
        except ValueError:
            return 400, {"error": "bad Content-Length"}
        if length > MAX_BODY:
            return 413, {"error": f"body over {MAX_BODY} bytes"}
        try:
            event = json.loads(body.read(length) or b"null")
        except ValueError:
            return 400, {"error": "body is not JSON"}
        if not isinstance(event, dict) or not isinstance(event.get("action"), str):
            return 400, {"error": "expected a JSON object with an 'action'"}
        if event["action"] not in self.actions:
            with self._cond:
                self.ignored += 1
            return 200, {"status": "ignored"}
        self._accept(event)
        return 200, {"status": "accepted"}

    def _accept(self, event: dict[str, Any]) -> None:
        with self._cond:
            self.accepted += 1
            if self._burst is None:
                self._burst = _Burst(opened=time.monotonic())
                self._cond.notify_all()  # wake the trigger thread: a window just opened
            self._burst.add(event)

    # -- triggers (one thread, so triggers never overlap)
    def _next_burst(self) -> _Burst | None:
        """Wait for a window to open and close; None when stopping with nothing pending."""
        with self._cond:
            while self._burst is None and not self._stopping:
                self._cond.wait()
            while self._burst is not None and not self._stopping:
                left = self._burst.opened + self.debounce_s - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            burst, self._burst = self._burst, None  # events from now on open the next window
            return burst

    def _run_triggers(self) -> None:
        while True:
            burst = self._next_burst()
            if burst is None:
                return
            summary = burst.summary()
            try:
                self.trigger(summary)
                with self._cond:
                    self.triggered += 1
                log.info("webhook triggered: %s", summary)
            except Exception:  # noqa: BLE001 - one failed trigger must not end the receiver
                with self._cond:
                    self.failed += 1
                log.exception("webhook trigger failed for %s", summary)


def register_webhook(sdk: Any, project_id: int, url: str, secret: str,
                     actions: Iterable[str] = DEFAULT_ACTIONS) -> int:
    """Create, or bring up to date, the project's webhook to `url`; returns its id.

    Idempotent: a webhook with the same url is updated in place (headers, so a rotated secret
    takes effect, and actions); duplicates left by earlier runs are deleted so each event is
    delivered once. `sdk` is a `label_studio_sdk.LabelStudio`.
    """
    actions = list(actions)
    headers = {SECRET_HEADER: secret}
    # The SDK types `project` as a string here (a query parameter); the server filters by it.
    same = sorted((w for w in sdk.webhooks.list(project=str(project_id))
                   if w.url == url and w.project == project_id), key=lambda w: w.id)
    if not same:
        return sdk.webhooks.create(url=url, project=project_id, actions=actions, send_payload=True,
                                   headers=headers, is_active=True).id
    keep, *extra = same
    sdk.webhooks.update(keep.id, url=url, actions=actions, send_payload=True, headers=headers, is_active=True)
    for w in extra:
        sdk.webhooks.delete(w.id)
    return keep.id
