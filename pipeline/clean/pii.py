"""PII and secret redaction with precompiled regular expressions.

Each kind is a list of patterns plus an optional validator (Luhn for cards, digit counts for
phones, `ipaddress` for IPv6); a match the validator refuses is left as it was. Kinds run in
a fixed order, secrets first, because a key or a PEM block contains digit runs and dotted
fragments that the later patterns would otherwise take apart. Every kind has a cheap
pre-check (a character that must occur) so that most texts cost a few `in` tests.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Callable, Iterable

PLACEHOLDERS = {
    "email": "<EMAIL>",
    "phone": "<PHONE>",
    "ip_address": "<IP_ADDRESS>",
    "credit_card": "<CREDIT_CARD>",
    "secret": "<SECRET>",
}
ORDER = ("secret", "email", "credit_card", "ip_address", "phone")

# --- secrets -------------------------------------------------------------------------------
# A PEM/PGP private key through its END line; if truncated, through its last base64 chunk
# (prose words are shorter than 16 characters). The body never runs past another BEGIN line,
# so many BEGIN lines without an END cannot make the search quadratic.
_PEM = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
    r"(?:(?:[A-Za-z0-9+/=\s:,.()]|-(?!----BEGIN)){0,16384}?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
    r"|(?:\s*[A-Za-z0-9+/=]{16,})*)"
)
_TOKENS = re.compile(
    r"\b(?:"
    r"(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}"  # AWS access key ids
    r"|gh[pousr]_[A-Za-z0-9]{36,255}"  # GitHub classic tokens
    r"|github_pat_[A-Za-z0-9_]{22,255}"  # GitHub fine-grained tokens
    r"|xox[baprs]-[A-Za-z0-9-]{10,250}"  # Slack
    r"|sk-(?:proj-|ant-(?:api\d\d-)?|live_|test_)?[A-Za-z0-9_-]{20,250}"  # OpenAI/Anthropic/Stripe
    r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"  # JWT: base64url('{"') x2
    r")"
)
# `api_key = "..."`, `"password": "..."`, `DB_PASSWORD=hunter22`, `'token' => '...'`: the key
# and quotes stay, the value goes. The key must end in the secret word (or _key/_token/
# _value after it), so `tokenizer: "bert"` or `max_tokens = 512` are not secrets. Quoted
# values are taken as they are; an unquoted value must look like a credential (8+ characters
# mixing letters and digits), so `token = get_token()` and "password: click below" are kept.
# Every repetition is bounded: unbounded ones made inputs like "password=" * 20000 quadratic.
_ASSIGNMENT = re.compile(
    r"(?i)(\b[\w.-]{0,40}?(?:api[_-]?key|apikey|secret|token|passw(?:or)?d|pwd)"
    r"(?:[_-]?(?:access[_-]?)?(?:key|token|value))?[\"']?[ \t]{0,8}(?::=|=>|[:=])[ \t]{0,8})"
    r"(?:([\"'])([^\"'\n]{1,500})\2"
    r"|(?=[A-Za-z_\-+/]{0,500}\d)(?=[0-9_\-+/]{0,500}[A-Za-z])([A-Za-z0-9_\-+/]{8,500}={0,2})(?![\w(.\[=]))"
)
# Values that stand for a secret rather than being one: "${TOKEN}", "{key}", "<your key>",
# "YOUR_API_KEY", "xxxx", "****" (already redacted by an earlier pattern counts too).
_TEMPLATE_VALUE = re.compile(r"(?i)^\s*(?:\$|\{|<|%\()|your|xxx|\*\*\*|\.\.\.")
# Lower-case substrings one of the secret patterns needs. Plain `in` tests on the lowered
# text are ~10x faster than one case-insensitive alternation regex over it.
_SECRET_HINTS = (
    "-----begin", "akia", "asia", "agpa", "aida", "aroa", "anpa",
    "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox", "sk-", "eyj",
    "api_key", "api-key", "apikey", "secret", "token", "passw", "pwd",
)


def _may_hold_secret(text: str) -> bool:
    low = text.lower()
    for hint in _SECRET_HINTS:
        if hint in low:
            return True
    return False


# --- email ---------------------------------------------------------------------------------
_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}\b"
)

# --- digit runs: cards and phones ----------------------------------------------------------
# Both need 8+ digits with only separators between them; one scan tells whether to look.
_DIGIT_RUN_HINT = re.compile(r"\d[\d \-().+/]{6,}\d")

# 13-19 digits, single spaces or dashes allowed between them, not part of a longer number.
_CARD = re.compile(r"(?<![\d.,+-])[2-6](?:[ -]?\d){12,18}(?!\d|[.,]\d)")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def issuer_ok(digits: str) -> bool:
    """The number starts with a real issuer range of the right length (Visa, MC, Amex, ...).

    Luhn alone passes one random digit run in ten; the issuer ranges keep lists of years,
    order numbers and timestamps out.
    """
    n, p2, p4 = len(digits), int(digits[:2]), int(digits[:4])
    if digits[0] == "4":
        return n in (13, 16, 19)  # Visa
    if p2 in (34, 37):
        return n == 15  # Amex
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return n == 16  # Mastercard
    if p2 in (36, 38) or 300 <= int(digits[:3]) <= 305:
        return 14 <= n <= 19  # Diners
    if p4 == 6011 or p2 == 65 or 644 <= int(digits[:3]) <= 649 or 3528 <= p4 <= 3589 or p2 == 62:
        return 16 <= n <= 19  # Discover, JCB, UnionPay
    return p2 in (50, 56, 57, 58, 63, 67) and 13 <= n <= 19  # Maestro


def grouping_ok(match: str) -> bool:
    """Unseparated, or grouped as printed on cards: 4-4-4-4(-3), Amex 4-6-5, Diners 4-6-4.

    Hex dumps and tables ("54 30 38 32 ...") have separators in other places.
    """
    groups = [len(g) for g in re.split(r"[ -]", match)]
    if len(groups) == 1:
        return True
    if groups in ([4, 6, 5], [4, 6, 4]):
        return True
    return all(n == 4 for n in groups[:-1]) and 1 <= groups[-1] <= 4


def _card_ok(match: str) -> bool:
    digits = match.replace(" ", "").replace("-", "")
    return 13 <= len(digits) <= 19 and grouping_ok(match) and issuer_ok(digits) and luhn_ok(digits)


# International: +CC then groups separated by single spaces, dashes or a parenthesised area
# code. No dots, so "+3.14159265" is a number, not a phone.
_PHONE_INTL = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ -]?\(\d{1,4}\))?(?:[ -]?\d{1,5}){1,6}(?!\d)")
# North American: (555) 123-4567, 555-123-4567, 555.123.4567, 1-800-555-1234. Separators are
# required, so a bare 10-digit id is not taken for a phone; dates and versions never have
# the 3-3-4 shape.
_PHONE_US = re.compile(r"(?<![\w.-])(?:1[ .-])?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?!\w|[.-]\d)")
# European trunk-prefix forms: 030 12345678, 030/1234567, 01 23 45 67 89, 020 7946 0958.
# Dots are not separators here, so dates like 01.02.2023 stay.
_PHONE_EU = re.compile(r"(?<![\w./-])0\d{1,4}(?: ?/ ?| |-)\d{2,8}(?:[ -]\d{2,4}){0,3}(?!\w|[./:-]\d)")


def _digit_count(match: str) -> int:
    return sum(ch.isdigit() for ch in match)


def _intl_ok(match: str) -> bool:
    return 8 <= _digit_count(match) <= 15  # E.164 allows at most 15 digits


def _eu_ok(match: str) -> bool:
    return 9 <= _digit_count(match) <= 12


# --- IP addresses --------------------------------------------------------------------------
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
# Not inside a longer dotted run, so 1.2.3.4.5 and v1.2.3.4 are left alone, and not a
# version or CVS revision number ("version 1.2.0.1", "revision 1.91.2.7").
_IPV4 = re.compile(
    rf"(?<![\w.])(?<!version )(?<!revision )(?<!rev )(?<!release )"
    rf"{_OCTET}(?:\.{_OCTET}){{3}}(?!\w|\.\d)",
    re.I,
)
# Candidates with at least two colons between hex groups; `ipaddress` decides.
# The last group is hex or an embedded IPv4 (::ffff:1.2.3.4), never a trailing full stop.
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{1,4})?(?![\w:]|\.\d)"
)
_IP_HINT = re.compile(r"\d\.\d|::|:[0-9A-Fa-f]{1,4}:")


def _ipv6_ok(match: str) -> bool:
    # "::1" or "dead::" has one group: too little to call it an address in prose or code.
    if sum(1 for g in match.split(":") if g) < 2:
        return False
    try:
        ipaddress.IPv6Address(match)
    except ValueError:
        return False
    return True


Rule = tuple[re.Pattern[str], Callable[[str], bool] | None]
_RULES: dict[str, list[Rule]] = {
    "secret": [(_PEM, None), (_TOKENS, None)],  # _ASSIGNMENT is handled by _redact_assignments
    "email": [(_EMAIL, None)],
    "credit_card": [(_CARD, _card_ok)],
    "ip_address": [(_IPV6, _ipv6_ok), (_IPV4, None)],
    "phone": [(_PHONE_INTL, _intl_ok), (_PHONE_US, None), (_PHONE_EU, _eu_ok)],
}


class Redactor:
    """Redacts a fixed set of PII kinds; build once, call `redact` per text."""

    def __init__(self, kinds: Iterable[str]):
        wanted = set(kinds)
        unknown = wanted - set(PLACEHOLDERS)
        if unknown:
            raise ValueError(f"unknown PII kind(s): {sorted(unknown)}")
        self.kinds = [k for k in ORDER if k in wanted]

    def redact(self, text: str) -> tuple[str, dict[str, int]]:
        """The text with each found item replaced by its placeholder, and a count per kind."""
        counts: dict[str, int] = {}
        # Computed once: redacting one kind only removes characters, so the hints stay a
        # superset of what the later kinds could find.
        has_digit_run = _DIGIT_RUN_HINT.search(text) is not None
        for kind in self.kinds:
            if kind == "secret":
                if not _may_hold_secret(text):
                    continue
            elif kind == "email":
                if "@" not in text:
                    continue
            elif kind == "ip_address":
                if _IP_HINT.search(text) is None:
                    continue
            elif not has_digit_run:  # credit_card, phone
                continue
            text, n = _redact_kind(text, kind)
            if n:
                counts[kind] = n
        return text, counts


def _redact_kind(text: str, kind: str) -> tuple[str, int]:
    placeholder = PLACEHOLDERS[kind]
    total = 0
    for pattern, valid in _RULES[kind]:
        if valid is None:
            text, n = pattern.subn(placeholder, text)
        else:
            text, n = _subn_validated(pattern, valid, placeholder, text)
        total += n
    if kind == "secret":
        text, n = _redact_assignments(text)
        total += n
    return text, total


def _subn_validated(
    pattern: re.Pattern[str], valid: Callable[[str], bool], placeholder: str, text: str
) -> tuple[str, int]:
    n = 0

    def replace(m: re.Match[str]) -> str:
        nonlocal n
        if valid(m.group(0)):
            n += 1
            return placeholder
        return m.group(0)

    return pattern.sub(replace, text), n


def _redact_assignments(text: str) -> tuple[str, int]:
    n = 0

    def replace(m: re.Match[str]) -> str:
        nonlocal n
        key, quote, quoted, bare = m.group(1), m.group(2), m.group(3), m.group(4)
        value = quoted if quoted is not None else bare
        if value.strip() in PLACEHOLDERS.values() or _TEMPLATE_VALUE.search(value):
            return m.group(0)
        n += 1
        return f"{key}{quote}<SECRET>{quote}" if quote else f"{key}<SECRET>"

    return _ASSIGNMENT.sub(replace, text), n
