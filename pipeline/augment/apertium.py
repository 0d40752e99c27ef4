"""Apertium, the rule-based offline translator: one subprocess per batch and direction.

Records travel through one `apertium -z -f none -u <pair>` call, each ended by a NUL byte.
In null-flush mode (-z) every module of the pipeline flushes its state at a NUL and passes
the NUL on, so a NUL is a hard record boundary: no word, chunk or tagger context crosses it,
and output field k is input record k. With `-f none` we do the format handling ourselves,
as `apertium-destxt`/`apertium-retxt` would (they drop NULs, which is why `-f txt` cannot
carry the separator): the stream format's special characters are escaped, every whitespace
run other than one space (newlines, blank lines, tabs, double spaces) becomes a superblank
that Apertium passes through verbatim, and a removable period (`.[]`) closes each paragraph
so that sentence boundaries survive. Newlines and paragraph structure come back as they were.

Unknown words (with -u, not marked by `*`) pass through unchanged; that includes the mask
tokens (`zqx0qz`) of protect.py, so protected spans survive the round trip.
"""

from __future__ import annotations

import re
import shutil
import subprocess

from pipeline.augment.translator import Translations, Translator

_SPECIAL = set("\\[]^$<>@/{}")  # escaped with a backslash in Apertium's stream format
_BLANK = re.compile(r"[\s~]+")  # `~` is a blank to Apertium too (apertium-destxt wraps it)
_PARAGRAPH = re.compile(r"\n[^\S\n]*\n")
_SPACES = re.compile(r" {2,}")
# Apertium leaves a space before a sentence's final period ("Es mi nombre ."); keep such a
# space only where the source text had one too.
_SPACE_PUNCT = re.compile(r" +([.,;:!?])(?=\s|$)")


class ApertiumError(RuntimeError):
    """Apertium is missing, failed, timed out, or broke the record mapping."""


def _escape(text: str) -> str:
    return "".join("\\" + c if c in _SPECIAL else c for c in text)


def deformat(text: str) -> str:
    """A record as Apertium's stream format, like `apertium-destxt` writes it."""
    text = text.replace("\0", "")
    if not text.strip():
        return f"[{_escape(text)}]" if text else ""
    out, last = [], 0
    for m in _BLANK.finditer(text):
        out.append(_escape(text[last:m.start()]))
        run = m.group(0)
        if m.end() == len(text):  # trailing blanks: close the last sentence before them
            out.append(f".[][{_escape(run)}]")
        elif run == " ":
            out.append(" ")
        else:
            out.append((".[]" if _PARAGRAPH.search(run) and m.start() > 0 else "") + f"[{_escape(run)}]")
        last = m.end()
    if last < len(text):
        out += [_escape(text[last:]), ".[]"]
    return "".join(out)


def reformat(stream: str) -> str:
    """Apertium's output stream as text, like `apertium-retxt`; extra plain spaces collapse.

    Every whitespace run of the input was either one space or a superblank, so runs of plain
    spaces, and plain spaces touching a superblank or the record's ends, are Apertium's
    (left where it dropped or moved a word) and go; the superblanks come back verbatim.
    """
    parts: list[tuple[bool, str]] = []  # (is_superblank, text)
    plain: list[str] = []
    i, n = 0, len(stream)
    while i < n:
        c = stream[i]
        if c == "\\" and i + 1 < n:
            plain.append(stream[i + 1])
            i += 2
        elif c == "[":
            j, inner = i + 1, []
            while j < n and stream[j] != "]":
                if stream[j] == "\\" and j + 1 < n:
                    j += 1
                inner.append(stream[j])
                j += 1
            if not inner and plain and plain[-1] == ".":
                plain.pop()  # the period deformat added to close a paragraph
            parts.append((False, "".join(plain)))
            parts.append((True, "".join(inner)))
            plain = []
            i = j + 1
        else:
            plain.append(c)
            i += 1
    parts.append((False, "".join(plain)))
    # The nearest non-empty part on each side of every part (empty ones are `[]` and "").
    before: list[tuple[bool, str] | None] = []
    last = None
    for p in parts:
        before.append(last)
        last = p if p[1] else last
    after: list[tuple[bool, str] | None] = [None] * len(parts)
    last = None
    for k in range(len(parts) - 1, -1, -1):
        after[k] = last
        last = parts[k] if parts[k][1] else last
    out: list[str] = []
    for (blank, text), b, a in zip(parts, before, after):
        if not blank:
            text = _SPACES.sub(" ", text)
            if b is None or (b[0] and b[1][-1].isspace()):
                text = text.lstrip(" ")
            if a is None or (a[0] and a[1][0].isspace()):
                text = text.rstrip(" ")
        out.append(text)
    return "".join(out)


class ApertiumTranslator(Translator):
    """One direction of an installed Apertium pair, e.g. "eng-spa" (`apertium -l` lists them)."""

    def __init__(self, pair: str, timeout_s: float = 600.0, executable: str = "apertium") -> None:
        self.pair = pair
        self.timeout_s = timeout_s
        exe = shutil.which(executable)
        if exe is None:
            raise ApertiumError(f"`{executable}` is not installed: apt-get install -y apertium {_package(pair)}")
        self.executable = exe
        listed = subprocess.run([exe, "-l"], capture_output=True, text=True, timeout=60).stdout.split()
        if pair not in listed:
            raise ApertiumError(
                f"Apertium pair {pair!r} is not installed (installed: {', '.join(listed) or 'none'}): "
                f"apt-get install -y {_package(pair)} (`apt-cache search apertium-` lists the pairs)")

    def _exec(self, data: bytes) -> str:
        """Run one `apertium` subprocess over a NUL-separated stream; its raw output."""
        try:
            proc = subprocess.run([self.executable, "-z", "-f", "none", "-u", self.pair], input=data,
                                  capture_output=True, timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            raise ApertiumError(f"apertium {self.pair} took over {self.timeout_s:g}s on one batch "
                                f"(raise timeout_s or use smaller batches)") from None
        if proc.returncode != 0:
            msg = (proc.stderr or proc.stdout).decode("utf-8", "replace").strip()[:500]
            raise ApertiumError(f"apertium {self.pair} failed (exit {proc.returncode}): {msg}")
        return proc.stdout.decode("utf-8", "replace")

    def _call(self, records: list[str]) -> list[str] | None:
        """Translate deformatted records in one subprocess; None when the output does not map back.

        Each record starts with a superblank naming its index (`[<r7>]`), which Apertium passes
        through verbatim: output field k must start with marker k, and the fields after the
        last record (the modules' closing flushes) must be empty.
        """
        data = "".join(f"[<r{k}>]{r}\0" for k, r in enumerate(records)).encode("utf-8")
        fields = self._exec(data).split("\0")
        if len(fields) < len(records) or any(f.strip() for f in fields[len(records):]):
            return None
        out = []
        for k, f in enumerate(fields[:len(records)]):
            marker = f"[<r{k}>]"
            if not f.startswith(marker):
                return None
            out.append(f[len(marker):])
        return out

    def run(self, texts: list[str]) -> Translations:
        todo = [i for i, t in enumerate(texts) if t.strip()]
        out = list(texts)  # blank records translate to themselves
        if not todo:
            return Translations(out)
        records = [deformat(texts[i]) for i in todo]
        fields = self._call(records)
        fallback = fields is None
        if fields is None:  # the mapping broke: retranslate this batch one record per call
            fields = []
            for r in records:
                one = self._call([r])
                if one is None:
                    raise ApertiumError(f"apertium {self.pair} output does not map back to its input: {r[:80]!r}")
                fields += one
        for i, f in zip(todo, fields):
            out[i] = reformat(f)
            if not _SPACE_PUNCT.search(texts[i]):
                out[i] = _SPACE_PUNCT.sub(r"\1", out[i])
        return Translations(out, fallback=fallback)


def _package(pair: str) -> str:
    return f"apertium-{pair}" if re.fullmatch(r"[a-z]{2,3}-[a-z]{2,3}", pair) else "apertium-<pair>"
