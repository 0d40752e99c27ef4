"""The current model's view of each record: where it is unsure is where an annotator helps most.

Classification records get the trained classifier's probabilities (the predicted label, its
probability, and the probability of the record's own label, which confident learning needs).
Instruction and code records get how likely the fine-tuned LM finds the record's answer given its
prompt, exp(-mean answer-token NLL), encoded exactly as training encoded it (chat template, loss
on the answer only), so a low value means "the model would not have written this".
`model_version` names the model and the data it was trained on, so predictions shown in Label
Studio say which model made them.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.train.result import RESULT_FILE

PREDICTION_SCHEMA = pa.schema([
    ("id", pa.string()),
    ("predicted", pa.string()),  # classification: the argmax label; LM: null
    ("confidence", pa.float64()),  # probability of the predicted label, or the answer's per-token likelihood
    ("given_prob", pa.float64()),  # probability of the record's own label; null when the model lacks it
    ("probs", pa.string()),  # JSON {label: prob}, 4 places; null for LMs
])
LM_KINDS = frozenset({"instruction", "code"})


def model_version(model_dir: str | Path) -> str:
    """`<folder>@<data version[:12]>`, or a hash of training.json when it names no data version."""
    path = Path(model_dir) / RESULT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{model_dir} has no {RESULT_FILE}: not a folder written by the train stage")
    raw = path.read_bytes()
    data_version = json.loads(raw).get("data_version")
    tag = str(data_version)[:12] if data_version else hashlib.blake2b(raw, digest_size=6).hexdigest()
    return f"{Path(model_dir).resolve().name}@{tag}"


def classifier_predictions(model_dir: str | Path, table: pa.Table, batch_size: int = 64,
                           max_length: int = 256) -> pa.Table:
    """One row per record: the classifier's label, its probability and every label's probability."""
    from pipeline.augment.checks import LabelPredictor
    from pipeline.augment.config import LabelGate

    texts = table.column("text").to_pylist()
    if any(t is None for t in texts):
        raise ValueError("classifier_predictions needs classification records: some records have no text")
    predictor = LabelPredictor(LabelGate(enabled=True, model=str(model_dir), batch_size=batch_size,
                                         max_length=max_length))
    rows = []
    for rid, label, (predicted, probs) in zip(table.column("id").to_pylist(), table.column("label").to_pylist(),
                                              predictor.predict(texts)):
        rows.append({"id": rid, "predicted": predicted, "confidence": float(probs[predicted]),
                     "given_prob": float(probs[label]) if label in probs else None,
                     "probs": json.dumps({k: round(v, 4) for k, v in probs.items()}, sort_keys=True)})
    return pa.Table.from_pylist(rows, schema=PREDICTION_SCHEMA)


def lm_confidences(model_dir: str | Path, table: pa.Table, batch_size: int = 8, max_length: int = 512,
                   device: str = "auto") -> pa.Table:
    """exp(-mean NLL) of each record's answer given its prompt, in (0, 1].

    A record that cannot be encoded as training would encode it (the prompt alone fills
    `max_length`, or the template renders the prompt differently) gets a null confidence: the model
    never judged it, and selection counts it as having no score rather than guessing one.
    """
    from pipeline.train.evaluate import token_losses
    from pipeline.train.sft_data import conversation, encode
    from pipeline.train.stage import pick_device

    kinds = set(table.column("kind").to_pylist())
    if not kinds <= LM_KINDS:
        raise ValueError(f"lm_confidences scores instruction and code records; got {sorted(kinds - LM_KINDS)}")
    from pipeline.train.models import load_trained_causal_lm

    model, tokenizer = load_trained_causal_lm(model_dir)
    torch_device = pick_device(device)
    model.to(torch_device)
    examples = []
    for row, record in enumerate(table.to_pylist()):
        example, _status = encode(tokenizer, *conversation(record), max_length)
        if example is not None:
            examples.append({**example, "row": row})
    sums, counts = token_losses(model, examples, tokenizer.pad_token_id, batch_size, torch_device)
    confidence: list[float | None] = [None] * table.num_rows
    for example, loss_sum, n in zip(examples, sums, counts):
        confidence[example["row"]] = math.exp(-loss_sum / n) if n else None
    return pa.table({"id": table.column("id"), "predicted": pa.nulls(table.num_rows, pa.string()),
                     "confidence": pa.array(confidence, pa.float64()),
                     "given_prob": pa.nulls(table.num_rows, pa.float64()),
                     "probs": pa.nulls(table.num_rows, pa.string())}, schema=PREDICTION_SCHEMA)


def predictions(model_dir: str | Path, table: pa.Table, **kw: Any) -> pa.Table:
    """Classifier predictions for classification records, LM confidences for instruction and code.

    One model is either a classifier or an LM, so a table mixing the two families is refused:
    predict each family with its own model and concatenate.
    """
    kinds = set(table.column("kind").to_pylist())
    if not kinds:
        return PREDICTION_SCHEMA.empty_table()
    if kinds == {"classification"}:
        return classifier_predictions(model_dir, table, **kw)
    if kinds <= LM_KINDS:
        return lm_confidences(model_dir, table, **kw)
    raise ValueError(f"one model predicts either classification or instruction/code records; got {sorted(kinds)}")
