"""The one door to a Label Studio server: a small client interface, and its label-studio-sdk implementation.

Stages take an `AnnotationClient` as an argument and never build one themselves, so a test or
a flow decides which server they talk to. `SdkClient` wraps label-studio-sdk 2.x:

- transient failures (connection refused or reset, timeouts, 429 and 5xx) are retried with
  exponential backoff and jitter; a refused token (401/403) fails at once with a message that
  names the server and the variable to check, never the token;
- every HTTP request is counted (`requests`), so benchmarks and tests can see what a sync cost;
- imports are the one call that is not idempotent: after an ambiguous failure the caller must
  look again before retrying (see `push.py`), so `import_tasks` retries only failures that
  certainly reached no server (connection refused).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Protocol, TypeVar

T = TypeVar("T")
RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class AnnotationServerError(RuntimeError):
    """The server could not be reached or kept failing after every retry."""


class AuthError(AnnotationServerError):
    """The server refused the credentials: retrying cannot help."""


@dataclass(frozen=True)
class Project:
    id: int
    title: str
    created: bool  # made by this call
    updated: bool  # its label config was replaced by this call


class AnnotationClient(Protocol):
    """What the push and pull stages need from an annotation server."""

    requests: int

    def ensure_project(self, title: str, label_config: str, description: str = "",
                       maximum_annotations: int = 1) -> Project: ...

    def task_index(self, project_id: int, after_task_id: int = 0) -> dict[str, list[int]]:
        """record id -> task ids (more than one means duplicates) of tasks with id > after_task_id."""
        ...

    def import_tasks(self, project_id: int, tasks: list[dict[str, Any]]) -> list[int]: ...

    def label_config(self, project_id: int) -> str:
        """The project's labeling config XML: what annotators see, and what predictions must fit."""
        ...

    def set_model_version(self, project_id: int, model_version: str) -> None: ...

    def open_tasks(self, project_id: int) -> dict[str, int]: ...

    def import_predictions(self, project_id: int, predictions: list[dict[str, Any]]) -> int: ...

    def changed_tasks(self, project_id: int, since: str | None, page_size: int) -> Iterator[list[dict[str, Any]]]:
        """Pages of tasks updated after `since` (ISO time; None: all), each with its annotations."""
        ...

    def users(self) -> dict[int, str]:
        """user id -> e-mail, to name annotators."""
        ...

    def requeue(self, task_id: int, overlap: int) -> None:
        """Ask Label Studio for `overlap` annotations on the task: it goes back in annotators' queues."""
        ...


@dataclass
class RetryPolicy:
    attempts: int = 6  # tries in all, the first included
    base_s: float = 0.5
    max_s: float = 8.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def delay(self, attempt: int) -> float:
        # Full jitter: clients that failed together do not come back together.
        return random.uniform(0, min(self.max_s, self.base_s * 2 ** attempt))


def _status(exc: BaseException) -> int | None:
    return getattr(exc, "status_code", None)


def _transient(exc: BaseException) -> bool:
    import httpx

    return isinstance(exc, httpx.TransportError) or _status(exc) in RETRY_STATUS


def _refused(exc: BaseException) -> bool:
    import httpx

    return isinstance(exc, httpx.ConnectError)


class SdkClient:
    """label-studio-sdk against one server; `token` is a legacy API token or a personal access token."""

    def __init__(self, url: str, token: str, timeout_s: float = 60.0, retry: RetryPolicy | None = None,
                 transport: Any = None):
        import httpx
        from label_studio_sdk import LabelStudio

        self.url = url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.requests = 0
        self.retries = 0

        def count(_request: Any) -> None:
            self.requests += 1

        http = httpx.Client(timeout=timeout_s, event_hooks={"request": [count]}, transport=transport)
        # The SDK retries 5xx twice on its own by default, without jitter and uncounted; with its
        # public `max_retries=0`, one retry layer (ours) keeps the attempt count and the backoff
        # what RetryPolicy says.
        self._ls = LabelStudio(base_url=self.url, api_key=token, httpx_client=http, timeout=timeout_s, max_retries=0)

    # -- error handling
    def _call(self, what: str, fn: Callable[[], T], retry_if: Callable[[BaseException], bool] = _transient) -> T:
        for attempt in range(self.retry.attempts):
            try:
                return fn()
            except Exception as exc:  # noqa: BLE001 - sorted below: auth, transient, or not ours to handle
                if _status(exc) in (401, 403):
                    raise AuthError(f"Label Studio at {self.url} refused the API token ({_status(exc)}) while "
                                    f"trying to {what}: check CURATE_LS_TOKEN or the Secret block") from None
                if not retry_if(exc) or attempt == self.retry.attempts - 1:
                    if _transient(exc):
                        raise AnnotationServerError(f"could not {what} on {self.url} after {attempt + 1} "
                                                    f"tries: {type(exc).__name__}: {exc}") from exc
                    raise
                self.retries += 1
                self.retry.sleep(self.retry.delay(attempt))
        raise AssertionError("unreachable")

    def check(self) -> dict[str, Any]:
        """Who the token belongs to; fails fast on a wrong token."""
        me = self._call("identify the token's user", lambda: self._ls.users.whoami())
        return {"id": me.id, "email": me.email}

    # -- projects
    def ensure_project(self, title: str, label_config: str, description: str = "",
                       maximum_annotations: int = 1) -> Project:
        """The project titled `title`, created, or with its label config and overlap replaced when they differ."""
        found = self._call("list projects", lambda: [p for p in self._ls.projects.list(title=title, page_size=100)
                                                     if p.title == title])
        if not found:
            p = self._call("create a project", lambda: self._ls.projects.create(
                title=title, label_config=label_config, description=description,
                maximum_annotations=maximum_annotations))
            return Project(p.id, title, created=True, updated=False)
        pid = min(p.id for p in found)  # two with one title: always the oldest, so reruns agree
        current = self._call("read a project", lambda: self._ls.projects.get(pid))
        if (current.label_config or "").strip() == label_config.strip() \
                and current.maximum_annotations == maximum_annotations:
            return Project(pid, title, created=False, updated=False)
        self._call("update a project's label config", lambda: self._ls.projects.update(
            pid, label_config=label_config, description=description, maximum_annotations=maximum_annotations))
        return Project(pid, title, created=False, updated=True)

    # -- tasks
    def _pages(self, what: str, project_id: int, query: dict[str, Any], page_size: int,
               fields: str) -> Iterator[list[dict[str, Any]]]:
        """Pages fetched one request at a time, each retried on its own, so a failure mid-way
        does not restart the listing."""
        page = 1
        while True:
            def fetch(page: int = page) -> tuple[list[dict[str, Any]], bool]:
                pager = self._ls.tasks.list(project=project_id, page=page, page_size=page_size, fields=fields,
                                            query=json.dumps(query), resolve_uri=False)
                items = [t.model_dump(mode="json") for t in (pager.items or [])]
                return items, bool(pager.has_next) and len(items) == page_size

            try:
                items, more = self._call(what, fetch)
            except Exception as exc:  # noqa: BLE001
                if _status(exc) == 404:  # past the last page
                    return
                raise
            if items:
                yield items
            if not more:
                return
            page += 1

    def task_index(self, project_id: int, after_task_id: int = 0, page_size: int = 1000) -> dict[str, list[int]]:
        query = {"filters": {"conjunction": "and", "items": [
            {"filter": "filter:tasks:id", "operator": "greater", "type": "Number", "value": after_task_id}]},
            "ordering": ["tasks:id"]}
        index: dict[str, list[int]] = {}
        for page in self._pages("list tasks", project_id, query, page_size, "task_only"):
            for t in page:
                rid = (t.get("data") or {}).get("record_id")
                if rid:
                    index.setdefault(rid, []).append(t["id"])
        return index

    def open_tasks(self, project_id: int, page_size: int = 1000) -> dict[str, int]:
        """record id -> task id of the tasks still waiting for annotations (not `is_labeled`)."""
        query = {"filters": {"conjunction": "and", "items": []}, "ordering": ["tasks:id"]}
        out: dict[str, int] = {}
        for page in self._pages("list open tasks", project_id, query, page_size, "task_only"):
            for t in page:
                rid = (t.get("data") or {}).get("record_id")
                if rid and not t.get("is_labeled"):
                    out.setdefault(rid, t["id"])
        return out

    def import_predictions(self, project_id: int, predictions: list[dict[str, Any]]) -> int:
        """Add predictions (each with its `task`); the number the server took."""
        from label_studio_sdk import PredictionRequest

        request = [PredictionRequest(**p) for p in predictions]
        r = self._call("import predictions", lambda: self._ls.projects.import_predictions(project_id, request=request),
                       retry_if=_refused)
        return int(getattr(r, "created", None) or len(predictions))

    def set_model_version(self, project_id: int, model_version: str) -> None:
        self._call("set the project's model version",
                   lambda: self._ls.projects.update(id=project_id, model_version=model_version))

    def label_config(self, project_id: int) -> str:
        return self._call("read the labeling config", lambda: self._ls.projects.get(id=project_id).label_config)

    def import_tasks(self, project_id: int, tasks: list[dict[str, Any]]) -> list[int]:
        # Only a refused connection is surely harmless to retry: a timeout may have imported.
        r = self._call("import tasks", lambda: self._ls.projects.import_tasks(
            project_id, request=tasks, return_task_ids=True), retry_if=_refused)
        ids = list(r.task_ids or [])
        if len(ids) != len(tasks):
            raise AnnotationServerError(f"imported {len(tasks)} tasks but the server returned {len(ids)} ids")
        return ids

    def changed_tasks(self, project_id: int, since: str | None, page_size: int = 500) -> Iterator[list[dict[str, Any]]]:
        # The first pull has nothing to compare against, so tasks without annotations hold nothing
        # for it; later pulls must see them too (all of a task's annotations may have been deleted).
        # A skip is a cancelled annotation, which Label Studio counts in `cancelled_annotations`,
        # not in `total_annotations`: a task whose only annotation is a skip matches the second.
        if since is None:
            items = [{"filter": f"filter:tasks:{count}", "operator": "greater", "type": "Number", "value": 0}
                     for count in ("total_annotations", "cancelled_annotations")]
            conjunction = "or"
        else:
            items = [{"filter": "filter:tasks:updated_at", "operator": "greater", "type": "Datetime", "value": since}]
            conjunction = "and"
        query = {"filters": {"conjunction": conjunction, "items": items}, "ordering": ["tasks:id"]}
        for page in self._pages("list changed tasks", project_id, query, page_size, "all"):
            yield [_slim_task(t) for t in page]

    def users(self) -> dict[int, str]:
        return self._call("list users", lambda: {u.id: u.email or u.username or str(u.id)
                                                 for u in self._ls.users.list()})

    def invite_link(self, renew: bool = False) -> str:
        """The organisation's sign-up link: each annotator makes their own account with it (one
        account per person, or agreement cannot be measured). `renew` revokes the old link."""
        invite = self._call("get the invite link", self._ls.organizations.reset_token if renew
                            else self._ls.organizations.invites.get_invite_link)
        if not invite.invite_url:
            raise AnnotationServerError(f"Label Studio at {self.url} returned no invite link")
        return f"{self.url}{invite.invite_url}" if invite.invite_url.startswith("/") else invite.invite_url

    def requeue(self, task_id: int, overlap: int) -> None:
        # is_labeled is recomputed only when an annotation is saved; clear it so the queue serves it now.
        self._call("requeue a task", lambda: self._ls.tasks.update(id=task_id, overlap=overlap, is_labeled=False))

    # -- used by tests, benchmarks and demos to act as annotators
    @property
    def sdk(self) -> Any:
        return self._ls


def _slim_task(t: dict[str, Any]) -> dict[str, Any]:
    """What a pull keeps of a task: its id, our record id, when it changed, and its annotations."""
    keep = ("id", "completed_by", "created_at", "updated_at", "result", "was_cancelled", "lead_time",
            "ground_truth")
    return {"id": t["id"], "record_id": (t.get("data") or {}).get("record_id"), "updated_at": t.get("updated_at"),
            "annotations": [{k: a.get(k) for k in keep} for a in t.get("annotations") or []]}
