"""Read e-mail (RFC 822 files, or mbox) into classification records.

The record text is the subject and the readable body (text/plain, else text/html reduced to
its text); headers stay in `meta`, where PII cleaning does not reach them but they are kept.
The label comes from the folder the message lies in (`label_from_dir`), or from a constant.
"""

from __future__ import annotations

import email
import email.policy
import mailbox
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from pipeline.collect.base import RawReject, RawRow, ReaderOutput, expand_paths, preview_bytes
from pipeline.collect.config import SourceConfig

_HEADERS = ("from", "to", "date", "message-id")


def _is_mbox(path: Path) -> bool:
    if path.suffix.lower() in (".mbox", ".eml"):
        return path.suffix.lower() == ".mbox"
    with open(path, "rb") as f:
        return f.read(5) == b"From "


def _body_text(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except LookupError:
        # Spam often declares charsets that do not exist ("DEFAULT_CHARSET"); the bytes are
        # usually ASCII or UTF-8, so decode them leniently rather than lose the message.
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", errors="replace")
    if isinstance(content, bytes):
        content = content.decode("utf-8", errors="replace")
    if part.get_content_subtype() == "html":
        from selectolax.lexbor import LexborHTMLParser

        content = LexborHTMLParser(content).text(separator=" ")
    return content


def message_row(raw: bytes) -> dict[str, Any]:
    """The fields of one message; raises ValueError when it holds no message at all."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    if not msg.keys():
        raise ValueError("no RFC 822 headers")
    subject = str(msg.get("subject", "") or "")
    try:
        body = _body_text(msg)
    except (LookupError, ValueError, AssertionError) as exc:  # broken MIME structure
        raise ValueError(f"unreadable body: {exc}") from None
    row: dict[str, Any] = {"text": (subject + "\n\n" + body).strip(), "subject": subject}
    for h in _HEADERS:
        try:
            value = msg.get(h)
        except (ValueError, IndexError):  # malformed header: keep the message, drop the header
            value = None
        if value is not None:
            row[h.replace("-", "_")] = str(value)
    return row


def _row(raw: bytes, origin: str, label: str | None) -> RawRow | RawReject:
    try:
        row = message_row(raw)
    except ValueError as exc:
        return RawReject("bad_email", str(exc)[:300], origin, preview_bytes(raw))
    if label is not None:
        row["label"] = label
    return RawRow(row, origin, len(raw))


def read_email(path: Path, source: SourceConfig, files: list[Path] | None = None) -> ReaderOutput:
    """Every message under `path` (or in `files` of it: a shard)."""
    root = path if path.is_dir() else path.parent
    for file in files if files is not None else expand_paths(str(path), (), source.exclude):
        label = file.parent.name if source.label_from_dir and file.parent != root.parent else None
        if file.stat().st_size == 0:
            yield RawReject("empty_file", "the file is empty", str(file))
        elif _is_mbox(file):
            box = mailbox.mbox(str(file), create=False)
            for i, key in enumerate(box.iterkeys()):
                yield _row(box.get_bytes(key), f"{file}#{i}", label)
        else:
            raw = file.read_bytes()
            if len(raw) > source.max_record_bytes:
                yield RawReject("too_large", f"{len(raw)} bytes > max_record_bytes", str(file), preview_bytes(raw))
            else:
                yield _row(raw, str(file), label)

