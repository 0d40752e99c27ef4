"""The scorer of a config entry, by its `kind`."""

from __future__ import annotations

from typing import Any

from pipeline.score.base import Scorer


def make_scorer(spec: Any, client: Any = None) -> Scorer:
    kind = spec.kind
    if kind == "perplexity":
        from pipeline.score.perplexity import PerplexityScorer

        return PerplexityScorer(spec)
    if kind == "classifier":
        from pipeline.score.classifier import ClassifierScorer

        return ClassifierScorer(spec)
    if kind == "judge":
        from pipeline.score.judge import JudgeScorer

        return JudgeScorer(spec, client)
    if kind == "flagged_words":
        from pipeline.score.flagged import FlaggedWordsScorer

        return FlaggedWordsScorer(spec)
    raise ValueError(f"unknown scorer kind {kind!r}")


def endpoint_client(spec: Any) -> Any:
    """The chat client an openai-backend judge is given (None for every other scorer)."""
    if getattr(spec, "kind", None) != "judge" or spec.backend != "openai":
        return None
    from pipeline.score.endpoint import ChatClient

    return ChatClient(spec.url, spec.model, api_key_env=spec.api_key_env, timeout_s=spec.timeout_s,
                      max_retries=spec.max_retries, requests_per_second=spec.requests_per_second,
                      concurrency=spec.concurrency, temperature=spec.temperature, max_tokens=spec.max_new_tokens)


def check_endpoints(config: Any) -> None:
    """Every endpoint the score step will call must answer before the run starts (EndpointError)."""
    if not config.score.enabled:
        return
    for spec in config.score.scorers:
        client = endpoint_client(spec)
        if client is not None:
            client.check()
