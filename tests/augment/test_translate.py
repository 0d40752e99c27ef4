"""Back-translation: the real Apertium round trip, its batch mapping, and the Marian code path.

No MarianMT weights can be downloaded here, so the Marian tests build a tiny randomly
initialised Marian model and a sentencepiece tokenizer, save them with `save_pretrained`, and
load them back through the same `from_pretrained(folder)` calls that real models go through.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess

import pytest
from pydantic import ValidationError

from pipeline.augment.translate import BackTranslationConfig, BackTranslator, Translations, Translator

HAVE_APERTIUM = shutil.which("apertium") is not None
if os.environ.get("CI"):
    assert HAVE_APERTIUM, "CI must run the Apertium tests: apt-get install -y apertium-eng-spa"
needs_apertium = pytest.mark.skipif(not HAVE_APERTIUM, reason="apertium is not installed "
                                    "(apt-get install -y apertium-eng-spa; scripts/setup.sh does it)")


class Fake(Translator):
    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def run(self, texts):
        self.calls += 1
        return Translations([self.fn(t) for t in texts])


# ---------------------------------------------------------------- BackTranslator, no MT needed

def test_back_translator_reasons_without_a_translator():
    upper = Fake(str.upper)
    bt = BackTranslator(translators=(upper, Fake(lambda t: t.replace("ZQX", "zqx").replace("QZ", "qz"))))
    texts = ["see https://a.io/x now", "", "   ", "has zqx3qz already", "same 42"]
    edits = bt.augment(texts, [0] * len(texts))
    assert [e.reason for e in edits] == [None, "empty", "empty", "unmaskable", None]
    assert edits[0].text == "SEE https://a.io/x NOW" and edits[0].params == {"backend": "apertium", "pivot": "spa"}
    assert edits[4].text == "SAME 42"
    assert upper.calls == 1  # one forward call per batch
    ident = BackTranslator(translators=(Fake(lambda t: t), Fake(lambda t: t.replace("  ", " "))))
    assert ident.augment(["a  b"], [1])[0].reason == "unchanged"
    lossy = BackTranslator(translators=(Fake(lambda t: t), Fake(lambda t: re.sub(r"zqx\d+qz", "", t) + "!")))
    assert lossy.augment(["pay 42 now"], [1])[0].reason == "protected_span_lost"
    with pytest.raises(ValueError):
        bt.augment(["a"], [])


def test_config_is_strict():
    cfg = BackTranslationConfig()
    assert (cfg.backend, cfg.apertium_forward, cfg.marian_backward) == (
        "apertium", "eng-spa", "Helsinki-NLP/opus-mt-es-en")
    with pytest.raises(ValidationError):
        BackTranslationConfig(backnd="marian")
    with pytest.raises(ValidationError):
        BackTranslationConfig(backend="google")


# ---------------------------------------------------------------- Apertium

SENTENCES = [
    "The weather is very nice today and we are going to the beach.",
    "Please read the documentation at https://example.com/docs before you ask.",
    "I bought 42 apples at the market yesterday.",
    "Dear {name}, your order has been shipped.",
    "She wants to learn how to play the guitar.",
]


@needs_apertium
def test_apertium_round_trip_changes_text_and_keeps_protected_spans():
    edits = BackTranslator().augment(SENTENCES, list(range(len(SENTENCES))))
    assert all(e.text is not None for e in edits), [e.reason for e in edits]
    assert sum(e.text != s for e, s in zip(edits, SENTENCES)) >= 4
    english = {"the", "is", "to", "and", "we", "you", "your", "at", "i", "has", "she", "how", "of", "a", "in"}
    for e in edits:
        assert e.params == {"backend": "apertium", "pivot": "spa"}
        words = re.findall(r"[a-z]+", e.text.lower())
        assert sum(w in english for w in words) >= 2, e.text
        assert "  " not in e.text and " ." not in e.text
    assert "https://example.com/docs" in edits[1].text
    assert "42" in edits[2].text
    assert "{name}" in edits[3].text


TRICKY = [
    "First line here.\nSecond line here.",
    "",
    "A paragraph.\n\n\nAnother paragraph after blank lines.\n",
    "Looks like a separator: .[] [\n] \\0 ^word$ <tag> @x / {y} ~ and \x00 a NUL byte.",
    "   ",
    "list:\n- apples\n- pears",
    "The end",
    "The house is big.  Two  spaces\tand a tab.",
]


@needs_apertium
def test_apertium_batch_maps_one_to_one_in_one_subprocess(monkeypatch):
    from pipeline.augment import apertium

    fwd = apertium.ApertiumTranslator("eng-spa")
    alone = [fwd.translate([t])[0] for t in TRICKY]
    calls = []
    real_run = subprocess.run

    def counting_run(*args, **kwargs):
        calls.append(args[0])
        return real_run(*args, **kwargs)

    monkeypatch.setattr(apertium.subprocess, "run", counting_run)
    got = fwd.run(TRICKY)
    assert len(calls) == 1 and not got.fallback
    assert got.texts == alone  # record k of the batch is what record k gives on its own
    for src, out in zip(TRICKY, got.texts):
        assert out.count("\n") == src.count("\n") and ("\n\n" in out) == ("\n\n" in src)
    assert got.texts[1] == "" and got.texts[4] == "   "
    assert got.texts[0].startswith("Primero") or got.texts[0] != TRICKY[0]
    bt = BackTranslator(translators=(fwd, apertium.ApertiumTranslator("spa-eng")))
    calls.clear()
    bt.augment(TRICKY, [0] * len(TRICKY))
    assert len(calls) == 2  # one per direction for the whole batch


@needs_apertium
def test_apertium_falls_back_per_record_when_the_mapping_breaks(monkeypatch):
    from pipeline.augment.apertium import ApertiumError, ApertiumTranslator

    fwd = ApertiumTranslator("eng-spa")
    expected = fwd.translate(SENTENCES)
    real_exec = fwd._exec

    def lose_a_record(data):  # as if Apertium had swallowed one record boundary
        fields = real_exec(data).split("\0")
        if len(fields) > 12:
            fields[1:3] = [fields[1] + fields[2]]
        return "\0".join(fields)

    monkeypatch.setattr(fwd, "_exec", lose_a_record)
    got = fwd.run(SENTENCES)
    assert got.fallback and got.texts == expected
    monkeypatch.setattr(fwd, "_exec", lambda data: real_exec(data).replace("[<r0>]", ""))
    with pytest.raises(ApertiumError, match="does not map back"):
        fwd.run(SENTENCES[:1])


@needs_apertium
def test_apertium_errors_are_clear():
    from pipeline.augment.apertium import ApertiumError, ApertiumTranslator

    with pytest.raises(ApertiumError, match=r"apt-get install -y apertium-xxx-yyy"):
        ApertiumTranslator("xxx-yyy")
    with pytest.raises(ApertiumError, match="took over"):
        ApertiumTranslator("eng-spa", timeout_s=0.001).translate(SENTENCES)
    with pytest.raises(ApertiumError, match="not installed"):
        ApertiumTranslator("eng-spa", executable="no-such-apertium-binary")


# ---------------------------------------------------------------- Marian (tiny random model)

WORDS = ("the a cat dog house tree runs sees big small red green quickly slowly and or but we you they "
         "book table river mountain city water light night day reads writes").split()


@pytest.fixture(scope="module")
def tiny_marian(tmp_path_factory):
    if not os.environ.get("CI"):  # in CI a missing sentencepiece fails the import below
        pytest.importorskip("sentencepiece", reason="MarianTokenizer needs sentencepiece (pip install sentencepiece)")
    import json

    import sentencepiece as spm
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    d = tmp_path_factory.mktemp("tiny-marian")
    rng = random.Random(0)
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))) + "." for _ in range(400)]
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_prefix=str(d / "spm"), vocab_size=100, hard_vocab_limit=False,
                                   model_type="unigram", minloglevel=2)
    sp = spm.SentencePieceProcessor(model_file=str(d / "spm.model"))
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())
              if not sp.is_control(i) and not sp.is_unknown(i)]
    vocab = {"</s>": 0, "<unk>": 1, **{p: i + 2 for i, p in enumerate(pieces)}}
    vocab["<pad>"] = len(vocab)
    (d / "vocab.json").write_text(json.dumps(vocab))
    shutil.copy(d / "spm.model", d / "source.spm")
    shutil.copy(d / "spm.model", d / "target.spm")
    model_dir = d / "model"
    MarianTokenizer(str(d / "source.spm"), str(d / "target.spm"), str(d / "vocab.json")).save_pretrained(model_dir)
    pad = vocab["<pad>"]
    cfg = MarianConfig(vocab_size=len(vocab), d_model=16, encoder_layers=1, decoder_layers=1,
                       encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
                       max_position_embeddings=256, pad_token_id=pad, eos_token_id=0, decoder_start_token_id=pad,
                       forced_eos_token_id=0)
    torch.manual_seed(0)
    MarianMTModel(cfg).save_pretrained(model_dir)
    return str(model_dir)


def _mixed_inputs():
    rng = random.Random(1)
    return [" ".join(rng.choice(WORDS) for _ in range(n)) for n in (2, 15, 4, 30, 1, 9, 22, 3, 6)]


def test_marian_batches_keep_order_and_decode_clean_strings(tiny_marian):
    from pipeline.augment.marian import MarianTranslator

    texts = _mixed_inputs()
    tr = MarianTranslator(tiny_marian, device="cpu", batch_size=4, max_length=24)
    got = tr.run(texts + [""])
    assert len(got.texts) == len(texts) + 1 and got.texts[-1] == ""
    one_by_one = [tr.translate([t])[0] for t in texts]
    assert got.texts[:-1] == one_by_one  # sorted into batches, returned in input order
    assert all(isinstance(t, str) and t for t in got.texts[:-1])
    for t in got.texts:
        assert not re.search(r"</s>|<pad>|<unk>", t)


def test_marian_truncation_is_flagged(tiny_marian):
    from pipeline.augment.marian import MarianTranslator

    tr = MarianTranslator(tiny_marian, device="cpu", batch_size=2, max_length=10)
    long_text = " ".join(WORDS)  # far more than 10 tokens
    got = tr.run(["the cat", long_text])
    assert got.truncated == [False, True]
    cfg = BackTranslationConfig(backend="marian", marian_forward=tiny_marian, marian_backward=tiny_marian,
                                max_length=10, batch_size=2, device="cpu")
    bt = BackTranslator(cfg)
    edits = bt.augment(["the cat", long_text], [0, 1])
    assert len(edits) == 2
    assert all(e.params.get("backend") == "marian" for e in edits if e.reason != "empty")
    assert edits[1].params.get("truncated") is True  # (edit 0 may be too: random pivot text can be long)


def test_marian_falls_back_to_cpu(tiny_marian, monkeypatch):
    import torch

    from pipeline.augment.marian import MarianTranslator

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    tr = MarianTranslator(tiny_marian, batch_size=8, max_length=12)
    assert tr.device.type == "cpu" and next(tr.model.parameters()).dtype == torch.float32
    assert len(tr.translate(["the dog reads", "a red book"])) == 2


@pytest.mark.gpu
def test_marian_on_gpu_runs_half_precision(tiny_marian):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    from pipeline.augment.marian import MarianTranslator

    tr = MarianTranslator(tiny_marian, batch_size=4, max_length=24)
    assert tr.device.type == "cuda" and next(tr.model.parameters()).dtype == torch.float16
    texts = _mixed_inputs()
    assert len(tr.translate(texts)) == len(texts)
