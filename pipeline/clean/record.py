"""Cleaning records: normalise, redact, score, decide.

`RecordCleaner` works on plain dicts holding each record's content fields, so the stage can
run it in a tight loop over Python lists without Arrow round trips per record. Everything
is per record except language identification, which runs once per batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.clean.code_syntax import syntax_error
from pipeline.clean.langid import UNDETERMINED, LanguageScorer
from pipeline.clean.ner import NerRedactor
from pipeline.clean.normalize import Normalizer
from pipeline.clean.pii import Redactor
from pipeline.clean.quality import Failure, QualityChecks, response_copy, text_scores
from pipeline.clean.config import CleanConfig
from pipeline.records import REQUIRED_FIELDS

PROSE_FIELDS = ("text", "label", "system", "prompt", "response")
# "und": too short to judge; "zxx": "no linguistic content" (symbols, identifiers, numbers).
# Neither is a language to reject for; junk like that is the alpha/symbol filters' job.
NOT_A_LANGUAGE = frozenset({UNDETERMINED, "zxx"})
# Labels are category names, not content; redacting them would only break the label set.
PII_PROSE_FIELDS = ("text", "system", "prompt", "response")


@dataclass
class Outcome:
    """What cleaning made of one record. `fields` holds the cleaned values."""

    fields: dict[str, Any]
    scores: dict[str, float | None]
    lang: str
    lang_conf: float | None
    pii_counts: dict[str, int]
    normalized_fields: list[str]
    failures: list[Failure] = field(default_factory=list)


class RecordCleaner:
    def __init__(self, config: CleanConfig):
        self.config = config
        self.normalizer = Normalizer(config.normalize)
        self.prose_redactor = Redactor(config.pii.kinds)
        self.code_redactor = Redactor(config.pii.code_kinds)
        self.quality_checks = QualityChecks(config.quality)
        self.language = LanguageScorer(config.language.min_chars)
        ner = config.pii.ner
        self.ner = NerRedactor(ner.kinds, ner.model, ner.min_score, ner.batch_size) \
            if config.pii.enabled and ner.enabled else None

    def setup(self) -> None:
        self.language.setup()
        if self.ner is not None:
            self.ner.setup()

    def clean_batch(self, kinds: list[str], records: list[dict[str, Any]]) -> list[Outcome]:
        """Clean records in place (their dicts get the cleaned values) and judge them.

        Language identification runs once over the whole batch: it is the costliest score
        and much cheaper vectorised (see langid.py).
        """
        outcomes, prose_texts, prepared = [], [], []
        for fields in records:
            normalized = self._normalize(fields) if self.config.normalize.enabled else []
            prepared.append((normalized, self._redact(fields) if self.config.pii.enabled else {}))
        if self.ner is not None:  # one model pass over the whole batch's prose
            self._redact_entities(records, [counts for _, counts in prepared])
        for kind, fields, (normalized, pii_counts) in zip(kinds, records, prepared):
            prose, size_text = scored_texts(kind, fields)
            scores = self._scores(kind, fields, prose, size_text)
            outcomes.append(Outcome(fields, scores, UNDETERMINED, None, pii_counts, normalized))
            prose_texts.append(prose)
        for kind, out, (lang, conf) in zip(kinds, outcomes, self.language.classify_many(prose_texts)):
            out.lang, out.lang_conf = lang, conf
            out.failures = self._failures(kind, out)
        return outcomes

    def clean(self, kind: str, fields: dict[str, Any]) -> Outcome:
        return self.clean_batch([kind], [fields])[0]

    # -- transformations --------------------------------------------------------------------
    def _normalize(self, fields: dict[str, Any]) -> list[str]:
        """Normalise in place; return the names of the fields that changed."""
        changed = []
        prose = self.normalizer.prose
        for name in PROSE_FIELDS:
            value = fields.get(name)
            if value is not None:
                new = prose(value)
                if new != value:
                    fields[name] = new
                    changed.append(name)
        code = fields.get("code")
        if code is not None:
            new = self.normalizer.code(code)
            if new != code:
                fields["code"] = new
                changed.append("code")
        messages = fields.get("messages")
        if messages:
            new_messages = [_with_content(m, prose(m.get("content"))) for m in messages]
            if new_messages != messages:
                fields["messages"] = new_messages
                changed.append("messages")
        return changed

    def _redact(self, fields: dict[str, Any]) -> dict[str, int]:
        """Redact PII in place; return the number of redactions per kind."""
        totals: dict[str, int] = {}

        def apply(redactor: Redactor, value: str) -> str:
            new, counts = redactor.redact(value)
            for kind, n in counts.items():
                totals[kind] = totals.get(kind, 0) + n
            return new

        for name in PII_PROSE_FIELDS:
            value = fields.get(name)
            if value:
                fields[name] = apply(self.prose_redactor, value)
        if fields.get("code"):
            fields["code"] = apply(self.code_redactor, fields["code"])
        if fields.get("messages"):
            fields["messages"] = [
                _with_content(m, apply(self.prose_redactor, m["content"])) if m.get("content") else m
                for m in fields["messages"]
            ]
        return totals

    def _redact_entities(self, records: list[dict[str, Any]], counts: list[dict[str, int]]) -> None:
        """Named-entity PII in every prose field and message of the batch, in place."""
        assert self.ner is not None
        slots, texts = [], []
        for i, fields in enumerate(records):
            for name in PII_PROSE_FIELDS:
                if fields.get(name):
                    slots.append((i, name, None))
                    texts.append(fields[name])
            for j, m in enumerate(fields.get("messages") or []):
                if m.get("content"):
                    slots.append((i, "messages", j))
                    texts.append(m["content"])
        for (i, name, j), (text, found) in zip(slots, self.ner.redact_many(texts)):
            if not found:
                continue
            fields = records[i]
            if j is None:
                fields[name] = text
            else:
                fields["messages"] = [_with_content(m, text) if k == j else m for k, m in enumerate(fields["messages"])]
            for kind, n in found.items():
                counts[i][kind] = counts[i].get(kind, 0) + n

    # -- scores -----------------------------------------------------------------------------
    def _scores(self, kind: str, fields: dict[str, Any], prose: str, size_text: str) -> dict[str, float | None]:
        min_words = self.config.quality.min_words_for_repetition
        scores: dict[str, float | None] = dict(text_scores(prose, size_text, min_words))
        scores["response_copy"] = (
            response_copy(fields.get("prompt") or "", fields.get("response") or "") if kind == "instruction" else None
        )
        return scores

    # -- decisions --------------------------------------------------------------------------
    def _failures(self, kind: str, out: Outcome) -> list[Failure]:
        """Every failing check, in the fixed order; the first one is the reject reason."""
        fields = out.fields
        if kind not in REQUIRED_FIELDS:
            return [Failure("unknown_kind", f"kind {kind!r} is not one of {sorted(REQUIRED_FIELDS)}")]
        failures = [
            Failure(f"empty_after_normalize:{name}", f"required field {name!r} is empty after normalisation")
            for name in REQUIRED_FIELDS[kind]
            if _is_empty(fields.get(name))
        ]
        if kind == "code" and self.config.code_syntax.enabled:
            error = syntax_error(fields.get("code"), fields.get("language"))
            if error is not None:
                failures.append(Failure("syntax_error", f"python does not parse: {error}"))
        failures.extend(self.quality_checks.failures(out.scores))
        language_failure = self._language_failure(out.lang, out.lang_conf)
        if language_failure is not None:
            failures.append(language_failure)
        return failures

    def _language_failure(self, lang: str, conf: float | None) -> Failure | None:
        """Reject only a confident prediction of a language that is not allowed.

        Short prompts ("Parse a CSV line into fields.") often get an uncertain or wrong guess;
        like texts under `min_chars`, an uncertain prediction is not acted on.
        """
        c = self.config.language
        if not c.enabled or lang in NOT_A_LANGUAGE or conf is None or conf < c.min_confidence:
            return None
        if lang not in c.allowed:
            return Failure(
                "wrong_language",
                f"lang={lang} with score_lang_conf={conf:.3f} >= min_confidence {c.min_confidence}, "
                f"not in allowed {c.allowed}",
            )
        return None


def scored_texts(kind: str, fields: dict[str, Any]) -> tuple[str, str]:
    """(natural-language text for ratios and language, text whose length is measured)."""
    if kind == "instruction":
        text = f"{fields.get('prompt') or ''}\n{fields.get('response') or ''}"
        return text, text
    if kind == "code":
        prompt = fields.get("prompt") or ""
        return prompt, f"{prompt}\n{fields.get('code') or ''}"
    text = fields.get("text") or ""
    return text, text


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and (not value or value.isspace()))


def _with_content(message: dict[str, Any], content: str | None) -> dict[str, Any]:
    if content == message.get("content"):
        return message
    return {**message, "content": content}
