"""nltk's averaged-perceptron POS tagger, run over a whole batch of sentences at once.

`nltk.tag.perceptron.PerceptronTagger.tag` scores each token in pure Python: a dict of ~14
feature strings, then a loop over each feature's per-tag weights. It is greedy left to right
(a token's features include the two previous tags), so sentences cannot be cut up, but the
sentences of a batch are independent: here position t of every sentence is scored in one numpy
step. The model is the same (weights as a [features x tags] matrix) and so is the arithmetic:
feature rows are added in nltk's feature order, starting from 0.0, and ties go to the greatest
tag name as in nltk's ``max(classes, key=(score, label))`` -- the tags are bit-for-bit nltk's
(checked by tests/augment/test_words.py).

No feature string is built per token: the weight rows of a word's tag-independent features
(its own suffix, prefix and word; its word and suffix as a neighbour) are looked up once per
distinct word and memoised, the tag features are tables over tag ids (built once), and the
``i-1 tag+i word`` rows come from the model's keys parsed once into word -> (tag ids, rows).
"""

from __future__ import annotations

from itertools import repeat

import numpy as np

_START = ("-START-", "-START2-")
_END = ("-END-", "-END2-")
_PAIR = "i-1 tag+i word"
# The tag-independent features after bias, by name, in the order of `BatchTagger._table`'s columns.
_STATIC = ("i suffix", "i pref1", "i word", "i-1 word", "i-1 suffix", "i-2 word", "i+1 word", "i+1 suffix", "i+2 word")
_MEMO_MAX = 200_000  # distinct words memoised; beyond that the memo starts again


def _normalize(word: str) -> str:
    # PerceptronTagger.normalize
    if "-" in word and word[0] != "-":
        return "!HYPHEN"
    if word.isdigit() and len(word) == 4:
        return "!YEAR"
    if word and word[0].isdigit():
        return "!DIGITS"
    return word.lower()


class BatchTagger:
    def __init__(self, weights: dict[str, dict[str, float]], tagdict: dict[str, str], classes: list[str] | set[str]):
        self.tags = sorted(classes, reverse=True)  # argmax keeps the first maximum: the greatest name
        col = {t: j for j, t in enumerate(self.tags)}
        self._row = {f: r for r, f in enumerate(weights)}
        self._zero = len(weights)  # the row of features the model does not know
        w = np.zeros((len(weights) + 1, len(self.tags)), dtype=np.float64)
        for r, per_tag in enumerate(weights.values()):
            for t, v in per_tag.items():
                w[r, col[t]] = v
        self._w = w
        self.tagdict = tagdict
        # Tag ids: the classes, any other tag of the tag dictionary, then the two start symbols.
        self._names = self.tags + sorted(set(tagdict.values()) - set(self.tags)) + list(_START)
        self._id = {t: i for i, t in enumerate(self._names)}
        row, zero = self._row.get, self._zero
        self._bias = row("bias", zero)
        self._m1tag = np.array([row("i-1 tag " + t, zero) for t in self._names], dtype=np.int64)
        self._m2tag = np.array([row("i-2 tag " + t, zero) for t in self._names], dtype=np.int64)
        self._tagpair = np.array([[row(f"i tag+i-2 tag {a} {b}", zero) for b in self._names] for a in self._names],
                                 dtype=np.int64)
        # The model's keys split by feature name: "i suffix ing" -> by_name["i suffix"]["ing"].
        by_name: dict[str, dict[str, int]] = {n: {} for n in _STATIC + (_PAIR,)}
        for f, r in self._row.items():
            name = next((n for n in by_name if f.startswith(n) and f[len(n):len(n) + 1] == " "), None)
            if name is not None:
                by_name[name][f[len(name) + 1:]] = r
        self._by_name = by_name
        pairs: dict[str, tuple[list[int], list[int]]] = {}  # word -> (previous tag ids, rows)
        for key, r in by_name[_PAIR].items():
            tag, _, word = key.partition(" ")
            if tag in self._id:
                ids, rows = pairs.setdefault(word, ([], []))
                ids.append(self._id[tag])
                rows.append(r)
        # ... as one array of (tag id, row) runs: word -> its run's number, runs start at _pair_ptr
        self._pair_run = {word: k for k, word in enumerate(pairs)}
        self._pair_ptr = np.cumsum([0] + [len(ids) for ids, _ in pairs.values()])
        self._pair_tag = np.array([t for ids, _ in pairs.values() for t in ids], dtype=np.int64)
        self._pair_row = np.array([r for _, rows in pairs.values() for r in rows], dtype=np.int64)
        self._reset()

    @classmethod
    def from_nltk(cls, tagger) -> "BatchTagger":
        return cls(tagger.model.weights, tagger.tagdict, tagger.classes)

    def _reset(self) -> None:
        """The vocabulary memo: word -> id, and per id the rows of its tag-independent features
        (tag dictionary's tag id or -1, then `_STATIC`'s) and its ``i-1 tag+i word`` rows by tag."""
        self._vocab: dict[str, int] = {}
        self._table = np.empty((0, 1 + len(_STATIC)), dtype=np.int64)
        self._pair = np.empty((0, len(self._names)), dtype=np.int64)
        self._n = 0
        self._add(list(_START + _END), list(_START + _END), [-1] * 4)  # ids 0-3: context pseudo-words

    def _add(self, words: list[str], norms: list[str], tag_ids: list[int]) -> None:
        n, m = self._n, len(words)
        if n + m > len(self._table):
            cap = max(2 * len(self._table), n + m, 4096)
            self._table = np.resize(self._table, (cap, self._table.shape[1]))
            self._pair = np.resize(self._pair, (cap, len(self._names)))
        zero, by = repeat(self._zero), self._by_name
        suf, nsuf = [w[-3:] for w in words], [w[-3:] for w in norms]
        keys = (suf, [w[:1] for w in words], norms, norms, nsuf, norms, norms, nsuf, norms)  # as _STATIC
        self._table[n:n + m, 0] = tag_ids
        for c, (name, k) in enumerate(zip(_STATIC, keys), 1):
            self._table[n:n + m, c] = np.fromiter(map(by[name].get, k, zero), dtype=np.int64, count=m)
        self._pair[n:n + m] = self._zero
        runs = np.fromiter(map(self._pair_run.get, norms, repeat(-1)), dtype=np.int64, count=m)
        words_hit = np.nonzero(runs >= 0)[0]
        if len(words_hit):
            start, end = self._pair_ptr[runs[words_hit]], self._pair_ptr[runs[words_hit] + 1]
            lens = end - start
            at = np.repeat(start - (np.cumsum(lens) - lens), lens) + np.arange(int(lens.sum()))
            self._pair[np.repeat(words_hit + n, lens), self._pair_tag[at]] = self._pair_row[at]
        self._n = n + m

    def tag_sents(self, sents: list[list[str]]) -> list[list[str]]:
        flat = self.tag_flat([w for s in sents for w in s], [len(s) for s in sents])
        out, at = [], 0
        for s in sents:
            out.append(flat[at:at + len(s)])
            at += len(s)
        return out

    def tag_flat(self, words: list[str], lengths: list[int]) -> list[str]:
        """The tags of `words`, the concatenation of sentences of the given lengths."""
        if not words:
            return []
        vocab = self._vocab
        ids = list(map(vocab.get, words))
        if None in ids:
            new = [w for w in dict.fromkeys(words) if w not in vocab]
            if self._n + len(new) > _MEMO_MAX:
                self._reset()
                vocab, new = self._vocab, list(dict.fromkeys(words))
            tagdict, tag_id = self.tagdict, self._id
            vocab.update(zip(new, range(self._n, self._n + len(new))))
            self._add(new, [_normalize(w) for w in new], [tag_id[tagdict[w]] if tagdict.get(w) else -1 for w in new])
            ids = list(map(vocab.__getitem__, words))
        table, pair = self._table, self._pair
        own = np.array(ids, dtype=np.int64)
        # Padded layout: -START- -START2- w1 .. wn -END- -END2- per sentence.
        lens = np.asarray(lengths, dtype=np.int64)
        lens = lens[lens > 0]
        first = np.cumsum(lens + 4) - (lens + 4)  # padded offset of each sentence
        posi = np.arange(len(words)) - np.repeat(np.cumsum(lens) - lens, lens)  # index within sentence
        tokpos = np.repeat(first, lens) + 2 + posi
        pid = np.empty(int((lens + 4).sum()), dtype=np.int64)
        pid[first], pid[first + 1] = 0, 1
        pid[first + lens + 2], pid[first + lens + 3] = 2, 3
        pid[tokpos] = own
        # Tag ids on the padded layout; the two slots before a sentence hold its start symbols.
        tid = np.full(len(pid), -1, dtype=np.int64)
        tid[first], tid[first + 1] = self._id[_START[1]], self._id[_START[0]]
        tid[tokpos] = table[own, 0]
        todo = np.nonzero(table[own, 0] < 0)[0]
        if len(todo):
            w = self._w
            t_pos = tokpos[todo]
            t_own = own[todo]
            cols = [table[t_own, 3]]  # i word
            for shift, c in ((-1, 4), (-1, 5), (-2, 6), (1, 7), (1, 8), (2, 9)):
                cols.append(table[pid[t_pos + shift], c])
            static = np.stack(cols, axis=1)  # i word, i-1 word, i-1 suffix, i-2 word, i+1 word, ...
            base = w[self._bias] + w[table[t_own, 1]]  # bias, i suffix
            base += w[table[t_own, 2]]  # i pref1
            order = np.argsort(posi[todo], kind="stable")
            bounds = np.searchsorted(posi[todo][order], np.arange(int(posi[todo].max()) + 2))
            for i in range(len(bounds) - 1):
                k = order[bounds[i]:bounds[i + 1]]
                if not len(k):
                    continue
                p = t_pos[k]
                prev, prev2 = tid[p - 1], tid[p - 2]
                idx = np.empty((len(k), 11), dtype=np.int64)
                # nltk's order: bias, i suffix, i pref1 (in base), i-1 tag, i-2 tag, i tag+i-2 tag,
                # i word, i-1 tag+i word, i-1 word, i-1 suffix, i-2 word, i+1 word, i+1 suffix, i+2 word
                idx[:, 0] = self._m1tag[prev]
                idx[:, 1] = self._m2tag[prev2]
                idx[:, 2] = self._tagpair[prev, prev2]
                idx[:, 3] = static[k, 0]
                idx[:, 4] = pair[t_own[k], prev]
                idx[:, 5:] = static[k, 1:]
                rows = w[idx.T]  # [feature, token, tag]
                scores = base[k]
                for f in range(11):
                    scores += rows[f]
                tid[p] = scores.argmax(axis=1)
        names = self._names
        return list(map(names.__getitem__, tid[tokpos].tolist()))
