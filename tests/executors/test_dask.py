"""The Dask executor on a real `distributed` cluster: the same outputs as the local executor,
a scheduler out of reach named in one line, a bad shard quarantined, not fatal."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from pipeline.collect import CollectStage
from pipeline.collect.config import CollectConfig, SourceConfig
from pipeline.clean.config import CleanConfig
from pipeline.clean.stage import CleanStage
from pipeline.dedup.config import DedupConfig
from pipeline.dedup.stage import DedupStage
from pipeline.engine import run_stage
from pipeline.executors import ExecutorError, make_executor
from pipeline.executors.config import DaskConfig
from pipeline.executors.local import LocalExecutor
from pipeline.split.config import SplitConfig
from pipeline.split.stage import SplitStage
from pipeline.store import StageStore

WORDS = "the quick brown fox jumps over a lazy dog while seven wizards quietly judge boxing matches".split()


@pytest.fixture(scope="module")
def dask_executor():
    executor = make_executor("dask", dask=DaskConfig(n_workers=2, threads_per_worker=1))
    yield executor
    executor.close()


def _inputs(d: Path, files: int = 3, per_file: int = 400) -> list[SourceConfig]:
    """Several files with exact and near copies across them, and one broken line per file."""
    d.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        with open(d / f"part{f}.jsonl", "w") as out:
            for i in range(per_file):
                n = (f * per_file + i) % 700  # ids repeat across files: exact duplicates
                k = n % len(WORDS)
                q = " ".join(WORDS[k:] + WORDS[:k]) + f" question number {n}?"
                a = f"The answer is {n}. " + " ".join(WORDS[: 5 + n % 7])
                if i % 97 == 5:
                    a += " (edited)"  # a near duplicate of the record with the same n
                out.write(json.dumps({"question": q, "answer": a}) + "\n")
            out.write("{not json\n")
    return [SourceConfig(name="s", kind="instruction", format="jsonl", path=str(d),
                         fields={"prompt": "question", "response": "answer"})]


def _run_all(root: Path, sources: list[SourceConfig], executor) -> dict[str, object]:
    store = StageStore(root)
    stages = [CollectStage(sources, CollectConfig(shard_mb=0.02, part_rows=150)), CleanStage(CleanConfig()),
              DedupStage("exact", DedupConfig()), DedupStage("near", DedupConfig()), SplitStage(SplitConfig())]
    out, results = None, {}
    for stage in stages:
        out = run_stage(stage, out, store, executor, batch_size=64)
        c = out.counts
        assert c["in"] + c.get("generated", 0) == c["kept"] + c["rejected"]
        results[stage.name] = out
    return results


def test_local_and_dask_runs_give_identical_outputs(tmp_path, dask_executor):
    sources = _inputs(tmp_path / "data")
    local = _run_all(tmp_path / "local", sources, LocalExecutor(1))
    dask = _run_all(tmp_path / "dask", sources, dask_executor)
    assert local["collect"].manifest["executor"]["name"] == "local"
    assert dask["collect"].manifest["executor"]["name"] == "dask"
    assert dask["collect"].manifest["executor"]["workers"] == 2
    for name, a in local.items():
        b = dask[name]
        assert len(a.parts) > 1, f"{name}: one part only; the test must shard"
        assert a.counts == b.counts, name
        assert a.manifest["counters"] == b.manifest["counters"], name
        assert a.read_kept(["id"]).column("id").to_pylist() == b.read_kept(["id"]).column("id").to_pylist(), name
        rej = lambda o: sorted(zip(*[o.read_rejected(["id", "reason"]).column(c).to_pylist() for c in ("id", "reason")]),
                               key=str)
        assert rej(a) == rej(b), name
        assert a.fingerprint == b.fingerprint, name  # the same bytes, part by part
    near = local["dedup_near"].counts["rejected_by_reason"]
    assert local["collect"].counts["rejected_by_reason"]["bad_json"] == 3  # the broken lines quarantined
    assert local["dedup_exact"].counts["rejected"] > 0 and near.get("near_duplicate", 0) > 0


def test_a_second_run_reuses_every_stage(tmp_path, dask_executor):
    sources = _inputs(tmp_path / "data", files=2, per_file=100)
    _run_all(tmp_path / "run", sources, dask_executor)
    again = _run_all(tmp_path / "run", sources, dask_executor)
    assert all(o.reused for o in again.values())


def test_an_unreachable_scheduler_fails_fast_naming_the_address():
    t0 = time.monotonic()
    with pytest.raises(ExecutorError, match="tcp://127.0.0.1:9"):
        make_executor("dask", dask=DaskConfig(address="tcp://127.0.0.1:9", connect_timeout_s=2))
    assert time.monotonic() - t0 < 15


def test_the_cli_says_one_line_for_an_unreachable_scheduler(tmp_path):
    import subprocess
    import sys

    sources = _inputs(tmp_path / "data", files=1, per_file=10)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"run: {{out_dir: {tmp_path / 'run'}, dask: {{connect_timeout_s: 2}}}}\n"
                   f"sources:\n  - {{name: s, kind: instruction, format: jsonl, path: {sources[0].path},"
                   " fields: {prompt: question, response: answer}}\n")
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "collect", "--config", str(cfg),
                           "--scheduler", "tcp://127.0.0.1:9"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "tcp://127.0.0.1:9" in lines[0] and "Traceback" not in proc.stderr


def test_a_path_that_matches_nothing_is_one_line_and_exit_2(tmp_path):
    import subprocess
    import sys

    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"run: {{out_dir: {tmp_path / 'run'}}}\n"
                   f"sources:\n  - {{name: s, kind: instruction, format: jsonl, path: {tmp_path / 'nothing*.jsonl'}}}\n")
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "collect", "--config", str(cfg)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip() and "━" not in ln]  # but the progress bar
    assert len(lines) == 1 and "nothing" in lines[0] and "Traceback" not in proc.stderr


def test_the_demo_sources_give_the_same_stages_on_both_executors(tmp_path, dask_executor):
    """Every stage up to the split, on the demo's real sources (capped), local and on Dask:
    identical kept ids, reject reasons and counts."""
    from pipeline.demo.config import demo_config
    from pipeline.runner import pipeline_run, run_data_steps

    outputs = {}
    for name, executor in (("local", LocalExecutor(2)), ("dask", dask_executor)):
        cfg = demo_config(tmp_path / name)
        for source in cfg.sources:
            source.limit = 150
        cfg.collect.part_rows = 60  # several parts per source, so shards really spread
        cfg.run.batch_size = 30
        cfg.annotate.enabled = False
        with pipeline_run(cfg, executor=executor) as ctx:
            run_data_steps(ctx, until="split")
            outputs[name] = dict(ctx.outputs)
    local, dask = outputs["local"], outputs["dask"]
    assert list(local) == list(dask) and list(local)[-1] == "split" and any(n.startswith("augment_") for n in local)
    for stage, a in local.items():
        b = dask[stage]
        assert a.counts == b.counts, stage
        assert a.read_kept(["id"]).column("id").to_pylist() == b.read_kept(["id"]).column("id").to_pylist(), stage
        reasons = [sorted(zip(*[o.read_rejected(["id", "reason"]).column(c).to_pylist() for c in ("id", "reason")]),
                          key=str) for o in (a, b)]
        assert reasons[0] == reasons[1], stage
    assert local["collect"].counts["in"] == 450 and len(local["collect"].parts) > 3


def test_resources_no_worker_offers_fail_at_once_instead_of_waiting(tmp_path, dask_executor):
    from pipeline.dedup.config import DedupConfig
    from pipeline.dedup.stage import DedupStage
    from tests.dedup.helpers import qa, stored_input

    store = StageStore(tmp_path)
    source = stored_input(store, [qa(f"question {i}?", f"answer {i}.") for i in range(10)])
    config = DedupConfig.model_validate({"semantic": {"device": "cpu", "worker_resources": {"GPU": 1}}})
    t0 = time.monotonic()
    with pytest.raises(ExecutorError, match="GPU=1"):
        run_stage(DedupStage("semantic", config, tmp_path / "cache"), source, store, dask_executor)
    assert time.monotonic() - t0 < 30
    assert not list(store.stages_dir.glob(".dedup_semantic-*"))  # the failed stage left nothing behind
