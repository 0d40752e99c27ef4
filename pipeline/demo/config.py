"""The demo pipeline: three real sources, one per record kind."""

from __future__ import annotations

from pathlib import Path

from pipeline.config import PipelineConfig, parse_config
from pipeline.demo.data import chatterbot_jsonl, data_home, humaneval_jsonl, spamassassin_dir, stdlib_dir

# Test suites, demos and vendored tooling are not the code a team would train on.
STDLIB_EXCLUDE = ["*/test/*", "*/tests/*", "*/idlelib/*", "*/lib2to3/*", "*/site-packages/*",
                  "*/ensurepip/*", "*/turtledemo/*", "*/tkinter/*", "*/__phello__/*", "*/config-3*"]


def demo_config(out_dir: str | Path = "runs/demo", home: Path | None = None) -> PipelineConfig:
    home = home or data_home()
    return parse_config(
        {
            "run": {"name": "demo", "out_dir": str(Path(out_dir).resolve())},
            "sources": [
                {
                    "name": "chatterbot",
                    "kind": "instruction",
                    "format": "jsonl",
                    "path": str(chatterbot_jsonl(home)),
                    "fields": {"prompt": "question", "response": "answer", "group": "conversation"},
                },
                {
                    "name": "stdlib",
                    "kind": "code",
                    "format": "code_tree",
                    "path": str(stdlib_dir()),
                    "exclude": STDLIB_EXCLUDE,
                },
                {
                    "name": "spamassassin",
                    "kind": "classification",
                    "format": "email",
                    "path": str(spamassassin_dir(home)),
                    "label_from_dir": True,
                    "exclude": ["*/.complete"],
                },
            ],
            # Sized so the whole demo, ablation included, runs in minutes on 2 CPU cores: the
            # size caps pick a deterministic subset (by record-id hash) of each split.
            "train": [
                {
                    "name": "spam",
                    "kind": "classification",
                    "sources": ["spamassassin"],
                    "train": {"model": "minilm", "epochs": 2, "batch_size": 16, "max_length": 64,
                              "learning_rate": 1e-4, "max_train_records": 250, "max_eval_records": 400},
                },
                {
                    "name": "chat",
                    "kind": "instruction",
                    "sources": ["chatterbot"],
                    "train": {"model": "smollm2", "method": "lora", "epochs": 1, "batch_size": 8,
                              "max_length": 64, "max_train_records": 160, "max_eval_records": 32,
                              "max_new_tokens": 16, "generation_metric": "rouge_l"},
                },
                {
                    "name": "docstring-to-code",
                    "kind": "code",
                    "sources": ["stdlib"],
                    "train": {"model": "smollm2", "method": "lora", "epochs": 1, "batch_size": 8,
                              "max_length": 128, "max_train_records": 120, "max_eval_records": 16,
                              "max_new_tokens": 48, "generation_metric": "rouge_l"},
                },
            ],
            # Code records must not copy a HumanEval problem (prompt and solution) at any level.
            # Semantic dedup embeds only the short chat pairs here: MiniLM on 2 CPU cores takes
            # minutes for the 10k long e-mails and functions (a GPU makes that seconds).
            "dedup": {"semantic": {"kinds": ["instruction"]},
                      "reference_sets": [{"name": "humaneval", "kind": "code", "path": str(humaneval_jsonl(home)),
                                          "fields": {"code": "canonical_solution"}}]},
            # Chat prompts are paraphrased (responses kept), functions renamed, documented from their
            # own docstring-prompt and refactored (one proven rewrite each), and spam is balanced up
            # towards ham with synonym swaps (more of them per e-mail: ten swaps in a 300-word e-mail
            # change next to nothing).
            # The similarity gate embeds the chat prompts only, as semantic dedup does: MiniLM
            # needs minutes on 2 CPU cores for thousands of long e-mails.
            "augment": {
                "enabled": True,
                "augmenters": [
                    {"method": "back_translation", "kinds": ["instruction"]},
                    {"method": "synonym", "kinds": ["instruction"]},
                    {"name": "synonym_email", "method": "synonym", "kinds": ["classification"],
                     "params": {"aug_p": 0.1, "aug_max": 40}},
                    {"method": "rename_identifiers"},
                    {"method": "add_docstring"},
                    {"method": "refactor"},
                ],
                "gates": {"similarity": {"kinds": ["instruction"]}},
                "budget": {"balance": True, "balance_target": 0.8},
            },
            # Human review: `curate labelstudio up`, then `curate annotate push` and `sync` (README).
            # The models score a sample of 100 records per kind, at most 256 tokens each, for
            # selection: SmolLM2 on 500 functions of 512 tokens took over 15 minutes on 2 CPU cores.
            "annotate": {"enabled": True, "project": "curate demo", "max_scored": 100, "score_max_length": 256,
                         "select": {"strategies": [{"name": "label_errors", "budget": 20},
                                                   {"name": "least_confident", "budget": 20},
                                                   {"name": "near_duplicates", "budget": 10},
                                                   {"name": "augment_borderline", "budget": 10},
                                                   {"name": "random", "budget": 10}], "max_tasks": 60}},
            # Did each stage help the spam classifier? Three seeds per variant, and per stage a
            # random subset of the variant before it of the same size (its random control); the
            # first variant is cut to 250 training records and the later ones to the same share of
            # theirs (21 MiniLM trainings of about 30 s). The chat and code models are trained once
            # on the current data: with 160 chat pairs and 32 test prompts their differences
            # between variants would be noise (add them to `tasks` to see).
            "ablation": {"variants": [{"name": "raw", "after": "collect"}, {"name": "cleaned", "after": "clean"},
                                      {"name": "deduped", "after": "dedup"},
                                      {"name": "augmented", "after": "augment"}],
                         "tasks": ["spam"], "seeds": 3},
        }
    )
