"""A labelled set of duplicate / non-duplicate pairs of real text, for the dedup quality benchmark.

    .venv/bin/python bench/dedup_pairs.py [--seed 0] [--quick] [--rebuild] [--examples N]

Three real sources from the machine, each compared the way the dedup stage compares it (the
`compared_text` of the kind's default dedup fields, so the stored `a` and `b` are exactly what
the exact, near and semantic levels see):

* spamassassin: e-mails (subject + body, as the project's e-mail reader makes them);
* chatterbot: question/answer records (prompt + response);
* stdlib: docstring -> function records mined by the project's code-tree reader.

Positives (duplicates) are of two origins:

* controlled edits of one real record (`edit` names the edit): word insertions, deletions,
  substitutions or a mix of them touching 2-15% of the edited text's words, at least one
  (`rate`: words edited / words of the whole record, so one word of a 10-word record is 10%);
  two adjacent sentences swapped; a greeting/signature/disclaimer of a few words added to a text
  at least five times its length; whitespace/case/punctuation changes; for code, a renamed
  identifier (<= 15% of the words), an added comment line, one dropped line of a body of >= 8,
  respaced operators, a licence-header comment, docstring word edits or a docstring sentence
  swap. A record of fewer than 8 words gets only edits that keep its meaning (format, one filler
  word such as "well,"). Inserted and substituted words are drawn from the source's own words;
* real near-duplicates found in the corpora (`edit` "real"): candidate pairs are nearest
  neighbours by TF-IDF of character 5-grams (top 3 per text, cosine >= 0.3; a fixed sample of
  them); a candidate is a duplicate when its character-level `difflib.SequenceMatcher` ratio
  (autojunk off, on the first and last 2,500 characters of longer texts) is >= 0.9, a
  non-duplicate when it is < 0.5, and excluded in between. Some >= 0.9 pairs are excluded too:
  ham e-mail (templated notifications of different events, replies quoting their parent) and
  stdlib functions of different names (getatime / getmtime: one template, two functions), so
  real e-mail positives are spam campaigns and real code positives are same-named functions.
  At most 5 real positives per connected group (one campaign). Texts identical after
  normalisation are "real-exact" positives (spamassassin only).

Negatives (different examples): the mined neighbours below 0.5, and pairs built to be hard:
two records of one topic / module / mailing list, two spam mails, a question answered two ways
(different answers of one prompt are two examples, as the dedup fields say), consecutive turns
of one conversation (they share a text), same-named functions of different modules, two
different records carrying the same added boilerplate, plus random pairs. Every built negative
is checked: the parts the pair does not share by construction must have a difflib ratio < 0.5
(for two mails of one list, after removing their common list header/footer); pairs that fail
are excluded and counted, never relabelled. A sample of every excluded group is kept aside,
unlabelled, so the benchmark can report how often each setting flags the ambiguous zone.

Building reads ~6k mails and runs a few thousand difflib comparisons (minutes on 2 cores); the
mined candidates and the finished set are cached under ~/.cache/curate/bench/, keyed by the
parameters and the corpus files.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import difflib
import hashlib
import json
import os
import random
import re
import sys
import sysconfig
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pipeline.dedup.config import DEFAULT_DEDUP_FIELDS  # noqa: E402
from pipeline.similarity.content import compared_text  # noqa: E402

VERSION = 5  # bump when the construction changes: it is part of the pair-set cache key
MINE_VERSION = 3  # bump when the mining (candidates, difflib) changes
CACHE = Path(os.environ.get("CURATE_BENCH_CACHE", Path.home() / ".cache" / "curate" / "bench"))
DUP_RATIO, NONDUP_RATIO = 0.9, 0.5  # difflib ratio: >= duplicate, < non-duplicate, else excluded
CAP_CHARS = 2500  # difflib sees the first and last CAP_CHARS characters of a longer text
SHORT_WORDS = 8  # records with fewer words get only meaning-preserving edits
MIN_RATE, MAX_RATE = 0.02, 0.15  # fraction of words touched by a word-level edit
MINE_SEED = 0  # the mined candidates do not depend on the pair-set seed, so one cache serves all

KIND = {"spamassassin": "classification", "chatterbot": "instruction", "stdlib": "code"}
SOURCES = tuple(KIND)

# Pairs wanted per source and category at scale 1 (--quick: scale 0.25). Real pairs are capped
# by what the corpus holds.
TARGETS: dict[str, dict[str, int]] = {
    "spamassassin": {"synthetic": 700, "real": 400, "real-exact": 40, "neg:neighbour": 400,
                     "neg:same-list": 300, "neg:spam-spam": 150, "neg:random": 200},
    "chatterbot": {"synthetic": 600, "real": 150, "neg:neighbour": 200, "neg:same-question": 200,
                   "neg:next-turn": 150, "neg:same-topic": 250, "neg:shared-boilerplate": 60, "neg:random": 150},
    "stdlib": {"synthetic": 600, "real": 150, "neg:neighbour": 250, "neg:same-module": 250,
               "neg:same-name": 150, "neg:shared-boilerplate": 60, "neg:random": 150},
}
MINE_MAX = {"spamassassin": 3500, "chatterbot": 4000, "stdlib": 3000}  # candidates compared
MAX_PER_CLUSTER = 5  # real positive pairs kept per connected group (one spam campaign)
AMBIGUOUS_MAX = 200  # excluded pairs kept (unlabelled, at scale 1) per source and reason, to report flag rates

GREETINGS = ["Hi all,", "Hello,", "Dear friend,", "Good morning everyone,", "Hi there,", "Hello team,"]
SIGNATURES = ["Best regards,\nJohn", "Thanks,\nMaria", "Sent from my iPhone", "-- \nPeter Novak\nSupport Team",
              "Cheers, Alex", "Kind regards,\nThe Support Team"]
DISCLAIMERS = ["This e-mail is confidential and intended only for the addressee.",
               "Please consider the environment before printing this e-mail.",
               "Disclaimer: the views expressed here are my own.",
               "Reply with REMOVE in the subject to stop receiving these messages."]
CHAT_BOILER = ["Hope this helps!", "Let me know if you have any other questions.", "Thanks for asking.",
               "Is there anything else I can help you with?", "Hi! Good question."]
CODE_BOILER = ["# Copyright (c) 2021 ACME Corp. All rights reserved.",
               "# Licensed under the Apache License, Version 2.0.",
               "# This function is part of the public API; do not change its signature.",
               "# Auto-generated docs below; edit with care."]
CODE_COMMENTS = ["# handle the common case first", "# TODO: check this for edge cases",
                 "# keep for backwards compatibility",
                 "# fast path", "# see the docs for details", "# avoid a second lookup here", "# this can be slow"]
FILLERS = ["well", "so", "ok", "oh", "hmm", "um"]
NEW_NAMES = ["value", "item", "obj", "data", "result", "tmp", "arg", "val", "node", "entry", "elem", "thing"]


@dataclass(frozen=True, slots=True)
class Pair:
    a: str  # compared text (what the dedup stage compares) of one record
    b: str
    label: bool  # True: duplicates
    kind: str  # record kind (classification / instruction / code): content keys depend on it
    source: str  # spamassassin / chatterbot / stdlib
    edit: str  # positives: the edit or "real"/"real-exact"; negatives: "neg:<how the pair was made>"
    rate: float = 0.0  # word-level edits: words touched / words of the whole record
    ratio: float = -1.0  # the difflib ratio a mined or checked pair was labelled by (-1: not computed)


@dataclass
class Rec:
    fields: dict[str, str]
    group: str = ""  # topic / mailing list / module
    name: str = ""  # stdlib: the function's own name; chatterbot: the question
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)


# ----------------------------------------------------------------------------- difflib labelling


def capped(t: str) -> str:
    return t if len(t) <= 2 * CAP_CHARS else t[:CAP_CHARS] + t[-CAP_CHARS:]


def ratio(a: str, b: str) -> float:
    """Character-level difflib ratio; the cheap upper bounds answer clear non-duplicates."""
    sm = difflib.SequenceMatcher(None, capped(a), capped(b), autojunk=False)
    bound = sm.real_quick_ratio()
    if bound < NONDUP_RATIO:
        return bound
    bound = sm.quick_ratio()
    if bound < NONDUP_RATIO:
        return bound
    return sm.ratio()


def _ratios(chunk: list[tuple[str, str]]) -> list[float]:
    return [ratio(a, b) for a, b in chunk]


def ratios(pairs: list[tuple[str, str]], workers: int = 2) -> list[float]:
    """difflib ratios of many pairs, in two processes when there are many long ones."""
    if len(pairs) < 200 or workers < 2:
        return _ratios(pairs)
    chunks = [pairs[i:i + 100] for i in range(0, len(pairs), 100)]
    with ProcessPoolExecutor(max_workers=workers) as ex:
        return [r for part in ex.map(_ratios, chunks) for r in part]


def strip_common_affixes(a: str, b: str, prefixes: collections.Counter, suffixes: collections.Counter,
                         probe: int = 60, min_count: int = 5) -> tuple[str, str]:
    """Remove the common start and end of two mails when it is boilerplate: a list's subject
    tag / header block or footer, i.e. a string of >= probe chars that opens (or ends) at least
    min_count mails of the corpus."""
    n = min(len(a), len(b))
    s = 0
    while s < n and a[len(a) - 1 - s] == b[len(b) - 1 - s]:
        s += 1
    if s >= probe and suffixes[a[-probe:]] >= min_count:
        a, b = a[: len(a) - s], b[: len(b) - s]
    n = min(len(a), len(b))
    p = 0
    while p < n and a[p] == b[p]:
        p += 1
    if p >= probe and prefixes[a[:probe]] >= min_count:
        a, b = a[p:], b[p:]
    return a, b


# ----------------------------------------------------------------------------- sources


def data_home() -> Path:
    return Path(os.environ.get("CURATE_DATA_HOME", Path.home() / ".cache" / "curate" / "data"))


def load_emails() -> tuple[list[Rec], list[list[int]]]:
    """Unique mails (by compared text) and the groups of mails that were identical."""
    import email.parser

    from pipeline.collect.email_reader import message_row

    home = data_home() / "spamassassin"
    header_parser = email.parser.BytesHeaderParser()
    recs: list[Rec] = []
    index: dict[str, int] = {}
    groups: dict[int, int] = collections.Counter()
    for label in ("spam", "ham"):
        for f in sorted((home / label).glob("*.eml")):
            raw = f.read_bytes()
            try:
                row = message_row(raw)
            except ValueError:
                continue
            text = compared_text(row, ["text"])
            if not text:
                continue
            if text in index:
                groups[index[text]] += 1
                continue
            try:
                h = header_parser.parsebytes(raw)
                lst = str(h.get("list-id") or h.get("x-mailing-list") or "")
            except Exception:  # noqa: BLE001 - malformed headers: no list
                lst = ""
            index[text] = len(recs)
            recs.append(Rec({"text": row["text"]}, group=lst, extra={"label": label, "file": f.name}))
    # (one index per identical group is enough: a real-exact pair is a text and its copy)
    return recs, [[i, c] for i, c in sorted(groups.items())]


def load_chatterbot() -> tuple[list[Rec], list[tuple[int, int]]]:
    """Unique question/answer records and (record t, record t+1) pairs of one conversation."""
    rows = [json.loads(line) for line in open(data_home() / "chatterbot" / "english.jsonl", encoding="utf-8")]
    recs: list[Rec] = []
    index: dict[str, int] = {}
    at: dict[tuple[str, int], int] = {}
    for r in rows:
        fields = {"prompt": str(r["question"]), "response": str(r["answer"])}
        key = compared_text(fields, DEFAULT_DEDUP_FIELDS["instruction"])
        if key is None:
            continue
        if key not in index:
            index[key] = len(recs)
            recs.append(Rec(fields, group=str(r.get("topic", "")), name=fields["prompt"].strip().lower()))
        at[(r["conversation"], int(r["turn"]))] = index[key]
    turns = sorted({(i, at[(c, t + 1)]) for (c, t), i in at.items() if (c, t + 1) in at and at[(c, t + 1)] != i})
    return recs, turns


def load_stdlib() -> list[Rec]:
    from pipeline.collect import read_source
    from pipeline.collect.base import RawRow
    from pipeline.collect.config import SourceConfig
    from pipeline.demo.config import STDLIB_EXCLUDE

    src = SourceConfig(name="stdlib", kind="code", format="code_tree", path=sysconfig.get_paths()["stdlib"],
                       exclude=STDLIB_EXCLUDE)
    recs: list[Rec] = []
    seen: set[str] = set()
    for item in read_source(src):
        if not isinstance(item, RawRow):
            continue
        d = item.data
        fields = {"prompt": d["prompt"], "code": d["code"]}
        key = compared_text(fields, DEFAULT_DEDUP_FIELDS["code"])
        if key is None or key in seen:
            continue
        seen.add(key)
        recs.append(Rec(fields, group=d["path"], name=d["qualname"].rsplit(".", 1)[-1],
                        extra={"qualname": d["qualname"]}))
    return recs


def corpus_fingerprint() -> str:
    h = hashlib.blake2b(digest_size=8)
    home = data_home()
    for sub in ("spamassassin/spam", "spamassassin/ham"):
        files = sorted((home / sub).glob("*.eml"))
        h.update(f"{sub}:{len(files)}:{sum(f.stat().st_size for f in files)};".encode())
    cb = home / "chatterbot" / "english.jsonl"
    h.update(f"cb:{cb.stat().st_size};".encode())
    h.update(f"py:{sys.version_info[:3]}:{sysconfig.get_paths()['stdlib']}".encode())
    return h.hexdigest()


def texts_of(source: str, recs: list[Rec]) -> list[str]:
    fields = DEFAULT_DEDUP_FIELDS[KIND[source]]
    return [compared_text(r.fields, fields) or "" for r in recs]


# ----------------------------------------------------------------------------- mining real pairs


def neighbour_candidates(texts: list[str], k: int = 3, floor: float = 0.3) -> dict[tuple[int, int], float]:
    """Pairs (i < j) where j is among i's k nearest neighbours by TF-IDF cosine of character
    5-grams (of the first 3,000 characters), cosine >= floor."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(5, 5), min_df=2, sublinear_tf=True, dtype=np.float32)
    x = vec.fit_transform([t[:3000] for t in texts])
    sims = (x @ x.T).tocsr()
    sims.setdiag(0)
    sims.eliminate_zeros()
    out: dict[tuple[int, int], float] = {}
    for i in range(sims.shape[0]):
        lo, hi = sims.indptr[i], sims.indptr[i + 1]
        idx, val = sims.indices[lo:hi], sims.data[lo:hi]
        for j, v in zip(idx[np.argsort(-val)[:k]], val[np.argsort(-val)[:k]]):
            if v >= floor:
                out[(min(i, int(j)), max(i, int(j)))] = float(v)
    return out


def mine(source: str, recs: list[Rec], log: Callable[[str], None]) -> list[dict]:
    """Candidate pairs of one source with their difflib ratios (cached: the slow part)."""
    path = CACHE / f"dedup_mined-v{MINE_VERSION}-{source}-{corpus_fingerprint()}.json"
    if path.exists():
        return json.loads(path.read_text())
    texts = texts_of(source, recs)
    t0 = time.time()
    cands = neighbour_candidates(texts)
    keys = sorted(cands)
    rng = random.Random(MINE_SEED)
    if len(keys) > MINE_MAX[source]:
        keys = sorted(rng.sample(keys, MINE_MAX[source]))
    log(f"  mining {source}: {len(cands)} neighbour candidates, difflib on {len(keys)} ...")
    rs = ratios([(texts[i], texts[j]) for i, j in keys])
    out = [{"i": i, "j": j, "cos": round(cands[(i, j)], 4), "ratio": round(r, 4)} for (i, j), r in zip(keys, rs)]
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(out))
    tmp.replace(path)
    log(f"  mined {source} in {time.time() - t0:.0f}s")
    return out


def cap_per_cluster(pairs: list[tuple[int, int]], rng: random.Random, cap: int) -> list[tuple[int, int]]:
    """At most `cap` pairs of each connected group, so one campaign sent 30 times does not dominate."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in pairs:
        parent[find(i)] = find(j)
    by: dict[int, list[tuple[int, int]]] = collections.defaultdict(list)
    for p in pairs:
        by[find(p[0])].append(p)
    out = []
    for root in sorted(by):
        ps = by[root]
        out.extend(rng.sample(ps, cap) if len(ps) > cap else ps)
    return sorted(out)


# ----------------------------------------------------------------------------- edits

_TOKEN = re.compile(r"(\s+)")
_SENT = re.compile(r"(?<=[.!?])\s+")


def word_edit(text: str, rng: random.Random, op: str, rate: float, vocab: list[str]) -> tuple[str, int]:
    """Insert / delete / substitute (or a mix of them) at rate * words positions (at least one,
    at most 15% of the words); layout elsewhere is kept. Returns the text and the edit count."""
    parts = _TOKEN.split(text)
    words = [i for i, p in enumerate(parts) if p and not p.isspace()]
    if not words:
        return text, 0
    k = max(1, min(round(rate * len(words)), int(MAX_RATE * len(words))))
    for pos in rng.sample(words, min(k, len(words))):
        how = rng.choice(["insert", "delete", "substitute"]) if op == "mixed" else op
        if how == "insert":
            parts[pos] = rng.choice(vocab) + " " + parts[pos]
        elif how == "delete":
            parts[pos] = ""
        else:
            new = rng.choice(vocab)
            while new.lower() == parts[pos].lower() and len(vocab) > 1:
                new = rng.choice(vocab)
            parts[pos] = new
    return re.sub(r"[ \t]{2,}", " ", "".join(parts)), min(k, len(words))


def swap_sentences(text: str, rng: random.Random) -> str | None:
    sents = _SENT.split(text)
    ok = [i for i in range(len(sents) - 1) if len(sents[i].split()) >= 3 and len(sents[i + 1].split()) >= 3]
    if not ok:
        return None
    i = rng.choice(ok)
    sents[i], sents[i + 1] = sents[i + 1], sents[i]
    return " ".join(sents)


def format_edit(text: str, rng: random.Random) -> str:
    """Whitespace, case and punctuation changes (no word changes)."""
    ops = rng.sample(["space", "case", "punct", "quotes", "newline"], rng.randint(1, 3))
    if "case" in ops:
        text = rng.choice([str.upper, str.lower, str.capitalize, str.title])(text)
    if "space" in ops:
        text = re.sub(r" ", lambda m: "  " if rng.random() < 0.2 else " ", text) + rng.choice(["", " ", "\n"])
    if "newline" in ops:
        words = text.split(" ")
        if len(words) > 3:
            i = rng.randrange(1, len(words))
            words[i] = "\n" + words[i]
        text = " ".join(words)
    if "punct" in ops:
        stripped = text.rstrip()
        if stripped and stripped[-1] in ".!?":
            text = stripped[:-1] + rng.choice(["", "!", "!!", "..."])
        else:
            text = stripped + rng.choice([".", "!", "?"])
        text = re.sub(r",", lambda m: "" if rng.random() < 0.3 else ",", text)
    if "quotes" in ops:
        text = text.replace("'", "\u2019") if "'" in text else text.replace("\u2019", "'").replace('"', "'")
    return text


def add_filler(text: str, rng: random.Random) -> str:
    f = rng.choice(FILLERS)
    return f"{f.capitalize()}, {text[:1].lower()}{text[1:]}" if text else f


def n_words(fields: dict[str, str]) -> int:
    return sum(len(v.split()) for v in fields.values())


def boilerplate_for(source: str, rng: random.Random) -> tuple[str, str]:
    """(where, text): a few words to put at the start or end of a record."""
    if source == "spamassassin":
        where = rng.choice(["start", "end", "end"])
        return where, rng.choice(GREETINGS if where == "start" else SIGNATURES + DISCLAIMERS)
    if source == "chatterbot":
        return "end", rng.choice(CHAT_BOILER)
    return "code-start", rng.choice(CODE_BOILER)


def apply_boilerplate(source: str, fields: dict[str, str], where: str, bp: str) -> dict[str, str]:
    f = dict(fields)
    if source == "spamassassin":
        subject, sep, body = f["text"].partition("\n\n")
        if where == "start":
            f["text"] = f"{subject}{sep}{bp}\n{body}" if sep else f"{bp}\n{subject}"
        else:
            f["text"] = f["text"] + "\n\n" + bp
    elif source == "chatterbot":
        f["response"] = f["response"].rstrip() + " " + bp
    else:
        f["code"] = bp + "\n" + f["code"]
    return f


def code_rename(fields: dict[str, str], rng: random.Random) -> dict[str, str] | None:
    """Rename one parameter or local name (or the function) everywhere, if that touches <= 15% of the words."""
    import ast

    code = fields["code"]
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    fn = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
    if fn is None:
        return None
    names = {a.arg for a in fn.args.args + fn.args.kwonlyargs + fn.args.posonlyargs} | {fn.name}
    names |= {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    names -= {"self", "cls", "_"}
    total = len(re.findall(r"\w+", fields["prompt"] + " " + code))
    choices = []
    for name in sorted(names):
        if len(name) < 2:
            continue
        count = len(re.findall(rf"\b{re.escape(name)}\b", fields["prompt"] + " " + code))
        if 0 < count <= MAX_RATE * total:
            choices.append(name)
    if not choices:
        return None
    old = rng.choice(choices)
    free = [n for n in NEW_NAMES if not re.search(rf"\b{n}\b", code)]
    new = rng.choice(free) if free else old + "_"
    if old == fn.name:
        new = old + rng.choice(["_impl", "2", "_v2", "_new"])
    sub = re.compile(rf"\b{re.escape(old)}\b")
    return {"prompt": sub.sub(new, fields["prompt"]), "code": sub.sub(new, code)}


def code_comment(fields: dict[str, str], rng: random.Random) -> dict[str, str] | None:
    lines = fields["code"].split("\n")
    body = [i for i in range(1, len(lines)) if lines[i].strip()]
    if not body:
        return None
    i = rng.choice(body)
    indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
    lines.insert(i, indent + rng.choice(CODE_COMMENTS))
    return {**fields, "code": "\n".join(lines)}


def code_drop_line(fields: dict[str, str], rng: random.Random) -> dict[str, str] | None:
    lines = fields["code"].split("\n")
    body = [i for i in range(1, len(lines)) if lines[i].strip() and not lines[i].strip().startswith(("def ", "@"))]
    if len(body) < 8:
        return None
    i = rng.choice(body)
    # one line of a body of >= 8 is <= 12% of the lines; skip one that is most of the words
    if len(lines[i].split()) > MAX_RATE * n_words(fields):
        return None
    del lines[i]
    return {**fields, "code": "\n".join(lines)}


def code_format(fields: dict[str, str], rng: random.Random) -> dict[str, str]:
    code = fields["code"]
    code = re.sub(r", ", lambda m: "," if rng.random() < 0.5 else ", ", code)
    code = re.sub(r" = ", lambda m: "=" if rng.random() < 0.5 else " = ", code)
    code = re.sub(r"\n(?=\s*(if|for|return|while)\b)", lambda m: "\n\n" if rng.random() < 0.3 else "\n", code)
    code = code.replace("    ", "  ") if rng.random() < 0.5 else code
    prompt = format_edit(fields["prompt"], rng) if rng.random() < 0.5 else fields["prompt"]
    return {"prompt": prompt, "code": code}


def synthetic(source: str, fields: dict[str, str], rng: random.Random,
              vocab: list[str]) -> tuple[dict[str, str], str, float] | None:
    """One edited copy of a record: (fields, edit, rate), or None when the chosen edit does not apply."""
    words = n_words(fields)
    rate = 0.0
    if source == "stdlib":
        kind = rng.choice(["docstring", "rename", "comment", "drop_line", "format", "boilerplate", "swap"])
        if kind == "docstring":
            if len(fields["prompt"].split()) < 10:
                return None
            doc, k = word_edit(fields["prompt"], rng, "mixed", rng.uniform(MIN_RATE, MAX_RATE), vocab)
            return {**fields, "prompt": doc}, kind, round(k / words, 4)
        if kind == "swap":
            doc = swap_sentences(fields["prompt"], rng)
            return ({**fields, "prompt": doc}, kind, 0.0) if doc else None
        if kind == "boilerplate":
            where, bp = boilerplate_for(source, rng)
            if words < 5 * len(bp.split()):
                return None
            return apply_boilerplate(source, fields, where, bp), kind, 0.0
        fn = {"rename": code_rename, "comment": code_comment, "drop_line": code_drop_line, "format": code_format}[kind]
        out = fn(fields, rng)
        return (out, kind, 0.0) if out else None

    main = "text" if source == "spamassassin" else None
    if words < SHORT_WORDS:
        kind = rng.choice(["format", "filler"])
    else:
        kind = rng.choice(["insert", "delete", "substitute", "mixed", "swap", "boilerplate", "format"])
    f = dict(fields)

    def target() -> str:
        if main:
            return main
        # chatterbot: the field to edit, chosen by its share of the words
        return rng.choices(list(f), weights=[max(1, len(v.split())) for v in f.values()])[0]

    if kind in ("insert", "delete", "substitute", "mixed"):
        rate = rng.uniform(MIN_RATE, MAX_RATE)
        if main:
            f[main], k = word_edit(f[main], rng, kind, rate, vocab)
        else:
            # edit the record's words as one sequence, so the rate is of the whole record
            joined = f["prompt"] + " \x1e " + f["response"]
            edited, k = word_edit(joined, rng, kind, rate, vocab)
            if edited.count("\x1e") != 1:  # the separator was deleted or replaced: redo without it
                return None
            f["prompt"], f["response"] = (s.strip() for s in edited.split("\x1e"))
        return f, kind, round(k / words, 4)
    if kind == "swap":
        t = target()
        out = swap_sentences(f[t], rng)
        if out is None:
            return None
        f[t] = out
        return f, kind, 0.0
    if kind == "boilerplate":
        where, bp = boilerplate_for(source, rng)
        if words < 5 * len(bp.split()):
            return None
        return apply_boilerplate(source, f, where, bp), kind, 0.0
    if kind == "filler":
        t = target()
        f[t] = add_filler(f[t], rng)
        return f, kind, 0.0
    for t in ([main] if main else list(f)):
        if rng.random() < 0.7 or main:
            f[t] = format_edit(f[t], rng)
    return f, kind, 0.0


# ----------------------------------------------------------------------------- the set


def _vocab(texts: Iterable[str], rng: random.Random, n: int = 50_000) -> list[str]:
    """Words sampled by frequency from the source itself, so inserted words are plausible."""
    words = [w for t in texts for w in re.findall(r"[A-Za-z][A-Za-z']*", t[:2000])]
    return rng.sample(words, min(n, len(words))) if words else ["the"]


class Builder:
    def __init__(self, source: str, recs: list[Rec], seed: int, scale: float, log: Callable[[str], None]):
        self.source, self.recs, self.log = source, recs, log
        self.kind = KIND[source]
        self.texts = texts_of(source, recs)
        self.rng = random.Random(f"{seed}:{source}")
        self.scale = scale
        self.pairs: list[Pair] = []
        self.seen: set[tuple[str, str]] = set()
        self.excluded: collections.Counter = collections.Counter()
        self.ambiguous: dict[str, list[tuple[str, str, float]]] = collections.defaultdict(list)
        self.vocab = _vocab((t for r in recs for t in r.fields.values()), random.Random(f"vocab:{source}"))

    def want(self, category: str) -> int:
        return max(1, round(TARGETS[self.source].get(category, 0) * self.scale))

    def add(self, a: str, b: str, label: bool, edit: str, rate: float = 0.0, r: float = -1.0) -> bool:
        key = (a, b) if a <= b else (b, a)
        if not a or not b or key in self.seen:
            return False
        self.seen.add(key)
        if self.rng.random() < 0.5:
            a, b = b, a
        self.pairs.append(Pair(a, b, label, self.kind, self.source, edit, rate, round(r, 4)))
        return True

    def text(self, fields: dict[str, str]) -> str:
        return compared_text(fields, DEFAULT_DEDUP_FIELDS[self.kind]) or ""

    def exclude(self, reason: str, a: str, b: str, r: float) -> None:
        """Count an excluded pair and keep it (unlabelled) for the ambiguous-zone report."""
        self.excluded[reason] += 1
        if a and b and a != b:
            self.ambiguous[reason].append((a, b, r))

    def ambiguous_pairs(self) -> list[Pair]:
        """A sample of the excluded pairs of each reason, label False but edit 'amb:<reason>': never scored."""
        out = []
        for reason in sorted(self.ambiguous):
            items = self.ambiguous[reason]
            for a, b, r in self.rng.sample(items, min(len(items), max(1, round(AMBIGUOUS_MAX * self.scale)))):
                out.append(Pair(a, b, False, self.kind, self.source, f"amb:{reason}", 0.0, round(r, 4)))
        return out

    # -- positives
    def synthetic(self, eligible: list[int]) -> None:
        want, made = self.want("synthetic"), 0
        order = eligible[:]
        self.rng.shuffle(order)
        for i in order:
            if made >= want:
                break
            for _ in range(3):  # an edit may not apply to this record: try another kind
                out = synthetic(self.source, self.recs[i].fields, self.rng, self.vocab)
                if out:
                    fields, edit, rate = out
                    if self.add(self.texts[i], self.text(fields), True, edit, rate):
                        made += 1
                    break

    def mined(self, mined: list[dict], exclude_pos: Callable[[int, int], bool] | None = None,
              own: Callable[[int, int, float], float] | None = None) -> None:
        pos, neg = [], []
        for m in mined:
            i, j, r = m["i"], m["j"], m["ratio"]
            if r >= DUP_RATIO:
                if exclude_pos and exclude_pos(i, j):
                    self.exclude(exclude_pos.__doc__ or "real >= 0.9, excluded", self.texts[i], self.texts[j], r)
                else:
                    pos.append((i, j))
            elif r < NONDUP_RATIO:
                neg.append((i, j, r))
            elif own is not None and own(i, j, r) < NONDUP_RATIO:
                neg.append((i, j, r))
            else:
                self.exclude("real 0.5-0.9", self.texts[i], self.texts[j], r)
        rmap = {(m["i"], m["j"]): m["ratio"] for m in mined}
        capped_pos = cap_per_cluster(pos, self.rng, MAX_PER_CLUSTER)
        self.excluded["real >= 0.9, over the per-cluster cap (not ambiguous)"] += len(pos) - len(capped_pos)
        self.rng.shuffle(capped_pos)
        for i, j in capped_pos[: self.want("real")]:
            self.add(self.texts[i], self.texts[j], True, "real", r=rmap[(i, j)])
        self.rng.shuffle(neg)
        made = 0
        for i, j, r in neg:
            if made >= self.want("neg:neighbour"):
                break
            made += self.add(self.texts[i], self.texts[j], False, "neg:neighbour", r=r)

    # -- built negatives: candidates (i, j, the texts the ratio is checked on)
    def negatives(self, category: str, candidates: Iterable[tuple[int, int, str, str]],
                  own: Callable[[int, int, float], float] | None = None, oversample: float = 1.6) -> None:
        want = self.want(category)
        picked: list[tuple[int, int, str, str]] = []
        keys: set[tuple[int, int]] = set()
        for i, j, ca, cb in candidates:
            if len(picked) >= int(want * oversample) + 5:
                break
            k = (min(i, j), max(i, j))
            if i == j or k in keys:
                continue
            keys.add(k)
            picked.append((i, j, ca, cb))
        self.add_dissimilar(picked, want, category,
                            lambda i, j, r: self.add(self.texts[i], self.texts[j], False, category, r=r), own)

    def add_dissimilar(self, picked: list[tuple[int, int, str, str]], want: int, category: str,
                       add_pair: Callable[[int, int, float], bool],
                       own: Callable[[int, int, float], float] | None = None) -> None:
        """Score the picked pairs; exclude those too alike to be negatives, add up to `want` others."""
        rs = ratios([(ca, cb) for _, _, ca, cb in picked])
        made = 0
        for (i, j, _, _), r in zip(picked, rs):
            if made >= want:
                break
            if r >= NONDUP_RATIO and own is not None:
                r = own(i, j, r)
            if r >= NONDUP_RATIO:
                self.exclude(f"{category} ratio>=0.5", self.texts[i], self.texts[j], r)
                continue
            made += add_pair(i, j, r)

    def shared_boilerplate(self, eligible: list[int]) -> None:
        """Two different records with the same added boilerplate (negatives)."""
        def gen():
            while True:
                i, j = self.rng.sample(eligible, 2)
                yield i, j, self.texts[i], self.texts[j]
        want = self.want("neg:shared-boilerplate")
        cands = []
        for i, j, ca, cb in gen():
            if len(cands) >= want * 2:
                break
            cands.append((i, j, ca, cb))

        def with_boilerplate(i: int, j: int, r: float) -> bool:
            where, bp = boilerplate_for(self.source, self.rng)
            fa = apply_boilerplate(self.source, self.recs[i].fields, where, bp)
            fb = apply_boilerplate(self.source, self.recs[j].fields, where, bp)
            return self.add(self.text(fa), self.text(fb), False, "neg:shared-boilerplate", r=r)

        self.add_dissimilar(cands, want, "neg:shared-boilerplate", with_boilerplate)

    def random_pairs(self, pool: list[int], n: int) -> Iterable[tuple[int, int, str, str]]:
        for _ in range(n):
            i, j = self.rng.sample(pool, 2)
            yield i, j, self.texts[i], self.texts[j]

    def within_groups(self, key: Callable[[Rec], str], pool: list[int] | None = None, n: int = 100_000):
        by: dict[str, list[int]] = collections.defaultdict(list)
        for i in (pool if pool is not None else range(len(self.recs))):
            g = key(self.recs[i])
            if g:
                by[g].append(i)
        groups = [g for g in sorted(by) if len(by[g]) >= 2]
        if not groups:
            return
        for _ in range(n):
            g = self.rng.choice(groups)
            i, j = self.rng.sample(by[g], 2)
            yield i, j, self.texts[i], self.texts[j]


def build_spamassassin(seed: int, scale: float, log) -> tuple[list[Pair], collections.Counter, list[Pair]]:
    recs, exact_groups = load_emails()
    b = Builder("spamassassin", recs, seed, scale, log)
    texts = b.texts
    prefixes = collections.Counter(t[:60] for t in texts if len(t) >= 60)
    suffixes = collections.Counter(t[-60:] for t in texts if len(t) >= 60)

    def own(i: int, j: int, r: float) -> float:
        """Ratio of two mails of one list once their common list boilerplate is removed; a
        non-duplicate needs >= 200 characters of its own on each side."""
        if not recs[i].group or recs[i].group != recs[j].group:
            return r
        a, c = strip_common_affixes(texts[i], texts[j], prefixes, suffixes)
        if min(len(a), len(c)) < 200:
            return r
        return ratio(a, c)

    def is_ham(i: int) -> bool:
        return recs[i].extra["label"] == "ham"

    def ham_pair(i: int, j: int) -> bool:
        """real >= 0.9, ham (templates, replies)"""
        return is_ham(i) or is_ham(j)

    b.mined(mine("spamassassin", recs, log), exclude_pos=ham_pair, own=own)
    # real-exact: a mail and its identical copy in the corpus (the stored texts are equal)
    b.rng.shuffle(exact_groups)
    for i, _ in exact_groups[: b.want("real-exact")]:
        b.pairs.append(Pair(texts[i], texts[i], True, b.kind, b.source, "real-exact", 0.0, 1.0))
    eligible = [i for i, t in enumerate(texts) if 20 <= len(t.split()) and len(t) <= 30_000]
    b.synthetic(eligible)
    ham = [i for i in range(len(recs)) if is_ham(i)]
    spam = [i for i in range(len(recs)) if not is_ham(i)]
    b.negatives("neg:same-list", b.within_groups(lambda r: r.group, ham), own=own)
    b.negatives("neg:spam-spam", b.random_pairs(spam, 100_000))
    b.negatives("neg:random", b.random_pairs(list(range(len(recs))), 100_000))
    return b.pairs, b.excluded, b.ambiguous_pairs()


def build_chatterbot(seed: int, scale: float, log) -> tuple[list[Pair], collections.Counter, list[Pair]]:
    recs, turns = load_chatterbot()
    b = Builder("chatterbot", recs, seed, scale, log)
    b.mined(mine("chatterbot", recs, log))
    b.synthetic(list(range(len(recs))))
    # one question answered two ways: the answers must differ (ratio < 0.5)
    by_q: dict[str, list[int]] = collections.defaultdict(list)
    for i, r in enumerate(recs):
        by_q[r.name].append(i)
    multi = [q for q in sorted(by_q) if len(by_q[q]) >= 2]

    def same_question():
        for _ in range(100_000):
            i, j = b.rng.sample(by_q[b.rng.choice(multi)], 2)
            yield i, j, recs[i].fields["response"].lower(), recs[j].fields["response"].lower()
    b.negatives("neg:same-question", same_question())

    # consecutive turns share a text (t's answer is t+1's question): the other halves must differ
    def next_turn():
        order = turns[:]
        b.rng.shuffle(order)
        for i, j in order:
            yield i, j, recs[i].fields["prompt"].lower(), recs[j].fields["response"].lower()
    b.negatives("neg:next-turn", next_turn())
    b.negatives("neg:same-topic", b.within_groups(lambda r: r.group))
    b.shared_boilerplate([i for i in range(len(recs)) if n_words(recs[i].fields) >= 20])
    b.negatives("neg:random", b.random_pairs(list(range(len(recs))), 100_000))
    return b.pairs, b.excluded, b.ambiguous_pairs()


def build_stdlib(seed: int, scale: float, log) -> tuple[list[Pair], collections.Counter, list[Pair]]:
    recs = load_stdlib()
    b = Builder("stdlib", recs, seed, scale, log)
    # Same-named functions only: two different functions of one template (getatime / getmtime,
    # assertIn / assertNotIn) reach 0.9 on short texts but are not the same example.
    def differently_named(i: int, j: int) -> bool:
        """real >= 0.9, different function names"""
        return recs[i].name != recs[j].name

    b.mined(mine("stdlib", recs, log), exclude_pos=differently_named)
    b.synthetic(list(range(len(recs))))
    b.negatives("neg:same-module", b.within_groups(lambda r: r.group))
    b.negatives("neg:same-name", b.within_groups(lambda r: r.name))
    b.shared_boilerplate([i for i in range(len(recs)) if n_words(recs[i].fields) >= 40])
    b.negatives("neg:random", b.random_pairs(list(range(len(recs))), 100_000))
    return b.pairs, b.excluded, b.ambiguous_pairs()


BUILDERS = {"spamassassin": build_spamassassin, "chatterbot": build_chatterbot, "stdlib": build_stdlib}


def cache_path(seed: int, scale: float) -> Path:
    key = json.dumps({"v": VERSION, "seed": seed, "scale": scale, "targets": TARGETS, "mine": MINE_MAX,
                      "corpus": corpus_fingerprint()}, sort_keys=True)
    return CACHE / f"dedup_pairs-{hashlib.blake2b(key.encode(), digest_size=8).hexdigest()}.jsonl"


@dataclass
class PairSet:
    pairs: list[Pair]  # labelled
    ambiguous: list[Pair]  # a sample of the excluded pairs (edit "amb:<reason>"): never scored
    excluded: dict[str, int]  # every excluded candidate, counted by source and reason


def load_pair_set(seed: int = 0, quick: bool = False, scale: float | None = None, rebuild: bool = False,
                  log: Callable[[str], None] = lambda s: print(s, file=sys.stderr)) -> PairSet:
    """The labelled pairs and the ambiguous sample (cached). quick: a quarter of each category."""
    scale = scale if scale is not None else (0.25 if quick else 1.0)
    path = cache_path(seed, scale)
    if path.exists() and not rebuild:
        with open(path, encoding="utf-8") as f:
            meta = json.loads(f.readline())
            rows = [json.loads(line) for line in f]
        return PairSet([Pair(**r["pair"]) for r in rows if r["set"] == "labelled"],
                       [Pair(**r["pair"]) for r in rows if r["set"] == "ambiguous"], meta["excluded"])
    t0 = time.time()
    pairs: list[Pair] = []
    ambiguous: list[Pair] = []
    excluded: dict[str, int] = {}
    for source in SOURCES:
        log(f"building {source} ...")
        ps, ex, amb = BUILDERS[source](seed, scale, log)
        pairs.extend(ps)
        ambiguous.extend(amb)
        excluded.update({f"{source}: {k}": v for k, v in sorted(ex.items())})
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps({"seed": seed, "scale": scale, "version": VERSION, "excluded": excluded}) + "\n")
        for name, items in (("labelled", pairs), ("ambiguous", ambiguous)):
            for p in items:
                f.write(json.dumps({"set": name, "pair": dataclasses.asdict(p)}, ensure_ascii=False) + "\n")
    tmp.replace(path)
    log(f"built {len(pairs)} pairs (+{len(ambiguous)} ambiguous kept aside) in {time.time() - t0:.0f}s -> {path}")
    return PairSet(pairs, ambiguous, excluded)


def build_pair_set(seed: int = 0, quick: bool = False, scale: float | None = None, rebuild: bool = False,
                   log: Callable[[str], None] = lambda s: print(s, file=sys.stderr)) -> list[Pair]:
    """The labelled pairs (cached). quick: a quarter of the pairs per category."""
    return load_pair_set(seed, quick, scale, rebuild, log).pairs


RATE_BUCKETS = ("<5%", "5-10%", "10-15%")


def rate_bucket(r: float) -> str:
    return "<5%" if r < 0.05 else "5-10%" if r < 0.10 else "10-15%"


def composition(pairs: list[Pair]) -> str:
    """Counts per source x edit x label, as a table."""
    c = collections.Counter((p.source, p.label, p.edit) for p in pairs)
    lines = [f"{'source':<13} {'label':<5} {'edit':<24} {'pairs':>6}"]
    for source in SOURCES:
        for label in (True, False):
            rows = sorted((e, n) for (s, lab, e), n in c.items() if s == source and lab == label)
            for e, n in rows:
                lines.append(f"{source:<13} {'dup' if label else 'non':<5} {e:<24} {n:>6}")
            lines.append(f"{source:<13} {'dup' if label else 'non':<5} {'(all)':<24} {sum(n for _, n in rows):>6}")
    pos = sum(p.label for p in pairs)
    lines.append(f"{'all':<13} {'':<5} {'':<24} {len(pairs):>6}  ({pos} dup, {len(pairs) - pos} non)")
    rates = [p.rate for p in pairs if p.rate > 0]
    if rates:
        b = collections.Counter(rate_bucket(r) for r in rates)
        lines.append("word-level edits by words edited / words of the record: "
                     + ", ".join(f"{k} {b[k]}" for k in RATE_BUCKETS if b[k]))
    short = sum(1 for p in pairs if p.label and p.edit in ("filler",))
    lines.append(f"short-record (<{SHORT_WORDS} words) filler edits: {short}")
    return "\n".join(lines)


def excluded_report(ps: PairSet) -> str:
    lines = ["excluded candidates (ambiguous, or failing a negative's check; never relabelled), and how many",
             "of them are kept aside unlabelled for the ambiguous-zone report:"]
    kept = collections.Counter(f"{p.source}: {p.edit[4:]}" for p in ps.ambiguous)
    for k, v in ps.excluded.items():
        lines.append(f"  {k:<68} {v:>6}   kept {kept.get(k, 0)}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="a quarter of the pairs")
    ap.add_argument("--rebuild", action="store_true", help="ignore the cached set")
    ap.add_argument("--examples", type=int, default=0, help="print N random pairs of each source and label")
    args = ap.parse_args()
    ps = load_pair_set(args.seed, args.quick, rebuild=args.rebuild)
    pairs = ps.pairs
    print(composition(pairs))
    print(excluded_report(ps))
    if args.examples:
        rng = random.Random(args.seed)
        for source in SOURCES:
            for label in (True, False):
                sel = [p for p in pairs if p.source == source and p.label == label]
                for p in rng.sample(sel, min(args.examples, len(sel))):
                    print(f"\n--- {source} {'dup' if label else 'non'} {p.edit} rate={p.rate} ratio={p.ratio}")
                    print("A:", p.a[:300].replace("\n", " ").replace("\x1e", " || "))
                    print("B:", p.b[:300].replace("\n", " ").replace("\x1e", " || "))


if __name__ == "__main__":
    main()
