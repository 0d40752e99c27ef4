"""Back-translation: English to a pivot language and back, a whole batch at a time.

Two machine-translation backends sit behind one `Translator` interface (one direction per
translator):

- `ApertiumTranslator` (pipeline/augment/apertium.py), the default: rule-based, offline,
  installed from Debian (`apt-get install -y apertium-eng-spa`); one `apertium` subprocess
  per batch and direction.
- `MarianTranslator` (pipeline/augment/marian.py): MarianMT models through `transformers`
  (a hub id such as Helsinki-NLP/opus-mt-en-es, or a local folder), batched, on the GPU when
  there is one.

`BackTranslator` masks the spans no translator may touch (code, URLs, numbers,
placeholders: see protect.py), translates forward then backward, and unmasks. Both backends
are deterministic (Apertium has no randomness; Marian decodes greedily or with beam
search, never sampling), so the per-text seeds of the `Augmenter` contract are accepted and
unused: the same text always gives the same Edit, whatever its batch.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field

from pipeline.augment.base import Augmenter, Edit
from pipeline.augment.protect import ProtectedSpanLost, Span, mask_batch, unmask
from pipeline.augment.translator import Translations, Translator
from pipeline.config_base import Strict


class BackTranslationConfig(Strict):
    backend: Literal["apertium", "marian"] = "apertium"
    pivot: str = "spa"  # recorded in each Edit's params; the pair / model names choose the languages
    apertium_forward: str = "eng-spa"  # `apertium -l` lists the installed directions
    apertium_backward: str = "spa-eng"
    marian_forward: str = "Helsinki-NLP/opus-mt-en-es"  # hub id or local folder
    marian_backward: str = "Helsinki-NLP/opus-mt-es-en"
    batch_size: int = Field(32, ge=1)  # marian: sequences per forward pass
    max_length: int = Field(256, ge=8)  # marian: tokens in and out; longer inputs are truncated
    num_beams: int = Field(1, ge=1)  # marian: 1 is greedy decoding
    timeout_s: float = Field(600.0, gt=0)  # apertium: one subprocess call (a whole batch)
    device: str | None = None  # marian: "cuda", "cpu", ...; None picks cuda when available


def make_translators(cfg: BackTranslationConfig) -> tuple[Translator, Translator]:
    """The forward and backward translators the config names (models load here)."""
    if cfg.backend == "apertium":
        from pipeline.augment.apertium import ApertiumTranslator

        return (ApertiumTranslator(cfg.apertium_forward, timeout_s=cfg.timeout_s),
                ApertiumTranslator(cfg.apertium_backward, timeout_s=cfg.timeout_s))
    from pipeline.augment.marian import MarianTranslator

    kw = dict(device=cfg.device, batch_size=cfg.batch_size, max_length=cfg.max_length, num_beams=cfg.num_beams)
    return MarianTranslator(cfg.marian_forward, **kw), MarianTranslator(cfg.marian_backward, **kw)


_WS = re.compile(r"\s+")
# A translator may capitalise a mask token that lands at a sentence start ("Zqx0qz").
_ANY_CASE_TOKEN = re.compile(r"zqx(\d+)qz", re.IGNORECASE)


def _norm(text: str) -> str:
    return _WS.sub(" ", text).strip()


class BackTranslator(Augmenter):
    """Round trip through a pivot language; seeds are unused (both backends are deterministic)."""

    name = "back_translation"

    def __init__(self, config: BackTranslationConfig | None = None,
                 translators: tuple[Translator, Translator] | None = None) -> None:
        self.config = config or BackTranslationConfig()
        self._translators = translators

    def setup(self) -> None:
        if self._translators is None:
            self._translators = make_translators(self.config)

    def augment(self, texts: list[str], seeds: list[int]) -> list[Edit]:
        if len(seeds) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(seeds)} seeds")
        self.setup()
        forward, backward = self._translators  # type: ignore[misc]
        reasons, ready = mask_batch(texts)
        edits: list[Edit | None] = [None if r is None else Edit.failed(r) for r in reasons]
        todo = [k for k, _, _ in ready]
        masked = [m for _, m, _ in ready]
        spans = [s for _, _, s in ready]
        if todo:
            there = forward.run(masked)
            back = backward.run(there.texts)
            for k, i in enumerate(todo):
                params: dict = {"backend": self.config.backend, "pivot": self.config.pivot}
                if there.truncated[k] or back.truncated[k]:
                    params["truncated"] = True
                if there.fallback or back.fallback:
                    params["fallback"] = True
                edits[i] = self._finish(texts[i], back.texts[k], spans[k], params)
        return edits  # type: ignore[return-value]

    @staticmethod
    def _finish(original: str, out: str, spans: list[Span], params: dict) -> Edit:
        out = _ANY_CASE_TOKEN.sub(lambda m: f"zqx{m.group(1)}qz", out).strip()
        if not out:
            return Edit.failed("empty", **params)
        try:
            out = unmask(out, spans)
        except ProtectedSpanLost:
            return Edit.failed("protected_span_lost", **params)
        if _norm(out) == _norm(original):
            return Edit.failed("unchanged", **params)
        return Edit(out, params)
