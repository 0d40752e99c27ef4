"""A client of an OpenAI-compatible chat endpoint (vLLM, TGI, Ollama, OpenAI itself).

Requests go out `concurrency` at a time, their starts spaced to `requests_per_second`; a
timeout, a dropped connection, a 429 or a 5xx is retried with exponential back-off (a
Retry-After header is honoured) up to `max_retries` times. What still fails comes back as an
`EndpointFailure` naming why, in the prompt's place: the judge records it as the record's
missing-score reason, and the run goes on.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

_BACKOFF_S, _MAX_BACKOFF_S = 0.5, 8.0


class EndpointError(RuntimeError):
    """The endpoint does not answer at all: a user's mistake, reported before the run starts."""


class EndpointFailure(Exception):
    def __init__(self, reason: str, detail: str, retry_after: float | None = None):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.retry_after = retry_after  # seconds the server asked for (Retry-After)


class _RateLimit:
    """Spaces request starts at least 1/rate seconds apart, across threads."""

    def __init__(self, per_second: float | None):
        self.interval = 1.0 / per_second if per_second else 0.0
        self.lock = threading.Lock()
        self.next_start = 0.0

    def wait(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next_start)
            self.next_start = start + self.interval
        time.sleep(max(0.0, start - now))


class ChatClient:
    """Chat completions from `url` (the base, e.g. http://host:8000/v1). Picklable: the HTTP
    client is made in each process on first use."""

    def __init__(self, url: str, model: str, *, api_key_env: str | None = "OPENAI_API_KEY", timeout_s: float = 60.0,
                 max_retries: int = 3, requests_per_second: float | None = None, concurrency: int = 4,
                 temperature: float = 0.0, max_tokens: int = 8):
        self.url = url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.requests_per_second = requests_per_second
        self.concurrency = concurrency
        self.temperature = temperature
        self.max_tokens = max_tokens
        self._http: Any = None
        self._limit: _RateLimit | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_http", "_limit")} | {"_http": None, "_limit": None}

    def _client(self) -> Any:
        if self._http is None:
            import httpx

            key = os.environ.get(self.api_key_env) if self.api_key_env else None
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            self._http = httpx.Client(timeout=self.timeout_s, headers=headers,
                                      limits=httpx.Limits(max_connections=self.concurrency))
            self._limit = _RateLimit(self.requests_per_second)
        return self._http

    def check(self) -> None:
        """Raise EndpointError unless the endpoint answers its model list (GET <url>/models)."""
        import httpx

        try:
            response = self._client().get(f"{self.url}/models", timeout=min(self.timeout_s, 10.0))
            if response.status_code < 500 and response.status_code != 404:
                return
            problem = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            problem = str(exc) or type(exc).__name__
        raise EndpointError(f"the judge endpoint at {self.url} does not answer ({problem}): start the server, or "
                            "correct score.scorers[].url (the base URL, ending in /v1)")

    def complete_many(self, prompts: list[str]) -> list[str | EndpointFailure]:
        """Each prompt's answer, or the failure that ended its retries, in prompt order."""
        self._client()
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(self._complete_or_failure, prompts))

    def _complete_or_failure(self, prompt: str) -> str | EndpointFailure:
        try:
            return self.complete(prompt)
        except EndpointFailure as failure:
            return failure

    def complete(self, prompt: str) -> str:
        import httpx

        body = {"model": self.model, "messages": [{"role": "user", "content": prompt}],
                "temperature": self.temperature, "max_tokens": self.max_tokens}
        failure = EndpointFailure("no_answer", "no attempt made")
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(min(_MAX_BACKOFF_S, failure.retry_after or _BACKOFF_S * 2 ** (attempt - 1)))
            assert self._limit is not None
            self._limit.wait()
            try:
                response = self._client().post(f"{self.url}/chat/completions", json=body)
            except httpx.TimeoutException as e:
                failure = EndpointFailure("timeout", f"no answer from {self.url} within {self.timeout_s} s ({e})")
                continue
            except httpx.TransportError as e:
                failure = EndpointFailure("connection_error", f"{self.url}: {e}")
                continue
            if response.status_code == 429 or response.status_code >= 500:
                failure = EndpointFailure(f"http_{response.status_code}", response.text[:200], _retry_after(response))
                continue
            if response.status_code >= 400:  # the request itself is wrong: asking again will not help
                raise EndpointFailure(f"http_{response.status_code}", response.text[:200])
            return _content(response)
        raise failure


def _retry_after(response: Any) -> float | None:
    try:
        return float(response.headers.get("retry-after"))
    except (TypeError, ValueError):
        return None


def _content(response: Any) -> str:
    try:
        return str(response.json()["choices"][0]["message"]["content"] or "")
    except (ValueError, KeyError, IndexError, TypeError) as e:
        raise EndpointFailure("bad_response", f"not a chat completion: {response.text[:200]!r} ({e})") from None
