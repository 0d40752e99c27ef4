"""Quality scores (pure functions over a string) and the threshold decisions built on them.

The repetition scores follow Gopher (Rae et al., 2021, appendix A): the fraction of
characters in duplicated lines, in the most frequent word 2-gram, and in duplicated word
5-grams. They only mean something on texts long enough to repeat themselves, so below
`min_words_for_repetition` words they are 0.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from pipeline.clean.config import QualityConfig
from pipeline.config_base import Threshold

_HAS_ALPHA = re.compile(r"[^\W\d_]").search  # a letter in any script

# Filter name -> (reason when below min, reason when above max), in the order checks are
# reported. The unusual directions (a minimum on a repetition score, say) get generic names.
CHECKS: dict[str, tuple[str, str]] = {
    "chars": ("too_short", "too_long"),
    "words": ("too_few_words", "too_many_words"),
    "dup_line_frac": ("dup_line_frac_below_min", "repeated_lines"),
    "top_2gram_frac": ("top_2gram_frac_below_min", "repeated_2grams"),
    "dup_5gram_frac": ("dup_5gram_frac_below_min", "repeated_5grams"),
    "symbol_ratio": ("symbol_ratio_below_min", "too_many_symbols"),
    "alpha_word_frac": ("too_few_alpha_words", "alpha_word_frac_above_max"),
    "response_copy": ("response_copy_below_min", "copied_response"),
}
SCORE_NAMES: tuple[str, ...] = tuple(CHECKS)


def dup_line_frac(text: str) -> float:
    """Characters in lines seen before (first occurrence not counted) / characters in lines."""
    seen: set[str] = set()
    dup = total = 0
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        total += len(line)
        if line in seen:
            dup += len(line)
        else:
            seen.add(line)
    return dup / total if total else 0.0


def top_2gram_frac(words: list[str]) -> float:
    """Characters covered by the most frequent word 2-gram / characters in words."""
    if len(words) < 2:
        return 0.0
    counts = Counter(zip(words, words[1:]))
    (a, b), n = counts.most_common(1)[0]
    if n < 2:
        return 0.0
    total = sum(map(len, words))
    return min(1.0, n * (len(a) + len(b)) / total) if total else 0.0


def dup_5gram_frac(words: list[str]) -> float:
    """Characters in words covered by a 5-gram that occurred earlier / characters in words."""
    if len(words) < 5:
        return 0.0
    lens = [len(w) for w in words]
    total = sum(lens)
    seen: set[tuple[str, ...]] = set()
    dup = 0
    covered = 0  # words before this index are already counted; overlapping 5-grams count once
    for i in range(len(words) - 4):
        gram = tuple(words[i : i + 5])
        if gram in seen:
            start = max(i, covered)
            dup += sum(lens[start : i + 5])
            covered = i + 5
        else:
            seen.add(gram)
    return dup / total if total else 0.0


def symbol_ratio(text: str, n_words: int) -> float:
    """(`#` + ellipses) per word: hashtag spam, truncated snippets."""
    if not n_words:
        return 0.0
    # "…" counts once; "...." contains one "..." (str.count does not overlap).
    return (text.count("#") + text.count("...") + text.count("\u2026")) / n_words


def alpha_word_frac(words: list[str]) -> float:
    """Fraction of whitespace tokens with at least one letter (tables of numbers score low)."""
    if not words:
        return 0.0
    return len(list(filter(_HAS_ALPHA, words))) / len(words)


def response_copy(prompt: str, response: str) -> float:
    """Token-set Jaccard similarity of prompt and response; 1.0 = the response repeats it."""
    a, b = set(prompt.lower().split()), set(response.lower().split())
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def text_scores(text: str, size_text: str, min_words_for_repetition: int) -> dict[str, float]:
    """Every score except response_copy: ratios over `text`, length over `size_text`.

    For most kinds both are the same string; code records measure length over prompt + code
    but judge only the prompt's language-like properties.
    """
    words = text.split()
    n_words = len(words)
    if size_text is text:
        chars, size_words = len(text), n_words
    else:
        chars, size_words = len(size_text), len(size_text.split())
    scores = {
        "chars": float(chars),
        "words": float(size_words),
        "dup_line_frac": 0.0,
        "top_2gram_frac": 0.0,
        "dup_5gram_frac": 0.0,
        "symbol_ratio": symbol_ratio(text, n_words),
        "alpha_word_frac": alpha_word_frac(words),
    }
    if n_words >= min_words_for_repetition:
        lowered = text.lower().split()  # Gopher compares n-grams case-insensitively
        scores["dup_line_frac"] = dup_line_frac(text)
        scores["top_2gram_frac"] = top_2gram_frac(lowered)
        scores["dup_5gram_frac"] = dup_5gram_frac(lowered)
    return scores


@dataclass(frozen=True)
class Failure:
    reason: str
    detail: str


def check_threshold(name: str, score: float | None, t: Threshold) -> Failure | None:
    if score is None or not t.enabled:
        return None
    low_reason, high_reason = CHECKS[name]
    if t.min is not None and score < t.min:
        return Failure(low_reason, f"score_{name}={_fmt(score)} < min {_fmt(t.min)}")
    if t.max is not None and score > t.max:
        return Failure(high_reason, f"score_{name}={_fmt(score)} > max {_fmt(t.max)}")
    return None


class QualityChecks:
    """The enabled thresholds of a QualityConfig, resolved once for the per-record loop."""

    def __init__(self, config: QualityConfig):
        self.active = [
            (name, t.min, t.max, t)
            for name in SCORE_NAMES
            if (t := getattr(config, name)).enabled and (t.min is not None or t.max is not None)
        ]

    def failures(self, scores: dict[str, Any]) -> list[Failure]:
        """Every failing quality check, in the fixed reporting order."""
        out = []
        for name, low, high, t in self.active:
            score = scores[name]
            if score is not None and ((low is not None and score < low) or (high is not None and score > high)):
                failure = check_threshold(name, score, t)
                if failure is not None:
                    out.append(failure)
        return out


def check_scores(scores: dict[str, Any], config: QualityConfig) -> list[Failure]:
    """Every failing quality check, in the fixed reporting order."""
    return QualityChecks(config).failures(scores)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.4g}"
