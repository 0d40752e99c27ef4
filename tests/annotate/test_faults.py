"""Faults against a real Label Studio server: it stops mid-push and mid-pull, responses get lost,
requests fail transiently, the token is wrong. Re-runs finish the work; every task and annotation
is counted: none duplicated, none lost."""

from __future__ import annotations

import time

import httpx
import pyarrow as pa
import pyarrow.parquet  # noqa: F401  (pa.parquet)
import pytest

from pipeline.annotate.client import AnnotationServerError, AuthError, RetryPolicy, SdkClient
from pipeline.annotate.label_configs import annotation_result, label_config
from pipeline.annotate.pull import pull_annotations
from pipeline.annotate.push import PushConfig, push_records
from pipeline.annotate.store import AnnotationStore
from pipeline.records import empty_record, record_id, records_to_table

FAST = RetryPolicy(attempts=2, base_s=0.05, max_s=0.1)


@pytest.fixture(scope="module")
def server(label_studio_server):
    return label_studio_server


def records(n: int, tag: str) -> tuple[pa.Table, pa.Table]:
    rows = []
    for i in range(n):
        fields = {"text": f"{tag} record number {i} about nothing much", "label": "ab"[i % 2]}
        rid = record_id("classification", tag, fields)
        rows.append(empty_record(id=rid, kind="classification", source=tag, group_id=rid, **fields))
    table = records_to_table(rows)
    selected = pa.table({"id": table.column("id"), "strategy": ["random"] * n, "reason": ["audit"] * n,
                         "context_id": pa.nulls(n, pa.string())})
    return table, selected


def project(client: SdkClient, title: str) -> int:
    return client.ensure_project(title, label_config("classification", ["a", "b"])).id


def assert_each_once(client: SdkClient, pid: int, n: int) -> None:
    index = client.task_index(pid)
    assert len(index) == n and all(len(ids) == 1 for ids in index.values())


def test_server_stopped_mid_push_then_rerun_completes(server, tmp_path):
    client = SdkClient(server.url, server.token, retry=FAST)
    pid = project(client, "fault push")
    table, selected = records(200, "push")
    store = AnnotationStore(tmp_path / "store")

    def stop_after_two(batch: int, imported: int) -> None:
        if batch == 1:
            server.stop()

    with pytest.raises(AnnotationServerError):
        push_records(client, pid, table, selected, store, PushConfig(batch_size=50), on_batch=stop_after_two)
    server.start()
    assert_each_once(client, pid, 100)
    done = push_records(client, pid, table, selected, store, PushConfig(batch_size=50))
    assert (done["counts"]["already_present"], done["counts"]["imported"]) == (100, 100)
    assert_each_once(client, pid, 200)
    assert store.ledger().num_rows == 200


class LoseFirstImportResponse(httpx.BaseTransport):
    """Forwards every request to the real server, but loses the response of the first import:
    the server has imported the tasks, the client sees a timeout."""

    def __init__(self) -> None:
        self.inner, self.lost = httpx.HTTPTransport(), 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST" and request.url.path.endswith("/import") and not self.lost:
            self.lost += 1
            response.close()
            raise httpx.ReadTimeout("response lost", request=request)
        return response


def test_import_whose_response_was_lost_is_not_imported_twice(server, tmp_path):
    transport = LoseFirstImportResponse()
    client = SdkClient(server.url, server.token, retry=FAST, transport=transport)
    pid = project(client, "lost response")
    table, selected = records(30, "lost")
    done = push_records(client, pid, table, selected, AnnotationStore(tmp_path / "s"), PushConfig(batch_size=10))
    assert transport.lost == 1
    assert done["counts"]["landed_before_failure"] == 10 and done["counts"]["imported"] == 30
    assert_each_once(client, pid, 30)


def test_server_stopped_mid_pull_then_rerun_loses_and_duplicates_nothing(server, tmp_path):
    client = SdkClient(server.url, server.token, retry=FAST)
    pid = project(client, "fault pull")
    table, selected = records(30, "pull")
    push_records(client, pid, table, selected, AnnotationStore(tmp_path / "push"), PushConfig())
    me = client.check()["id"]
    for i, ids in enumerate(sorted(client.task_index(pid).values())):
        client.sdk.annotations.create(id=ids[0], result=annotation_result("classification", label="ab"[i % 2]),
                                      completed_by=me)

    class StopsAfterFirstPage(SdkClient):
        def changed_tasks(self, project_id, since, page_size=500):
            for i, page in enumerate(super().changed_tasks(project_id, since, page_size)):
                yield page
                if i == 0:
                    server.stop()

    store = AnnotationStore(tmp_path / "pull")
    with pytest.raises(AnnotationServerError):
        pull_annotations(StopsAfterFirstPage(server.url, server.token, retry=FAST), pid, store, page_size=10)
    assert store.versions().num_rows == 10 and store.state()["cursor"] is None  # the page is kept, the cursor not moved
    server.start()
    rerun = pull_annotations(client, pid, store, page_size=10)
    assert (rerun["new"], rerun["unchanged"]) == (20, 10)
    versions = store.versions().to_pylist()
    assert len(versions) == 30 and len({v["annotation_id"] for v in versions}) == 30
    assert pull_annotations(client, pid, store, page_size=10)["new"] == 0


class FailFirst(httpx.BaseTransport):
    """The first `n` requests get a 503 (or a refused connection) before reaching the server."""

    def __init__(self, n: int, refuse: bool = False) -> None:
        self.inner, self.left, self.refuse = httpx.HTTPTransport(), n, refuse

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.left:
            self.left -= 1
            if self.refuse:
                raise httpx.ConnectError("connection refused", request=request)
            return httpx.Response(503, json={"detail": "try again"}, request=request)
        return self.inner.handle_request(request)


def test_transient_errors_are_retried_with_backoff(server, tmp_path):
    slept: list[float] = []
    policy = RetryPolicy(attempts=5, base_s=0.2, max_s=5.0, sleep=slept.append)
    client = SdkClient(server.url, server.token, retry=policy, transport=FailFirst(3))
    assert client.check()["email"]
    assert client.retries == 3 and len(slept) == 3
    assert all(0 <= s <= 0.2 * 2 ** i for i, s in enumerate(slept))  # full jitter under a doubling cap
    refused = SdkClient(server.url, server.token, retry=FAST, transport=FailFirst(1, refuse=True))
    table, selected = records(5, "refused")
    pid = project(refused, "refused once")
    done = push_records(refused, pid, table, selected, AnnotationStore(tmp_path / "r"), PushConfig())
    assert done["counts"]["imported"] == 5 and refused.retries == 1
    with pytest.raises(AnnotationServerError, match="after 2 tries"):
        SdkClient(server.url, server.token, retry=FAST, transport=FailFirst(2)).check()


def test_wrong_token_fails_fast_without_showing_it(server, capsys):
    wrong = "wrong-token-" + "7" * 20
    client = SdkClient(server.url, wrong, retry=RetryPolicy(attempts=5, base_s=1.0))
    started = time.perf_counter()
    with pytest.raises(AuthError) as err:
        client.check()
    assert time.perf_counter() - started < 5 and client.retries == 0
    assert "refused the API token" in str(err.value) and wrong not in str(err.value)
    assert err.value.__cause__ is None and wrong not in repr(err.value)
    out = capsys.readouterr()
    assert wrong not in out.out + out.err


def test_an_interrupted_push_is_finished_with_the_same_records_before_new_ones(server, tmp_path):
    from pipeline.annotate.config import AnnotateConfig
    from pipeline.annotate.sync import PENDING, push_kind, store_for

    config = AnnotateConfig(project="resume test", select={"strategies": [{"name": "random", "budget": 40}]},
                            push={"batch_size": 10})
    client = SdkClient(server.url, server.token, retry=FAST)
    pid = client.ensure_project("resume test classification", label_config("classification", ["a", "b"])).id
    table, _ = records(100, "resume")

    def stop_after_first(batch: int, imported: int) -> None:
        if batch == 0:
            server.stop()

    with pytest.raises(AnnotationServerError):
        push_kind(client, config, tmp_path, pid, "classification", table, on_batch=stop_after_first)
    store = store_for(tmp_path, config, "classification")
    chosen = set(pa.parquet.read_table(store.root / PENDING).column("id").to_pylist())
    assert len(chosen) == 40 and store.ledger().num_rows == 10
    server.start()
    resumed = push_kind(client, config, tmp_path, pid, "classification", table)
    assert resumed["selection"]["counts"]["resumed"] and resumed["counts"]["imported"] == 30
    assert set(store.ledger().column("record_id").to_pylist()) == chosen and not (store.root / PENDING).exists()
    following = push_kind(client, config, tmp_path, pid, "classification", table)
    assert following["counts"]["imported"] == 40 and store.ledger().num_rows == 80
    assert_each_once(client, pid, 80)
