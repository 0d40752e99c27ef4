"""PII and secret redaction: each kind found, look-alikes left alone."""

from __future__ import annotations

import json

import pytest

from pipeline.clean.pii import Redactor, issuer_ok, luhn_ok

ALL = Redactor(["email", "phone", "ip_address", "credit_card", "secret"])


def redact(text: str, kinds=None) -> tuple[str, dict[str, int]]:
    return (Redactor(kinds) if kinds is not None else ALL).redact(text)


def test_email():
    assert redact("Mail john.doe+tag@mail.example.co.uk today.") == ("Mail <EMAIL> today.", {"email": 1})


def test_email_lookalikes_untouched():
    for text in ["user@localhost", "@mention on twitter", "a @ b.com"]:
        assert redact(text)[1] == {}


@pytest.mark.parametrize(
    "phone",
    [
        "+1 (555) 123-4567",
        "+44 20 7946 0958",
        "+49 30 12345678",
        "+4915112345678",
        "(555) 123-4567",
        "555-123-4567",
        "555.123.4567",
        "1-800-555-1234",
        "030 12345678",
        "01 23 45 67 89",
        "020 7946 0958",
    ],
)
def test_phone_formats(phone):
    assert redact(f"Call {phone} now.") == ("Call <PHONE> now.", {"phone": 1})


@pytest.mark.parametrize(
    "text",
    [
        "It happened in 2023 and again in 1999.",
        "Upgrade from 3.11.4 to 3.12.0 or version 10.2.1.",
        "Order 12345 shipped; code 987654.",
        "Dates: 2023-10-15, 01.02.2023, 05/06/2023 10:00.",
        "The range 1990-2000 and pi +3.14159265.",
        "ISBN 978-0-306-40615-7.",
        "Timestamp 1700000000000 ms.",
    ],
)
def test_phone_negatives(text):
    assert redact(text) == (text, {})


def test_valid_luhn_card_redacted_and_invalid_left_alone():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    text = "Paid with 4111 1111 1111 1111, 5555-5555-5555-4444 and 378282246310005; typo 4111 1111 1111 1112."
    out, counts = redact(text)
    assert out == "Paid with <CREDIT_CARD>, <CREDIT_CARD> and <CREDIT_CARD>; typo 4111 1111 1111 1112."
    assert counts == {"credit_card": 3}


def test_card_needs_an_issuer_range():
    # Luhn-valid, but no card network starts with 1 (millisecond timestamps do)
    assert luhn_ok("1000000000000008") and not issuer_ok("1000000000000008")
    assert redact("id 1000000000000008")[1] == {}


def test_card_grouping_must_look_like_a_card():
    # Luhn-valid Mastercard digits, but spaced like a hex dump
    assert redact("55 55 55 55 55 55 44 44")[1] == {}
    assert redact("3782 822463 10005")[1] == {"credit_card": 1}  # Amex 4-6-5


def test_ipv4_valid_octets_only():
    out, counts = redact("Server 192.168.0.1 and 10.0.0.255, not 999.1.1.1 or 1.2.3.4.5 or v1.2.3.4.")
    assert out == "Server <IP_ADDRESS> and <IP_ADDRESS>, not 999.1.1.1 or 1.2.3.4.5 or v1.2.3.4."
    assert redact("retrieving revision 1.91.2.7 of Version 1.2.0.1")[1] == {}
    assert counts == {"ip_address": 2}


def test_ipv6():
    text = "Hosts 2001:db8::8a2e:370:7334, fe80::1, ::ffff:192.0.2.1 and 2001:0db8:85a3:0000:0000:8a2e:0370:7334."
    out, counts = redact(text)
    assert out == "Hosts <IP_ADDRESS>, <IP_ADDRESS>, <IP_ADDRESS> and <IP_ADDRESS>."
    assert counts == {"ip_address": 4}


def test_ipv6_lookalikes_untouched():
    text = "At 12:30:45 call std::vector, MAC 00:1A:2B:3C:4D:5E, loopback ::1."
    assert redact(text) == (text, {})


@pytest.mark.parametrize(
    "secret",
    [
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_" + "a1B2" * 9,
        "github_pat_" + "A" * 22 + "_" + "b" * 30,
        "xoxb-123456789012-abcdefABCDEF",
        "sk-proj-" + "Ab3" * 10,
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ],
)
def test_tokens(secret):
    assert redact(f"use {secret} here") == ("use <SECRET> here", {"secret": 1})


def test_private_key_block():
    text = "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\nQ==\n-----END RSA PRIVATE KEY-----\nbye"
    assert redact(text) == ("key:\n<SECRET>\nbye", {"secret": 1})


def test_secret_assignments_redact_only_the_value():
    text = '\n'.join(
        [
            'api_key = "abc123secret"',
            '"password": "hunter2"',
            "DB_PASSWORD=hunter22x",
            "AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG'",
        ]
    )
    out, counts = redact(text)
    assert out.splitlines() == [
        'api_key = "<SECRET>"',
        '"password": "<SECRET>"',
        "DB_PASSWORD=<SECRET>",
        "AWS_SECRET_ACCESS_KEY: '<SECRET>'",
    ]
    assert counts == {"secret": 4}


def test_secret_assignment_lookalikes_untouched():
    text = "\n".join(
        [
            "token = get_token()",
            '"tokenizer": "bert-base-uncased"',
            "max_tokens = 512",
            'api_key = "YOUR_API_KEY"',
            'password = "${DB_PASSWORD}"',
            "Reset your password: click the link below.",
        ]
    )
    assert redact(text) == (text, {})


def test_key_inside_assignment_counted_once():
    out, counts = redact('api_key = "sk-' + "x1" * 12 + '"')
    assert out == 'api_key = "<SECRET>"' and counts == {"secret": 1}


def test_only_requested_kinds():
    text = "mail a@b.com or call +1 555 123 4567"
    assert redact(text, ["email"]) == ("mail <EMAIL> or call +1 555 123 4567", {"email": 1})


def test_unknown_kind_rejected():
    with pytest.raises(ValueError):
        Redactor(["ssn"])


def test_stage_redacts_prose_with_all_kinds_and_code_with_code_kinds(h):
    rec = h.code(
        "Connect to 10.1.2.3 as admin@corp.com",
        'HOST = "10.1.2.3"\nEMAIL = "admin@corp.com"\ntoken = "ghp_' + "Z" * 36 + '"\n',
    )
    out = h.clean_one(rec, h.config(language={"enabled": False}))
    assert out["kept"]
    assert out["prompt"] == "Connect to <IP_ADDRESS> as <EMAIL>"
    # default code_kinds are email and secret: dotted quads in code are usually literals
    assert out["code"] == 'HOST = "10.1.2.3"\nEMAIL = "<EMAIL>"\ntoken = "<SECRET>"\n'
    assert out["pii_redactions"] == 4
    op = out["operations"][-1]
    assert op["op"] == "clean.pii_redact"
    assert json.loads(op["params"]) == {"counts": {"email": 2, "ip_address": 1, "secret": 1}}


def test_stage_counters_and_messages(h):
    rec = h.instruction(
        "Email bob@example.com please.",
        "Sure, I emailed bob@example.com.",
        messages=[
            {"role": "user", "content": "Email bob@example.com please."},
            {"role": "assistant", "content": "Sure, I emailed bob@example.com."},
        ],
    )
    result = h.run_records([rec], h.config(language={"enabled": False}))
    row = result.kept.to_pylist()[0]
    assert [m["content"] for m in row["messages"]] == ["Email <EMAIL> please.", "Sure, I emailed <EMAIL>."]
    assert result.counters["pii_email"] == 4
    assert row["pii_redactions"] == 4


def test_pii_disabled(h):
    out = h.clean_one(h.classification("Write to bob@example.com"), h.config(pii={"enabled": False}))
    assert out["text"] == "Write to bob@example.com" and out["pii_redactions"] == 0


@pytest.mark.parametrize(
    "text",
    [
        "password=" * 10_000,
        "a." * 50_000,
        "+12 34 " * 10_000,
        "4111 " * 20_000,
        "abcd:" * 20_000,
        "a@" * 30_000,
        "-----BEGIN PRIVATE KEY-----" * 10_000,
    ],
)
def test_adversarial_inputs_take_linear_time(text):
    import time

    t0 = time.perf_counter()
    ALL.redact(text)
    assert time.perf_counter() - t0 < 2.0  # a quadratic pattern takes minutes here
