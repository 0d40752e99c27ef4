"""The webhook receiver over real HTTP, then end to end: a real Label Studio server calls it on annotation."""

from __future__ import annotations

import http.client
import json
import contextvars
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from pipeline.annotate.webhook import MAX_BODY, SECRET_HEADER, WebhookReceiver, register_webhook

SECRET = "s3cret-webhook-value"


class Calls:
    """What the trigger was called with, and a way to wait for it."""

    def __init__(self, fail_first: bool = False) -> None:
        self.summaries: list[dict[str, Any]] = []
        self.cond = threading.Condition()
        self.fail_first = fail_first

    def __call__(self, summary: dict[str, Any]) -> None:
        with self.cond:
            self.summaries.append(summary)
            self.cond.notify_all()
        if self.fail_first and len(self.summaries) == 1:
            raise RuntimeError("the Prefect API is down")

    def wait(self, n: int, timeout_s: float = 10.0) -> list[dict[str, Any]]:
        with self.cond:
            self.cond.wait_for(lambda: len(self.summaries) >= n, timeout_s)
            return list(self.summaries)


def post(url: str, body: Any, secret: str | None = SECRET, raw: bytes | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json", **({SECRET_HEADER: secret} if secret is not None else {})}
    data = raw if raw is not None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def event(action: str = "ANNOTATION_CREATED", project: int = 7, task: int = 1) -> dict[str, Any]:
    return {"action": action, "project": {"id": project, "title": "p"}, "annotation": {"id": task * 10},
            "task": {"id": task, "data": {"text": "x"}}}


def test_a_missing_or_wrong_secret_is_refused_and_triggers_nothing():
    calls = Calls()
    with WebhookReceiver(calls, SECRET, debounce_s=0.1) as rx:
        assert post(rx.url, event(), secret=None)[0] == 403
        assert post(rx.url, event(), secret="wrong")[0] == 403
        time.sleep(0.4)
    assert (rx.refused, rx.accepted, rx.triggered) == (2, 0, 0) and calls.summaries == []


def test_ignored_action_bad_json_wrong_path_and_oversized_body():
    calls = Calls()
    with WebhookReceiver(calls, SECRET, debounce_s=0.1) as rx:
        assert post(rx.url, event("PROJECT_UPDATED")) == (200, {"status": "ignored"})
        assert post(rx.url, None, raw=b"{not json")[0] == 400
        assert post(rx.url, [1, 2])[0] == 400  # JSON, but not an event
        assert post(rx.url.replace("/webhook", "/other"), event())[0] == 404
        conn = http.client.HTTPConnection(rx.host, rx.port, timeout=5)
        conn.putrequest("POST", "/webhook")
        conn.putheader(SECRET_HEADER, SECRET)
        conn.putheader("Content-Length", str(MAX_BODY + 1))
        conn.endheaders()  # the receiver answers from the header alone, before any body is read
        assert conn.getresponse().status == 413
        conn.close()
        time.sleep(0.4)
    assert (rx.ignored, rx.accepted, rx.triggered) == (1, 0, 0) and calls.summaries == []


def test_a_burst_is_one_trigger_and_a_later_event_another():
    calls = Calls()
    with WebhookReceiver(calls, SECRET, debounce_s=1.0) as rx:
        t0 = time.monotonic()
        for i in range(5):
            assert post(rx.url, event("ANNOTATION_UPDATED" if i == 4 else "ANNOTATION_CREATED", task=i % 3))[0] == 200
        assert time.monotonic() - t0 < 0.5  # answered at once: the trigger runs later, elsewhere
        first = calls.wait(1)
        assert len(first) == 1
        time.sleep(0.3)
        assert len(calls.summaries) == 1  # the window closed with one call, not one per event
        s = first[0]
        assert s["actions"] == {"ANNOTATION_CREATED": 4, "ANNOTATION_UPDATED": 1}
        assert s["projects"] == [7] and s["tasks"] == 3 and s["first_at"] <= s["last_at"]
        assert post(rx.url, event("ANNOTATIONS_DELETED", project=3))[0] == 200
        second = calls.wait(2)
    assert len(second) == 2 and second[1]["actions"] == {"ANNOTATIONS_DELETED": 1} and second[1]["projects"] == [3]
    assert (rx.received, rx.accepted, rx.triggered) == (6, 6, 2)


def test_a_failing_trigger_does_not_stop_the_receiver_and_stop_flushes():
    calls = Calls(fail_first=True)
    rx = WebhookReceiver(calls, SECRET, debounce_s=0.2).start()
    try:
        post(rx.url, event())
        calls.wait(1)
        post(rx.url, event())
        calls.wait(2)
        rx.debounce_s = 60.0  # a window that would outlive the test...
        post(rx.url, event())
    finally:
        rx.stop()  # ...is triggered on stop rather than lost
    assert len(calls.summaries) == 3 and (rx.failed, rx.triggered) == (1, 2)


# -- the served receiver sends a Prefect event per burst (flows/webhook.py), under the test harness

def test_serving_without_the_secret_names_the_variable(monkeypatch):
    from flows.webhook import serve_webhook

    monkeypatch.delenv("CURATE_TEST_WEBHOOK_SECRET", raising=False)
    with pytest.raises(SystemExit, match="CURATE_TEST_WEBHOOK_SECRET"):
        serve_webhook(secret_env="CURATE_TEST_WEBHOOK_SECRET")


@pytest.mark.prefect
def test_served_receiver_sends_one_event_per_burst(label_studio_boot, prefect_harness, monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

    from flows.events import SUBMITTED
    from flows.webhook import serve_webhook
    from pipeline.annotate.server import free_port

    monkeypatch.setenv("CURATE_TEST_WEBHOOK_SECRET", SECRET)
    port, stop, served = free_port(), threading.Event(), []
    # Served from this test's Prefect settings (the harness's API), as a main thread would be.
    context = contextvars.copy_context()
    server = threading.Thread(target=lambda: served.append(context.run(
        serve_webhook, port=port, secret_env="CURATE_TEST_WEBHOOK_SECRET", debounce_s=0.5, stop=stop)))
    server.start()
    try:
        url, deadline = f"http://127.0.0.1:{port}/webhook", time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                assert post(url, event())[0] == 200
                break
            except urllib.error.URLError:
                time.sleep(0.1)  # not listening yet
        assert post(url, event(task=2))[0] == 200 and post(url, event(task=3))[0] == 200
        events: list = []
        with get_client(sync_client=True) as c:
            while time.monotonic() < deadline + 20 and not events:
                time.sleep(0.5)
                # A new filter each time: its default time window ends when it is made.
                flt = EventFilter(event=EventNameFilter(name=[SUBMITTED]),
                                  resource=EventResourceFilter(id=[f"curate.webhook.127.0.0.1:{port}"]))
                events = c.read_events(flt, limit=50).events
    finally:
        stop.set()
        server.join(30)
    assert len(events) == 1 and events[0].payload["tasks"] == 3
    assert served and (served[0].accepted, served[0].triggered) == (3, 1)


# -- end to end against a real Label Studio server (~45 s to start a fresh one on 2 cores)

@pytest.fixture
def label_studio(label_studio_server):
    return label_studio_server  # shared by the annotation tests (tests/annotate/conftest.py)


def test_label_studio_annotations_wake_the_receiver(label_studio):
    from pipeline.annotate.client import SdkClient
    from pipeline.annotate.label_configs import annotation_result, label_config

    client = SdkClient(label_studio.url, label_studio.token)
    pid = client.ensure_project("webhook test", label_config("classification", ["a", "b"])).id
    (task_id,) = client.import_tasks(pid, [{"data": {
        "record_id": "r1", "kind": "classification", "reason": "low confidence", "strategy": "uncertainty",
        "context": "", "text": "hello", "label": "b"}}])
    calls = Calls()
    with WebhookReceiver(calls, SECRET, debounce_s=0.3) as rx:
        first = register_webhook(client.sdk, pid, rx.url, "old-secret")
        assert register_webhook(client.sdk, pid, rx.url, SECRET) == first  # found and updated, not duplicated
        hooks = [w for w in client.sdk.webhooks.list(project=str(pid)) if w.url == rx.url]
        assert [w.id for w in hooks] == [first] and hooks[0].headers == {SECRET_HEADER: SECRET}

        user = client.check()["id"]
        ann = client.sdk.annotations.create(id=task_id, result=annotation_result("classification", label="a"),
                                            completed_by=user)
        created = calls.wait(1, timeout_s=10)
        assert created and created[0]["actions"] == {"ANNOTATION_CREATED": 1}
        assert created[0]["projects"] == [pid] and created[0]["tasks"] == 1

        client.sdk.annotations.update(ann.id, result=annotation_result("classification", label="b"))
        updated = calls.wait(2, timeout_s=10)
    assert len(updated) == 2 and updated[1]["actions"] == {"ANNOTATION_UPDATED": 1}
    assert updated[1]["projects"] == [pid] and rx.refused == 0
