"""`curate export` on a real run: the DatasetDict on disk holds exactly the data version's records,
the card its counts, and a user's mistakes are one line with exit code 2, nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.config import parse_config
from pipeline.export.formats import FormatError, formatted, resolve_format
from pipeline.records import empty_record, records_to_table
from pipeline.runner import run_pipeline
from tests.report.tickets import tickets_config, write_tickets

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """The tickets corpus collected, cleaned, deduplicated, augmented, split, and one classifier trained."""
    d = tmp_path_factory.mktemp("export")
    write_tickets(d / "tickets.jsonl")
    cfg = tickets_config(d)
    del cfg["ablation"]
    run_pipeline(parse_config(cfg))
    return d / "run"


def curate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], capture_output=True, text=True)


def test_export_gives_the_exact_records_of_the_data_version_and_a_card(run_dir, tmp_path):
    from datasets import load_from_disk

    from pipeline.catalog import Catalog

    res = curate("export", "--run-dir", str(run_dir), "--out", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    model = Catalog(run_dir).models()[-1]
    version = pq.read_table(run_dir / "data_versions" / f"{model['data_version']}.parquet").to_pylist()
    dd = load_from_disk(str(tmp_path / "out" / "dataset"))
    for split in ("train", "validation", "test"):
        want = [r["id"] for r in version if r["split"] == split]
        assert dd[split]["id"] == want and len(want) > 0
        assert set(dd[split].column_names) == {"id", "source", "group_id", "parent_id", "text", "label"}
        lines = (tmp_path / "out" / "jsonl" / f"{split}.jsonl").read_text().splitlines()
        assert [json.loads(x)["id"] for x in lines] == want
        assert pq.read_table(tmp_path / "out" / "parquet" / f"{split}.parquet").column("id").to_pylist() == want
    # The labels are the split stage's, record for record.
    kept = {r["id"]: r for r in pq.read_table(Path(model["split_path"]) / "kept").to_pylist()}
    assert all(kept[r["id"]]["label"] == r["label"] and kept[r["id"]]["text"] == r["text"] for r in dd["train"])

    card = (tmp_path / "out" / "README.md").read_text()
    from huggingface_hub import DatasetCard

    meta = DatasetCard(card).data.to_dict()
    assert meta["curate"]["data_version"] == model["data_version"]
    assert meta["curate"]["records"] == {s: len(dd[s]) for s in ("train", "validation", "test")}
    assert meta["task_categories"] == ["text-classification"]
    assert f"| train | {len(dd['train']):,} | `{model['train_fingerprint']}` |" in card
    for stage in ("collect", "clean", "dedup_exact", "dedup_near", "split"):
        assert f"| {stage} |" in card
    assert "exact_duplicate" in card and model["model_id"] in card  # reasons, and the model trained on it
    assert "written:" in res.stdout and "Saving the dataset" not in res.stderr  # no library progress bars


def test_user_mistakes_are_one_line_with_exit_code_2_and_nothing_written(run_dir, tmp_path):
    cases = [
        (["--run-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path / "a")], "holds no run catalog"),
        (["--run-dir", str(run_dir), "--version", "feedface", "--out", str(tmp_path / "b")], "no data version"),
        (["--run-dir", str(run_dir), "--task", "nope", "--out", str(tmp_path / "c")], "no task 'nope'"),
        (["--run-dir", str(run_dir), "--format", "prompt_completion", "--out", str(tmp_path / "d")],
         "does not fit classification"),
        (["--run-dir", str(run_dir)], "nothing to do"),
    ]
    for args, message in cases:
        res = curate("export", *args)
        assert res.returncode == 2, (args, res.stderr)
        assert message in res.stderr and "Traceback" not in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())
    assert not (tmp_path / "nowhere").exists()
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    res = curate("export", "--run-dir", str(run_dir), "--out", str(full))
    assert res.returncode == 2 and "not empty" in res.stderr
    assert [p.name for p in full.iterdir()] == ["keep.txt"]


def test_push_without_a_reachable_hub_is_one_line(run_dir, tmp_path):
    res = subprocess.run([sys.executable, "-m", "pipeline.cli", "export", "--run-dir", str(run_dir), "--push",
                          "someone/tickets"], capture_output=True, text=True,
                         env={**__import__("os").environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"})
    assert res.returncode == 2 and "push to the Hub repo 'someone/tickets' failed" in res.stderr
    assert "Traceback" not in res.stderr


def _records() -> pa.Table:
    return records_to_table([
        empty_record(id="i1", kind="instruction", source="s", origin="o", group_id="g1", system="Be brief.",
                     prompt="Name a colour.", response="Blue.",
                     messages=[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"},
                               {"role": "user", "content": "Name a colour."},
                               {"role": "assistant", "content": "Blue."}]),
        empty_record(id="c1", kind="code", source="s", origin="o", group_id="g2", prompt="Add two numbers.",
                     code="def add(a, b):\n    return a + b\n", language="python"),
    ])


def test_formats_follow_trl_and_keep_the_conversation_training_sees():
    rows = formatted(_records(), "messages")
    assert rows[0]["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                                   {"role": "assistant", "content": "Hello"},
                                   {"role": "user", "content": "Name a colour."},
                                   {"role": "assistant", "content": "Blue."}]
    assert rows[1]["messages"][-1] == {"role": "assistant", "content": "def add(a, b):\n    return a + b\n"}
    pc = formatted(_records(), "prompt_completion")
    assert pc[0]["prompt"] == "Be brief.\n\nName a colour." and pc[0]["completion"] == "Blue."
    assert pc[1] == {"id": "c1", "source": "s", "group_id": "g2", "parent_id": None, "prompt": "Add two numbers.",
                     "completion": "def add(a, b):\n    return a + b\n"}
    assert resolve_format("code", "auto") == "messages" and resolve_format("classification", "auto") == "text_label"
    with pytest.raises(FormatError, match="use messages or prompt_completion"):
        resolve_format("instruction", "text_label")
