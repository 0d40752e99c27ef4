"""Deduplication settings: what is compared, which record of a cluster is kept, and each level.

Three levels run in order, each a stage of its own and each switchable: exact (a hash of the
compared content), near (MinHash with LSH banding, verified by the exact Jaccard of the shingle sets) and semantic
(sentence embeddings, verified by cosine similarity). Parameters are checked here, before any
record is read: a band layout that does not fit the permutations fails at construction.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from pipeline.config_base import Strict, require_unique
from pipeline.records import CONTENT_FIELDS
from pipeline.reference_source import ReferenceSource

KeepRule = Literal["annotated", "quality", "longest", "earliest"]
LEVELS: tuple[str, ...] = ("exact", "near", "semantic")
# Deduplication compares the whole example by default: two instruction records that share a
# prompt but answer it differently are two examples, not one (the split compares prompts only,
# because there a shared prompt is already leakage).
DEFAULT_DEDUP_FIELDS: dict[str, list[str]] = {
    "classification": ["text"],
    "instruction": ["prompt", "response"],
    "code": ["prompt", "code"],
}


Kind = Literal["classification", "instruction", "code"]


class LevelConfig(Strict):
    enabled: bool = True
    kinds: list[Kind] | None = Field(
        default=None, description="the record kinds this level compares (others pass through); default all"
    )


class ExactConfig(LevelConfig):
    pass


class NearConfig(LevelConfig):
    """MinHash over n-grams, LSH banding for candidates, the exact Jaccard of their sets to verify them."""

    threshold: float = Field(default=0.7, gt=0, lt=1, description="estimated Jaccard that makes a near duplicate")
    num_perm: int = Field(default=128, ge=16, le=1024, description="MinHash permutations (signature length)")
    bands: int | None = Field(default=None, ge=1, description="LSH bands; default: chosen for the threshold")
    rows: int | None = Field(default=None, ge=1, description="rows per band; set together with bands")
    # Character 5-grams: on the labelled pair set of bench/dedup_quality.py they reach F1 0.967
    # at 0.7, where word 3-grams reach 0.826 (short chat turns lose most of their word 3-grams
    # to a single edit).
    unit: Literal["word", "char"] = Field(default="char", description="n-grams of words or of characters")
    ngram: int = Field(default=5, ge=1, le=32, description="n-gram size in units")
    seed: int = Field(default=1, ge=0, description="seed of the permutations; signatures depend on it")
    # Every pair of a bucket is a candidate up to this size (memory stays bounded: large buckets
    # are paired a tile at a time); a bucket of thousands of records is boilerplate, whose
    # pairs would flood pairs.parquet, so it is chained by a window and counted instead.
    max_bucket: int = Field(
        default=5_000, ge=2,
        description="LSH buckets of up to this many records are compared pair by pair; a larger one against a"
                    " sliding window of this many records (counted in the manifest as near:windowed_buckets)")
    # One hash per shingle instead of num_perm: the near level's signatures cost about a quarter
    # of the permutations' time on real documents, with the same recall per Jaccard bucket.
    hashing: Literal["permutations", "one_permutation"] = Field(
        default="one_permutation",
        description="signatures by one hash per shingle into num_perm bins (one-permutation hashing with optimal"
                    " densification: the same estimator at a fraction of the cost), or by num_perm hash permutations"
                    " (the scheme of indexes made before one-permutation hashing was the default)")
    device: Literal["auto", "cpu", "cuda"] = Field(
        default="auto", description="where one-permutation signatures are computed: auto = the worker's GPU when it"
                                    " has one (the same values as the CPU's)")
    # The estimate's standard deviation is 0.04 at Jaccard 0.7 with 128 permutations: deciding
    # on it caps pair F1 near 0.91 on real documents; the exact value of the sets decides instead.
    verify: Literal["exact", "estimate"] = Field(
        default="exact", description="decide candidates on the exact Jaccard of their shingle sets, or on the"
                                     " MinHash estimate (faster, no shingle sets stored)")
    estimate_margin: float | None = Field(
        default=None, ge=0, lt=1,
        description="exact verification skips candidates whose estimate is this far below the threshold;"
                    " default: 5 standard deviations of the estimate at the threshold")

    def margin(self) -> float:
        """How far below the threshold an estimate may be and its pair still be verified exactly."""
        if self.estimate_margin is not None:
            return self.estimate_margin
        return 5 * (self.threshold * (1 - self.threshold) / self.num_perm) ** 0.5

    @model_validator(mode="after")
    def _band_layout(self) -> "NearConfig":
        if (self.bands is None) != (self.rows is None):
            raise ValueError("set bands and rows together, or neither")
        if self.bands is not None and self.rows is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands x rows = {self.bands * self.rows} exceeds num_perm {self.num_perm}")
        return self


class SemanticConfig(LevelConfig):
    """Sentence embeddings, nearest neighbours by cosine similarity."""

    model: str | None = Field(
        default=None, description="a sentence-transformers model id or folder; default: the offline all-MiniLM-L6-v2"
    )
    # 0.90: precision 0.993 on the pair set; two instructions that differ in one number
    # ("in one sentence" / "in three sentences") score 0.886 with MiniLM and stay apart.
    threshold: float = Field(default=0.90, gt=0, le=1, description="cosine similarity that makes a duplicate")
    device: Literal["auto", "cpu", "cuda"] = Field(default="auto", description="auto: the GPU when there is one")
    fp16: bool = Field(default=True, description="half precision on the GPU (the CPU always computes in fp32)")
    backend: Literal["torch", "onnx", "openvino"] = Field(
        default="torch", description="onnx / openvino: the model exported once and run by ONNX Runtime or "
        "OpenVINO on the CPU (a local model folder; not on the GPU); part of the embedding cache's key")
    quantize: bool = Field(default=False, description="onnx: int8 weights (dynamic quantisation, per channel); "
                           "about 2x on a 2-core CPU, vectors within 0.1 in cosine (see bench/embed_backends.py)")
    batch_size: int = Field(default=256, ge=1, description="texts per encoder batch")
    max_seq_length: int = Field(default=256, ge=8, description="longer texts are truncated to this many tokens")
    cluster_above: int = Field(
        default=50_000, ge=2, description="more records than this: k-means first, compare within clusters"
    )
    cluster_size: int = Field(default=5_000, ge=100, description="mean records per k-means cluster")
    cache: bool = Field(default=True, description="keep embeddings by content hash and model for later runs")
    worker_resources: dict[str, float] = Field(
        default_factory=dict,
        description="Dask executor: the resources a worker must offer to embed a shard, e.g. {GPU: 1} for"
                    " workers started with `dask worker --resources GPU=1`; empty: any worker")

    @model_validator(mode="after")
    def _quantize_on_onnx(self) -> "SemanticConfig":
        if self.quantize and self.backend != "onnx":
            raise ValueError(f"quantize needs backend onnx (got {self.backend}): OpenVINO runs the int8 ONNX file "
                             "slower than fp32, and torch has no int8 path here")
        return self


class NgramConfig(Strict):
    """Word n-gram overlap with the reference sets: partial copies inside longer texts."""

    enabled: bool = Field(default=True, description="runs when there are reference_sets")
    n: int = Field(default=13, ge=3, le=50, description="words per n-gram (13: GPT-3's decontamination)")
    min_words: int = Field(default=8, ge=1, description="a reference text shorter than n words is one gram of "
                           "its own length when it has at least this many (shorter ones are counted, not matched)")
    min_matches: int = Field(default=1, ge=1, description="shared n-grams that make a record contaminated")
    fields: dict[str, list[str]] | None = Field(
        default=None, description="per record kind, the fields scanned; default: every content field")
    reference_fields: dict[str, list[str]] | None = Field(
        default=None, description="per reference kind, the reference fields indexed; default: every content "
        "field but the label")

    @model_validator(mode="after")
    def _min_words(self) -> "NgramConfig":
        if self.min_words > self.n:
            raise ValueError(f"min_words {self.min_words} > n {self.n}")
        return self


class DedupConfig(Strict):
    fields: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_DEDUP_FIELDS.items()},
        description="per record kind, the content fields compared (e.g. instruction: [prompt] for prompt-only)",
    )
    keep: list[KeepRule] = Field(
        default_factory=lambda: ["annotated", "quality", "longest", "earliest"], min_length=1,
        description="how the one kept record of a cluster is chosen: rules in priority order, record id last",
    )
    quality_column: str | None = Field(
        default=None, description="rank 'quality' by this numeric column instead of the composite of cleaning's scores"
    )
    compare_within_group: bool = Field(
        default=False, description="also count records of one group (an augmentation family) as duplicates"
    )
    drop: bool = Field(default=True, description="false: keep duplicates, only give each cluster one group")
    borderline_margin: float = Field(
        default=0.05, ge=0, lt=1,
        description="near-duplicate pairs this far below the threshold are saved for human review",
    )
    exact: ExactConfig = Field(default_factory=ExactConfig)
    near: NearConfig = Field(default_factory=NearConfig)
    semantic: SemanticConfig = Field(default_factory=SemanticConfig)
    ngram: NgramConfig = Field(default_factory=NgramConfig)
    reference_sets: list[ReferenceSource] = Field(default_factory=list, description="decontamination targets")
    against: list[str] = Field(
        default_factory=list, description="earlier dedup outputs (folders) new records are also compared with"
    )

    @field_validator("fields")
    @classmethod
    def _content_fields(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        out = {k: list(f) for k, f in DEFAULT_DEDUP_FIELDS.items()}
        for kind, fields in v.items():
            if kind not in CONTENT_FIELDS:
                raise ValueError(f"unknown record kind {kind!r}; kinds: {list(CONTENT_FIELDS)}")
            bad = sorted(set(fields) - set(CONTENT_FIELDS[kind]))
            if not fields or bad:
                raise ValueError(f"fields of {kind} must be content fields {list(CONTENT_FIELDS[kind])}, got {fields}")
            out[kind] = list(fields)
        return out

    @field_validator("keep")
    @classmethod
    def _rules_once(cls, v: list[str]) -> list[str]:
        require_unique(list(v), "keep rule")
        return v

    @field_validator("reference_sets")
    @classmethod
    def _unique_refs(cls, v: list[ReferenceSource]) -> list[ReferenceSource]:
        require_unique([r.name for r in v], "reference set")
        return v

    def compared_fields(self, kind: str) -> tuple[str, ...]:
        return tuple(self.fields[kind])

    def compares(self, level: str, kind: str) -> bool:
        """Whether `level` compares records of `kind`."""
        kinds = getattr(self, level).kinds
        return kinds is None or kind in kinds
