"""Generative SFT on instruction and code records: selected on validation loss, judged on test answers.

Test metrics: the answer tokens' loss and perplexity, a text metric of greedy answers against
the references (exact match or ROUGE-L), and for HumanEval-layout code records the fraction
whose generated function passes its tests in the sandbox.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pyarrow as pa

from pipeline.train.config import TrainConfig
from pipeline.train.evaluate import code_tests, generate, slice_members, sliced, token_losses
from pipeline.train.metrics import GENERATION_METRICS, mean
from pipeline.train.models import load_causal_lm
from pipeline.train.sandbox import check_completion
from pipeline.train.sft_data import generation_prompts, sft_examples


def perplexity(loss: float | None) -> float | None:
    if loss is None:
        return None
    return math.exp(loss) if loss < 700 else math.inf  # exp overflows a float past ~709


def token_mean(loss_sum: float, tokens: int) -> float | None:
    return loss_sum / tokens if tokens else None  # no answer tokens (an empty split): no loss


class SftTask:
    name = "sft"
    score_key, higher_is_better = "val_loss", False

    def __init__(self, train: pa.Table, validation: pa.Table, test: pa.Table, config: TrainConfig, device: Any):
        self.tables = {"train": train, "validation": validation, "test": test}
        self.config, self.device = config, device
        self.dropped: Counter = Counter()
        self.truncated: Counter = Counter()  # kept but cut to max_length, by split
        self.tokens: dict[str, dict] = {}  # split -> token accounting (sft_data.TokenCounts)

    def load(self) -> tuple[Any, Any, str]:
        return load_causal_lm(self.config.model)

    def prepare(self, tokenizer: Any) -> list[dict]:
        """Encode every split (drops counted per split and reason); returns the training examples."""
        self.tokenizer, self.pad_id = tokenizer, tokenizer.pad_token_id
        self.examples = {}
        for split, table in self.tables.items():
            self.examples[split], dropped, truncated, counts = sft_examples(table, tokenizer, self.config.max_length)
            self.tokens[split] = counts.to_json()
            self.dropped.update({f"{split}.{reason}": n for reason, n in dropped.items()})
            self.truncated[split] = truncated
        if not self.examples["train"]:
            raise ValueError(f"no training example fits max_length={self.config.max_length}: {dict(self.dropped)}")
        return self.examples["train"]

    def loss(self, model: Any, batch: dict[str, Any]) -> Any:
        return model(**batch).loss  # mean over answer tokens; the model shifts the labels itself

    def _losses(self, model: Any, split: str) -> tuple[list[float], list[int]]:
        return token_losses(model, self.examples[split], self.pad_id, self.config.eval_batch_size, self.device)

    def validate(self, model: Any) -> dict[str, float]:
        sums, counts = self._losses(model, "validation")
        loss = token_mean(sum(sums), sum(counts))
        return {"val_loss": loss, "val_perplexity": perplexity(loss)}

    def test(self, model: Any, progress: Any = None) -> dict[str, Any]:
        table, config = self.tables["test"], self.config
        validation = self.validate(model)
        # Per-record test loss: sums and token counts by table row (dropped records have none).
        sums, counts = self._losses(model, "test")
        loss_sum, token_count = [0.0] * table.num_rows, [0] * table.num_rows
        for e, s, n in zip(self.examples["test"], sums, counts):
            loss_sum[e["row"]], token_count[e["row"]] = s, n

        prompts, cut = generation_prompts(table, self.tokenizer, config.max_length)
        self.truncated["test_generation_prompts"] = cut  # only the prompt's end was seen
        advance = progress("generate", len(prompts)) if progress else (lambda n: None)
        answers = generate(model, self.tokenizer, prompts, config.max_new_tokens, config.eval_batch_size,
                           self.device, advance)
        references = [r["code"] if r["kind"] == "code" else r["response"] for r in table.to_pylist()]
        metric = GENERATION_METRICS[config.generation_metric]
        scores = [metric(a, ref) for a, ref in zip(answers, references)]
        passed = self._run_code_tests(table, answers)

        def metrics_for(kind: str, rows: list[int]) -> dict[str, Any]:
            loss = token_mean(sum(loss_sum[i] for i in rows), sum(token_count[i] for i in rows))
            out = {"test_loss": loss, "test_perplexity": perplexity(loss),
                   config.generation_metric: mean([scores[i] for i in rows])}
            tested = [passed[i] for i in rows if i in passed]
            if tested:
                out["code_pass_rate"] = mean(tested)
                out["n_code_tests"] = len(tested)
            return out

        metrics = {**validation, "perplexity": validation["val_perplexity"],
                   **metrics_for("all", list(range(len(scores))))}
        metrics.pop("n_code_tests", None)
        samples = [{"prompt": r["prompt"], "reference": ref, "generated": a}
                   for r, ref, a in zip(table.slice(0, 5).to_pylist(), references, answers)]
        items = {"id": table.column("id").to_pylist(), "loss_sum": loss_sum, "tokens": token_count, "score": scores,
                 "code_passed": [passed.get(i, float("nan")) for i in range(table.num_rows)]}
        return {"metrics": metrics, "slices": sliced(slice_members(table), metrics_for), "samples": samples,
                "items": items}

    def _run_code_tests(self, table: pa.Table, answers: list[str]) -> dict[int, float]:
        """row -> 1.0 / 0.0 for the records whose meta carries HumanEval-style tests."""
        out = {}
        prompts = table.column("prompt").to_pylist()
        for row, (test, entry_point) in code_tests(table).items():
            outcome = check_completion(prompts[row], answers[row], test, entry_point, self.config.code_test_timeout_s)
            out[row] = float(outcome.passed)
        return out
