"""A distributed launch: `torchrun --nproc_per_node 2 -m pipeline.train.launch` trains one task of
a run directory with DDP over two CPU processes (gloo), as `accelerate launch --multi_gpu` would
over GPUs; process 0 tests, saves and records the model (slow: two processes load MiniLM)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.tracking.test_champion import config as reviews_config, write_reviews

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_two_processes_train_one_task_and_the_first_records_it(tmp_path):
    from pipeline.annotate.server import free_port
    from pipeline.catalog import Catalog
    from pipeline.config import load_config
    from pipeline.runner import run_pipeline

    write_reviews(tmp_path / "reviews.jsonl", 90)
    config = reviews_config(tmp_path, tmp_path / "reviews.jsonl",
                            {"epochs": 2, "batch_size": 8, "max_length": 32, "learning_rate": 1e-4})
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    run_pipeline(load_config(tmp_path / "c.yaml"), until="split")
    torchrun = Path(sys.executable).parent / "torchrun"
    proc = subprocess.run([str(torchrun), "--nproc_per_node", "2", "--master_addr", "127.0.0.1", "--master_port",
                           str(free_port()), "-m", "pipeline.train.launch",
                           "--config", str(tmp_path / "c.yaml"), "--task", "reviews"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "on 2 process(es)" in proc.stdout
    (model,) = [m for m in Catalog(tmp_path / "out").models() if m["variant"] == "current"]
    record = json.loads((Path(model["model_dir"]) / "training.json").read_text())
    assert record["processes"] == 2 and record["config"]["backend"] == "hf"
    assert [h["epoch"] for h in record["history"]] == [1, 2] and model["metrics"]["macro_f1"] >= 0
    assert model["champion"]["decision"] == "promoted" and model["mlflow_run_id"]
    runs = [r for r in Catalog(tmp_path / "out").runs() if r["name"] == "launch:reviews"]
    assert len(runs) == 1 and runs[0]["status"] == "succeeded"  # one catalog run, from process 0 only


def test_launch_without_split_data_says_what_to_run(tmp_path):
    write_reviews(tmp_path / "reviews.jsonl", 10)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({
        "run": {"out_dir": str(tmp_path / "out")},
        "sources": [{"name": "r", "kind": "classification", "format": "jsonl", "path": str(tmp_path / "reviews.jsonl")}],
        "train": [{"name": "reviews", "kind": "classification"}]}))
    proc = subprocess.run([sys.executable, "-m", "pipeline.train.launch", "--config", str(tmp_path / "c.yaml"),
                           "--task", "reviews"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "curate split" in proc.stderr and "Traceback" not in proc.stderr
