"""Word augmenters on the real WordNet 3.0 and the real POS tagger (installed offline once)."""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path

import pytest

from pipeline.augment.nltk_data import NltkDataMissing, ensure_nltk_data, lexnames_text
from pipeline.augment import batch_tagger
from pipeline.augment.protect import mask, unmask
from pipeline.augment.word_batch import match_tokens
from pipeline.augment.wordnet_lookup import WordNetLookup, align_case, aug_count, record_rng, splice, tokenize
from pipeline.augment.words import RandomWordAugmenter, RandomWordConfig, SynonymAugmenter, SynonymConfig

LONG = ("The old farmer walked slowly across the green field before the storm arrived, and his tired dog "
        "followed him quietly through the tall grass while the cold wind moved the heavy clouds over the "
        "distant hills and the small village waited for the rain to begin.")
PROTECTED = ("Please contact {name} at https://example.com/help?id=7 within 48 hours, then run `make build` "
             "and report the final result to the support team quickly.")


@pytest.fixture(scope="session")
def nltk_dir() -> Path:
    try:
        return ensure_nltk_data()  # the default dir: installed once, reused by later runs
    except NltkDataMissing as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def lookup(nltk_dir: Path) -> WordNetLookup:
    return WordNetLookup.get(nltk_dir)


_TRICKY = ["Don't stop; it's the DOGS' bowl and Mary\u2019s hat, isn't it?", "well-known state-of-the-art x-ray 3-D",
           "Call 555-1234 or e-mail zqx-free folks_now at 10:30 (ok)", "Ünïcode wörds and K\u212aelvin ſtuff ² ½ Ⅷ",
           "line one has words\nline two: more words\n\n  - a bullet's text", "A", "I", "--dash-- -lead trail- a--b"]


def _cfg(nltk_dir: Path, **kw) -> dict:
    return {"nltk_data": str(nltk_dir), **kw}


def _words(text: str) -> list[str]:
    return [w.lower() for w in re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)*", text)]


def test_nltk_data_facts(nltk_dir: Path, lookup: WordNetLookup) -> None:
    wn = lookup._wn
    assert wn.get_version() == "3.0"
    # Every synset once: distinct (data file, offset) pairs of nltk's lemma index.
    offsets = {("a" if p == "s" else p, o) for by_pos in wn._lemma_pos_offset_map.values()
               for p, offs in by_pos.items() for o in offs}
    assert len(offsets) == 117_659
    assert wn.morphy("ran", "v") == "run"
    assert lexnames_text().splitlines()[0] == "00\tadj.all\t3"
    assert lexnames_text().splitlines()[44] == "44\tadj.ppl\t3"
    assert (nltk_dir / "corpora" / "wordnet" / "lexnames").read_text() == lexnames_text()


def test_batch_tagger_and_lookup_equal_nltk_and_nlpaug(lookup: WordNetLookup) -> None:
    from nltk.tag.perceptron import PerceptronTagger

    ref = PerceptronTagger(load=False)
    ref.load_from_json(lang="eng")
    sents = [[t.text for t in tokenize(s)] for s in (LONG, PROTECTED, "I can't believe it's 2024 already!",
                                                      "Time flies like an arrow; fruit flies like a banana.")]
    assert lookup._tagger.tag_sents(sents) == [[t for _, t in ref.tag(s)] for s in sents]
    # More sentences, in several batches (the word memo grows, then starts again when full).
    more = [[t.text for t in tokenize(s)] for s in _TRICKY + [LONG.replace("the", w) for w in ("The", "a", "fast")]]
    want = [[t for _, t in ref.tag(s)] for s in more]
    assert lookup._tagger.tag_sents(more[:5]) == want[:5] and lookup._tagger.tag_sents(more) == want
    fresh = batch_tagger.BatchTagger.from_nltk(ref)
    old_max = batch_tagger._MEMO_MAX
    try:
        batch_tagger._MEMO_MAX = 60
        assert [fresh.tag_sents([s])[0] for s in more] == want
    finally:
        batch_tagger._MEMO_MAX = old_max
    for word in ("ran", "geese", "bank", "happier", "well-known", "quickly", "fox", "went"):
        for pos in "nvasr":
            assert lookup.predict(word, pos) == lookup._model.predict(word, pos=pos), (word, pos)


def test_synonyms_are_wordnet_synonyms_of_compatible_pos(nltk_dir: Path, lookup: WordNetLookup) -> None:
    aug = SynonymAugmenter(SynonymConfig(**_cfg(nltk_dir, aug_p=0.3)))
    edits = aug.augment([LONG] * 8, list(range(8)))
    toks = tokenize(LONG)
    tags = dict(zip([t.text for t in toks], lookup.tag_batch([toks])[0]))
    wn = lookup._wn
    checked = 0
    for e in edits:
        assert e.text is not None and e.params["swaps"] == len(e.params["pairs"]) >= 1
        for old, new in e.params["pairs"]:
            poses = lookup.wordnet_poses(tags[old])
            assert poses, (old, tags[old])
            names = {l.name().replace("_", " ").replace("-", " ").lower()
                     for p in poses for s in wn.synsets(old, pos=p) for l in s.lemmas()}
            assert new.lower() in names and new.lower() != old.lower()
            assert old.lower() not in aug._stop
            checked += 1
    assert checked >= 8


def test_protected_spans_survive(nltk_dir: Path) -> None:
    augs = [SynonymAugmenter(SynonymConfig(**_cfg(nltk_dir, aug_p=1.0, aug_max=None)))] + [
        RandomWordAugmenter(RandomWordConfig(**_cfg(nltk_dir, action=a, aug_p=1.0, aug_max=None)))
        for a in ("insert", "delete", "swap")]
    for aug in augs:
        for e in aug.augment([PROTECTED] * 6, list(range(6))):
            assert e.text is not None, (aug.name, e)
            for span in ("{name}", "https://example.com/help?id=7", "48", "`make build`"):
                assert e.text.count(span) == 1, (aug.name, e.text)


def test_seeded_and_batch_independent(nltk_dir: Path) -> None:
    other = ["Cats sleep all day in the warm sun.", "", PROTECTED, "Birds sing loudly every morning."]
    for aug in (SynonymAugmenter(SynonymConfig(**_cfg(nltk_dir))),
                RandomWordAugmenter(RandomWordConfig(**_cfg(nltk_dir, action="insert"))),
                RandomWordAugmenter(RandomWordConfig(action="delete")),
                RandomWordAugmenter(RandomWordConfig(action="swap"))):
        alone = aug.augment([LONG], [7])[0]
        mixed = aug.augment(other[:2] + [LONG] + other[2:], [1, 2, 7, 3, 4])[2]
        assert alone == mixed and alone.text is not None
        outs = {e.text for e in aug.augment([LONG] * 6, [10, 11, 12, 13, 14, 15])}
        assert len(outs) >= 4, aug.name


def test_delete_removes_words_never_tokens(nltk_dir: Path) -> None:
    aug = RandomWordAugmenter(RandomWordConfig(action="delete", aug_p=0.5, aug_max=None))
    for e in aug.augment([PROTECTED] * 5, list(range(5))):
        assert e.text is not None and e.params["deletions"] >= 5
        before, after = Counter(_words(PROTECTED)), Counter(_words(e.text))
        assert sum((before - after).values()) == e.params["deletions"] and not (after - before)


def test_swap_keeps_the_words(nltk_dir: Path) -> None:
    aug = RandomWordAugmenter(RandomWordConfig(action="swap", aug_p=0.3))
    for e in aug.augment([LONG, PROTECTED], [1, 2]):
        src = LONG if "farmer" in e.text else PROTECTED
        assert e.text != src and Counter(_words(e.text)) == Counter(_words(src))
        assert re.sub(r"\w", "", e.text) == re.sub(r"\w", "", src)  # punctuation, spaces in place


def test_insert_adds_synonyms(nltk_dir: Path, lookup: WordNetLookup) -> None:
    aug = RandomWordAugmenter(RandomWordConfig(**_cfg(nltk_dir, action="insert", aug_p=0.1)))
    e = aug.augment([LONG], [3])[0]
    assert e.text is not None and e.params["insertions"] == -(-len(tokenize(LONG)) // 10)  # ceil(aug_p * tokens)
    wn = lookup._wn
    for src, syn in e.params["inserted"]:
        names = {l.name().replace("_", " ").replace("-", " ").lower() for s in wn.synsets(src) for l in s.lemmas()}
        assert syn in names and syn in e.text
    assert len(e.text.split()) == len(LONG.split()) + sum(len(s.split()) for _, s in e.params["inserted"])


def test_aug_p_and_aug_max(nltk_dir: Path) -> None:
    n_tokens = len(tokenize(LONG))
    syn = SynonymAugmenter(SynonymConfig(**_cfg(nltk_dir, aug_p=0.1)))
    assert all(e.params["swaps"] <= -(-n_tokens // 10) for e in syn.augment([LONG] * 5, list(range(5))))
    capped = SynonymAugmenter(SynonymConfig(**_cfg(nltk_dir, aug_p=1.0, aug_max=3)))
    assert all(1 <= e.params["swaps"] <= 3 for e in capped.augment([LONG] * 5, list(range(5))))
    dele = RandomWordAugmenter(RandomWordConfig(action="delete", aug_p=0.2, aug_max=4))
    assert [e.params["deletions"] for e in dele.augment([LONG] * 3, [1, 2, 3])] == [4, 4, 4]


def test_empty_and_unusable_text_fail_cleanly(nltk_dir: Path) -> None:
    texts = ["", "   \n\t ", "the and of", "zqx0qz was here", "Hello"]
    for aug in (SynonymAugmenter(SynonymConfig(**_cfg(nltk_dir))),
                RandomWordAugmenter(RandomWordConfig(**_cfg(nltk_dir, action="insert"))),
                RandomWordAugmenter(RandomWordConfig(action="delete")),
                RandomWordAugmenter(RandomWordConfig(action="swap"))):
        edits = aug.augment(texts, [1, 2, 3, 4, 5])
        assert [e.reason for e in edits[:2]] == ["empty", "empty"]
        assert edits[3].reason == "unmaskable"
        assert all(e.text is None and e.reason for e in edits[:2] + edits[3:4])
        if aug.name in ("synonym", "random_insert"):  # only stopwords: nothing to look up
            assert edits[2].text is None and edits[2].reason == "no_candidates"
        else:  # a one-word text is left alone, as nlpaug does
            assert edits[4].text is None and edits[4].reason == "no_candidates"


def test_line_structure_kept(nltk_dir: Path) -> None:
    text = "First line has several useful words here.\n\n  - second line keeps its indent\nthird line ends"
    for aug in (SynonymAugmenter(SynonymConfig(**_cfg(nltk_dir, aug_p=0.5))),
                RandomWordAugmenter(RandomWordConfig(action="swap", aug_p=0.5))):
        e = aug.augment([text], [5])[0]
        assert e.text is not None and e.text.count("\n") == 3 and "\n\n  - " in e.text


def test_match_tokens_equal_tokenize() -> None:
    pieces = ["a", "Ab", "xyz", "don", "n't", "N'T", "'s", "'", "\u2019", "-", "--", "_", "1", " ", "\n", "\t",
              "zqx1qz", "é", "\u212a", "\u017f", "\u00b2", "\u00bd", "\u2167", "it", "'re", "\u2019ll", ".", "can"]
    rnd = random.Random(0)
    texts = _TRICKY + [LONG, PROTECTED, mask(PROTECTED)[0]] + [
        "".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 25))) for _ in range(5000)]
    n_words, before_apostrophe = 0, Counter()
    for text in texts:
        ref = tokenize(text)
        ms, words = match_tokens(text)
        assert [(m.start(), m.end(), m.group()) for m in ms] == [(t.start, t.end, t.text) for t in ref], text
        assert words == [i for i, t in enumerate(ref) if t.word], text
        n_words += len(words)
        before_apostrophe.update(i in words for i, m in enumerate(ms) if m.lastindex == 2)
    assert n_words > 1000 and before_apostrophe[True] > 50 and before_apostrophe[False] > 50


def _reference_synonym_edits(aug: SynonymAugmenter, texts: list[str], seeds: list[int]) -> list:
    """The synonym augmenter written plainly: Tokens, `tag_batch`, `splice`, `unmask`."""
    lk, c, out = aug._lookup, aug.config, []
    for text, seed in zip(texts, seeds):
        if not text.strip():
            out.append(("empty", None))
            continue
        masked, spans = mask(text)
        toks = tokenize(masked)
        tags = lk.tag_batch([toks])[0]
        pool = [i for i, t in enumerate(toks) if t.word and t.text.lower() not in aug._stop and tags[i] != "DT"]
        n = min(aug_count(len(toks), c.aug_p, c.aug_min, c.aug_max), len(pool))
        rng, pairs, edits = record_rng(text, seed), [], []
        for i in sorted(rng.sample(pool, n)):
            cands = lk.synonyms(toks[i].text, tags[i])
            if cands:
                new = align_case(toks[i].text, rng.choice(cands))
                pairs.append([toks[i].text, new])
                edits.append((toks[i].start, toks[i].end, new))
        if not edits:
            out.append(("no_candidates", None))
        elif splice(masked, edits) == masked:
            out.append(("no_change", None))
        else:
            out.append((None, unmask(splice(masked, edits), spans), pairs))
    return out


def test_synonym_edits_equal_the_plain_reference(nltk_dir: Path) -> None:
    texts = _TRICKY + [LONG, PROTECTED, "", "Quick brown foxes jumped over lazy dogs.\nThey ran away happily."] * 2
    for p in (0.1, 0.5, 1.0):
        aug = SynonymAugmenter(SynonymConfig(**_cfg(nltk_dir, aug_p=p, aug_max=None)))
        seeds = list(range(len(texts)))
        got = [(e.reason, e.text, e.params["pairs"]) if e.text is not None else (e.reason, None)
               for e in aug.augment(texts, seeds)]
        assert got == _reference_synonym_edits(aug, texts, seeds)
        assert sum(g[0] is None for g in got) >= len(texts) // 2
