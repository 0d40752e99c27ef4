"""Gates that need more than text: code must parse, mean the same, and pass its tests; a
classification candidate must still get its parent's label from the current model."""

from __future__ import annotations

import ast
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pipeline.augment.candidates import Candidate
from pipeline.augment.code_ops import bare_body_prefix, parses as _parses
from pipeline.augment.config import CodeGates, LabelGate


def _prefix(parent: dict[str, Any]) -> str:
    """The prompt when the code is a bare body that only parses after it (HumanEval layout)."""
    return bare_body_prefix(parent.get("code") or "", parent.get("prompt") or "") or ""


def same_meaning(method: str, before: str, after: str) -> bool:
    """The method's own equivalence: names may change (rename), comments (removal), docstrings (adding)."""
    from pipeline.augment.alpha import alpha_equivalent
    from pipeline.augment.code_ops import strip_docstrings

    if method == "rename_identifiers":
        return alpha_equivalent(before, after)
    if method == "add_docstring":
        return strip_docstrings(before) == strip_docstrings(after)
    if method == "add_comments":
        from pipeline.augment.comments import comments_only

        return comments_only(before, after)
    return ast.dump(ast.parse(before)) == ast.dump(ast.parse(after))


def refactor_equivalent(c: Candidate, before: str, after: str) -> bool:
    """The refactoring the candidate names, undone on both sides, leaves the same syntax tree."""
    from pipeline.augment.refactor.registry import equivalent

    rewrite = json.loads(c.scores.get("augment_params") or "{}").get("code", {}).get("rewrite")
    return rewrite is not None and equivalent(before, after, rewrite)


def record_tests(record: dict[str, Any]) -> tuple[str, str] | None:
    """(test code, entry point) from the record's meta, when it carries HumanEval-style tests."""
    try:
        meta = json.loads(record.get("meta") or "{}")
    except json.JSONDecodeError:
        return None
    test, entry = meta.get("test"), meta.get("entry_point")
    return (test, entry) if isinstance(test, str) and isinstance(entry, str) and test and entry else None


def score_code(cands: list[Candidate], config: CodeGates, workers: int = 2) -> dict[str, int]:
    from pipeline.train.sandbox import assemble_program, run_program

    todo = [c for c in cands if c.record is not None and c.parent["kind"] == "code"]
    to_test: list[tuple[Candidate, str]] = []
    for c in todo:
        prefix = _prefix(c.parent)
        before, after = prefix + c.parent["code"], prefix + c.record["code"]
        if config.parses:
            c.scores["parses"] = _parses(after)
        if c.method == "refactor":
            if config.equivalent and _parses(after) and _parses(before):
                c.scores["equivalent"] = refactor_equivalent(c, before, after)
        elif config.alpha_equivalent and _parses(after) and _parses(before):
            c.scores["alpha_equivalent"] = same_meaning(c.method, before, after)
        tests = record_tests(c.parent) if config.tests else None
        standing = c.scores.get("alpha_equivalent", True) and c.scores.get("equivalent", True)
        if tests and c.scores.get("parses", True) and standing:
            to_test.append((c, assemble_program(c.record["prompt"], c.record["code"], tests[0], tests[1])))

    def run(item: tuple[Candidate, str]) -> None:
        outcome = run_program(item[1], config.test_timeout_s)
        item[0].scores["tests_passed"] = outcome.passed
        if not outcome.passed:
            item[0].scores["tests_detail"] = f"{outcome.status}: {outcome.detail[-300:]}"

    # Subprocesses: threads only wait on them.
    with ThreadPoolExecutor(max(1, workers)) as pool:
        list(pool.map(run, to_test))
    return {"code:tests_run": len(to_test)}


class LabelPredictor:
    """A trained sequence classifier (a train task's model_dir: full weights or a LoRA adapter)."""

    def __init__(self, config: LabelGate):
        self.config = config
        self.model_dir = Path(config.model or "")
        self._model: Any = None

    def setup(self) -> None:
        from pipeline.train.models import load_trained_classifier

        try:
            self._model, self._tokenizer = load_trained_classifier(self.model_dir)
        except FileNotFoundError:
            raise FileNotFoundError(f"label gate: {self.model_dir} holds no trained classifier (config.json)") from None
        self.id2label = {int(k): v for k, v in self._model.config.id2label.items()}

    def predict(self, texts: list[str]) -> list[tuple[str, dict[str, float]]]:
        """(predicted label, probability per label) for each text."""
        import torch

        if self._model is None:
            self.setup()
        out = []
        with torch.inference_mode():
            for i in range(0, len(texts), self.config.batch_size):
                enc = self._tokenizer(texts[i:i + self.config.batch_size], truncation=True, padding=True,
                                      max_length=self.config.max_length, return_tensors="pt")
                probs = self._model(**enc).logits.float().softmax(-1).tolist()
                for p in probs:
                    best = max(range(len(p)), key=p.__getitem__)
                    out.append((self.id2label[best], {self.id2label[k]: v for k, v in enumerate(p)}))
        return out


def score_labels(cands: list[Candidate], predictor: LabelPredictor) -> None:
    todo = [c for c in cands if c.record is not None and c.parent["kind"] == "classification"]
    if not todo:
        return
    for c, (pred, probs) in zip(todo, predictor.predict([c.record["text"] for c in todo])):
        c.scores["label_predicted"] = pred
        c.scores["label_prob"] = round(probs.get(c.parent["label"], 0.0), 4)
        c.scores["label_preserved"] = pred == c.parent["label"]
