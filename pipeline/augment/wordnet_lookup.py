"""Shared machinery of the word augmenters: tokens with offsets, one POS tagger, memoised synonyms.

Why not call nlpaug's `SynonymAug.augment` per record: it POS-tags each record in pure Python
(nltk 3.10 caches the tagger itself, but scores token by token), builds nltk `Synset` objects for
every looked-up word, draws from the global `random`/`numpy` state, and its tokenizer/detokenizer
rewrites the text (``don't`` -> ``don ' t``, newlines dropped). Here the text is tokenized
with character offsets and edits are spliced into the original string, so whitespace, line
structure and punctuation survive exactly; the batch is tagged at once (`batch_tagger`, nltk's
tags bit for bit); synonyms are nlpaug's `WordNet.predict` answers (read straight from the data
files, checked equal by tests) through a memo keyed by (word, WordNet POS); and nlpaug's tag-to-POS table (`PartOfSpeech.constituent2pos`) and
candidate clean-up (``_``/``-`` to spaces, lower case, capitalisation aligned) are kept.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
import threading
from pathlib import Path
from typing import NamedTuple

from pipeline.augment.batch_tagger import BatchTagger
from pipeline.augment.nltk_data import default_nltk_dir, ensure_nltk_data

# A small English stopword list (function words: no useful synonyms, and swapping them
# breaks grammar). Compared lower-cased.
DEFAULT_STOPWORDS: tuple[str, ...] = tuple("""
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just let me more
most my myself no nor not now of off on once only or other our ours ourselves out over own same she
should so some such than that the their theirs them themselves then there these they this those
through to too under until up very was we were what when where which while who whom why will with
would you your yours yourself yourselves yes ok okay
""".split())

# Mask tokens first (never split them), then Treebank-style contractions, words, punctuation.
_TOKEN_RE = re.compile(r"zqx\d+qz|\w+(?=n't\b)|n't\b|'(?:s|re|ve|ll|d|m)\b|\w+(?:-\w+)*|[^\w\s]", re.IGNORECASE)
_WORD_RE = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")
_LINE_RE = re.compile(r"[^\n]+")
_MASK_RE = re.compile(r"zqx\d+qz")
_ADJ_MARKER = re.compile(r"\([^()]*\)$")  # (a), (p), (ip) after an adjective lemma


class Token(NamedTuple):
    start: int
    end: int
    text: str
    line: int
    word: bool  # a whole alphabetic word that may be replaced, deleted, moved or used as a source


def tokenize(text: str) -> list[Token]:
    """Tokens of `text` with offsets; `word` excludes mask tokens and anything glued to another
    token: contraction pieces (``do``/``n't``, ``it``/``'s``), words touching a mask token."""
    out: list[Token] = []
    for line_no, line in enumerate(_LINE_RE.finditer(text)):
        for m in _TOKEN_RE.finditer(text, line.start(), line.end()):
            s, e, t = m.start(), m.end(), m.group(0)
            nxt = text[e:e + 2]
            glued = ((s > 0 and text[s - 1].isalnum()) or nxt[:1].isalnum()
                     or (nxt[:1] in "'\u2019" and nxt[1:].isalpha()) or text.startswith("n't", e))
            word = bool(_WORD_RE.fullmatch(t)) and len(t) > 1 and not glued and not _MASK_RE.search(t)
            out.append(Token(s, e, t, line_no, word))
    return out


def aug_count(n_tokens: int, aug_p: float, aug_min: int, aug_max: int | None) -> int:
    """nlpaug's `_generate_aug_cnt`: ceil(aug_p * tokens), at least aug_min, at most aug_max."""
    if n_tokens == 0:
        return 0
    cnt = int(math.ceil(aug_p * n_tokens))
    if aug_min and cnt < aug_min:
        return aug_min
    if aug_max and cnt > aug_max:
        return aug_max
    return cnt


def record_seed(text: str, seed: int) -> int:
    digest = hashlib.blake2b(f"{seed}\x00{text}".encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def record_rng(text: str, seed: int) -> random.Random:
    """A generator that depends on (text, seed) only, so batch composition changes nothing."""
    return random.Random(record_seed(text, seed))


def splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Replace non-overlapping [start, end) ranges of `text` by new strings."""
    out, last = [], 0
    for s, e, new in sorted(edits, key=lambda x: (x[0], x[1])):
        out += [text[last:s], new]
        last = max(last, e)
    out.append(text[last:])
    return "".join(out)


def align_case(src: str, dest: str) -> str:
    """nlpaug's `align_capitalization`: a capitalised source makes a lower-case replacement capitalised."""
    if src[:1].isupper() and src[1:].islower() and dest.islower():
        return dest[:1].upper() + dest[1:]
    return dest


class WordNetLookup:
    """One POS tagger and one memo of WordNet synonyms per data directory, shared by augmenters."""

    _instances: dict[str, WordNetLookup] = {}
    _lock = threading.Lock()

    def __init__(self, nltk_data: Path):
        self.nltk_data = nltk_data
        self._memo: dict[tuple[str, object], tuple[str, ...]] = {}  # (word, tag or POSes)
        self._tagger = None
        self._model = None
        self._con2pos: dict[str, list[str]] = {}

    @classmethod
    def get(cls, nltk_data: str | Path | None) -> WordNetLookup:
        path = Path(nltk_data) if nltk_data else default_nltk_dir()
        with cls._lock:
            if str(path) not in cls._instances:
                lookup = cls(path)
                lookup._load()
                cls._instances[str(path)] = lookup
            return cls._instances[str(path)]

    def _load(self) -> None:
        ensure_nltk_data(self.nltk_data)  # installs when missing; puts the dir first on nltk's path
        import warnings

        from nltk.tag.perceptron import PerceptronTagger

        with warnings.catch_warnings():  # nlpaug imports transformers/torch; silence their chatter
            warnings.simplefilter("ignore")
            import nlpaug.model.word_dict as nmw
            from nlpaug.util.text.part_of_speech import PartOfSpeech

            self._model = nmw.WordNet(lang="eng", is_synonym=True)  # loads WordNet (nltk.corpus.wordnet)
        tagger = PerceptronTagger(load=False)
        tagger.load_from_json(lang="eng")
        self._tagger = BatchTagger.from_nltk(tagger)
        self._wn = self._model.model  # nltk.corpus.wordnet, loaded
        root = Path(self.nltk_data) / "corpora" / "wordnet"
        # The data files in memory (~30 MB): a synset's line is a slice, not a seek and a read.
        self._data = {p: (root / f"data.{n}").read_bytes() for p, n in (("n", "noun"), ("v", "verb"), ("a", "adj"), ("r", "adv"))}
        self._names: dict[tuple[str, int], tuple] = {}
        self._con2pos = PartOfSpeech.con2pos

    def tag_batch(self, docs: list[list[Token]]) -> list[list[str]]:
        """POS tags of the tokens of many texts, each line tagged as its own sentence, in one pass."""
        sents: list[list[str]] = []
        for toks in docs:
            i = 0
            while i < len(toks):
                j = i
                while j < len(toks) and toks[j].line == toks[i].line:
                    j += 1
                sents.append([t.text for t in toks[i:j]])
                i = j
        tagged = iter(self._tagger.tag_sents(sents))
        out = []
        for toks in docs:
            tags: list[str] = []
            while len(tags) < len(toks):
                tags += next(tagged)
            out.append(tags)
        return out

    def tag_flat(self, words: list[str], lengths: list[int]) -> list[str]:
        """POS tags of the sentences of the given lengths, concatenated in `words`."""
        return self._tagger.tag_flat(words, lengths)

    def wordnet_poses(self, tag: str) -> list[str]:
        return self._con2pos.get(tag, [])

    def predict(self, word: str, pos: str) -> list[str]:
        """Exactly nlpaug's `WordNet.predict(word, pos)` (lemma names of ``wordnet.synsets(word,
        pos)``, in order, repeats kept), without building nltk `Synset` objects: nltk's own index
        and morphy find the offsets, the lemma names are read from the data file line. ~50x
        faster on a cold word; tests check it equals nlpaug's answer."""
        wn = self._wn
        out: list[str] = []
        for form in wn._morphy(word.lower(), pos, True):
            for offset in wn._lemma_pos_offset_map[form].get(pos, ()):
                out += self._lemma_names(pos, offset)
        return out

    def _lemma_names(self, pos: str, offset: int) -> tuple[str, ...]:
        return self._synset(pos, offset)[0]

    def _synset(self, pos: str, offset: int) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
        """A synset's lemma names as in its data file line, and each as (lower-cased, candidate):
        ``_``/``-`` made spaces, lower-cased; names that hold a mask token left out."""
        key = ("a" if pos == "s" else pos, offset)
        hit = self._names.get(key)
        if hit is None:
            data = self._data[key[0]]
            # offset lex_filenum ss_type w_cnt (word lex_id)* ...: split no further than the words
            head = data[offset:data.find(b"\n", offset)].split(None, 4)
            n = int(head[3], 16)
            cols = head[4].split(None, 2 * n)[:2 * n:2]
            names = [c.decode("utf-8") for c in cols]
            names = tuple([_ADJ_MARKER.sub("", c) if c[-1] == ")" else c for c in names])
            cands = [(c.lower(), c.replace("_", " ").replace("-", " ").lower()) for c in names]
            hit = self._names[key] = (names, tuple([lc for lc in cands if "zqx" not in lc[1] or not _MASK_RE.search(lc[1])]))
        return hit

    def synonyms(self, word: str, tag: str) -> tuple[str, ...]:
        """nlpaug's candidates for `word` tagged `tag`: lemmas of its synsets of compatible POS,
        with ``_``/``-`` made spaces, lower-cased, the word itself excluded (repeats kept, as
        nlpaug samples them). Empty for tags nlpaug maps to no WordNet POS."""
        low = word.lower()
        key = (low, tag)
        hit = self._memo.get(key)
        if hit is None:
            poses = self._con2pos.get(tag, ())
            by_pos = (low, tuple(poses))  # tags of one WordNet POS share the answer
            hit = self._memo.get(by_pos)
            if hit is None:  # predict() for each POS, then cleaned and filtered
                wn, out = self._wn, []
                for pos in poses:
                    for form in wn._morphy(low, pos, True):
                        for offset in wn._lemma_pos_offset_map[form].get(pos, ()):
                            out += [cl for lo, cl in self._synset(pos, offset)[1] if lo != low and cl != low]
                hit = self._memo[by_pos] = tuple(out)
            self._memo[key] = hit
        return hit

