"""Each reader on small real files written here, through the field mapping to records."""

from __future__ import annotations

import json
import mailbox
import textwrap
from email.message import EmailMessage

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.records import group_id_for
from pipeline.schema_files import validation_error
from tests.collect.conftest import reasons_by_origin, write_jsonl


def test_jsonl_mapping_dotted_paths_constants_groups_and_numeric_labels(tmp_path, run_collect):
    rows = [
        {"body": {"text": "Win a free cruise now", "meta": {"lang": "en"}}, "y": 1, "thread": "t1"},
        {"body": {"text": "Lunch at noon?"}, "y": 0, "thread": "t1"},
        {"body": {"text": "Quarterly numbers attached"}, "y": 0, "thread": "t2"},
    ]
    path = write_jsonl(tmp_path / "mail.jsonl", rows)
    out = run_collect({"name": "m", "kind": "classification", "format": "jsonl", "path": str(path),
                       "fields": {"text": "body.text", "label": "y", "group": "thread"}})
    kept = out.read_kept().to_pylist()
    assert [r["label"] for r in kept] == ["1", "0", "0"]
    assert kept[0]["group_id"] == kept[1]["group_id"] == group_id_for("m", "t1") != kept[2]["group_id"]
    assert kept[0]["origin"] == f"{path}:1"
    assert kept[0]["operations"] == [{"op": "collect.jsonl", "stage": "collect", "params": '{"source": "m"}'}]
    for r in kept:
        assert validation_error("classification", {k: v for k, v in r.items() if v is not None}) is None


def test_record_ids_are_stable_and_depend_on_content_and_source(tmp_path, run_collect):
    path = write_jsonl(tmp_path / "a.jsonl", [{"prompt": "Hi  there", "response": "Hello"},
                                              {"prompt": "Hi there", "response": "Hello"}])
    a = run_collect({"name": "a", "kind": "instruction", "format": "jsonl", "path": str(path)}).read_kept()
    ids = a.column("id").to_pylist()
    assert ids[0] == ids[1]  # whitespace runs do not change the normalised content
    b = run_collect({"name": "b", "kind": "instruction", "format": "jsonl", "path": str(path)}).read_kept()
    assert b.column("id").to_pylist()[0] != ids[0]


def test_sharegpt_messages_give_prompt_response_and_system(tmp_path, run_collect):
    conv = {"conversations": [
        {"from": "system", "value": "Be brief."},
        {"from": "human", "value": "What is 2+2?"},
        {"from": "gpt", "value": "4"},
        {"from": "human", "value": "And 3+3?"},
        {"from": "gpt", "value": "6"},
    ]}
    path = write_jsonl(tmp_path / "chat.jsonl", [conv, {"conversations": [{"from": "human", "value": "hi"}]}])
    out = run_collect({"name": "chat", "kind": "instruction", "format": "jsonl", "path": str(path),
                       "fields": {"messages": "conversations"}})
    (rec,) = out.read_kept().to_pylist()
    assert (rec["prompt"], rec["response"], rec["system"]) == ("And 3+3?", "6", "Be brief.")
    assert [m["role"] for m in rec["messages"]] == ["system", "user", "assistant", "user", "assistant"]
    assert reasons_by_origin(out) == {f"{path}:2": "missing_field:response"}


def test_parquet_and_limit(tmp_path, run_collect):
    d = tmp_path / "pq"
    d.mkdir()
    pq.write_table(pa.table({"prompt": [f"q{i}" for i in range(10)], "response": ["a"] * 10}), d / "x.parquet")
    out = run_collect({"name": "p", "kind": "instruction", "format": "parquet", "path": str(d), "limit": 7})
    assert out.counts["in"] == 7 and out.counts["kept"] == 7
    assert out.read_kept().column("origin").to_pylist()[0] == f"{d / 'x.parquet'}#0"


def test_saved_hf_dataset_and_hub_code_path_on_local_files(tmp_path, run_collect):
    import datasets

    ds = datasets.DatasetDict({
        "train": datasets.Dataset.from_dict({"sentence": ["good film", "awful film"], "label": [1, 0]}),
        "test": datasets.Dataset.from_dict({"sentence": ["fine"], "label": [1]}),
    })
    ds.save_to_disk(str(tmp_path / "saved"))
    out = run_collect({"name": "sst", "kind": "classification", "format": "hf_disk", "path": str(tmp_path / "saved"),
                       "hub_split": "test", "fields": {"text": "sentence"}})
    assert [(r["text"], r["label"]) for r in out.read_kept().to_pylist()] == [("fine", "1")]

    # The hub reader is `datasets.load_dataset`; with the 'json' builder it reads local files offline.
    path = write_jsonl(tmp_path / "hub.jsonl", [{"instruction": "Say hi", "output": "hi"}, {"instruction": "x"}])
    out = run_collect({"name": "hub", "kind": "instruction", "format": "hf_hub", "hub_id": "json",
                       "hub_data_files": [str(path)], "fields": {"prompt": "instruction", "response": "output"}})
    assert out.counts["kept"] == 1 and out.counts["rejected_by_reason"] == {"missing_field:response": 1}
    assert out.read_kept().column("origin").to_pylist() == ["hub:json[train]#0"]


def test_code_tree_mines_docstring_code_pairs_keeping_comments(tmp_path, run_collect):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "mod.py").write_text(textwrap.dedent('''
        import functools

        @functools.lru_cache
        def area(w, h):
            """Area of a rectangle.

            Both sides in metres.
            """
            # multiply the sides
            return w * h


        def undocumented(x):
            return x


        def _private(x):
            """Hidden helper."""
            y = x + 1
            return y


        class Shape:
            def scale(self, k):
                """Scale the shape by k."""
                self.k = k  # remember it
                return self
    '''))
    (pkg / "sub" / "broken.py").write_text("def f(:\n    pass\n")
    (pkg / "sub" / "latin.py").write_bytes(b"s = '\xe9'\n")
    out = run_collect({"name": "code", "kind": "code", "format": "code_tree", "path": str(pkg)})
    kept = {r["prompt"]: r for r in out.read_kept().to_pylist()}
    assert set(kept) == {"Area of a rectangle.\n\nBoth sides in metres.", "Scale the shape by k."}
    area = kept["Area of a rectangle.\n\nBoth sides in metres."]
    assert area["code"] == "@functools.lru_cache\ndef area(w, h):\n    # multiply the sides\n    return w * h\n"
    assert area["language"] == "python" and json.loads(area["meta"])["qualname"] == "area"
    assert kept["Scale the shape by k."]["code"].startswith("def scale(self, k):\n    self.k = k  # remember it")
    assert reasons_by_origin(out) == {str(pkg / "sub" / "broken.py"): "syntax_error",
                                      str(pkg / "sub" / "latin.py"): "bad_utf8"}


def _email(subject: str, body: str, html: bool = False) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@example.com", "b@example.com", subject
    if html:
        msg.set_content(f"<html><body><p>{body}</p></body></html>", subtype="html")
    else:
        msg.set_content(body)
    return bytes(msg)


def test_email_files_and_mbox_with_labels_from_folders(tmp_path, run_collect):
    for label, subject, body, html in [("spam", "WIN NOW", "Claim your prize today", True),
                                       ("ham", "Meeting", "See you at ten.", False)]:
        (tmp_path / "mail" / label).mkdir(parents=True)
        (tmp_path / "mail" / label / "1.eml").write_bytes(_email(subject, body, html))
    box = mailbox.mbox(str(tmp_path / "mail" / "ham" / "more.mbox"))
    box.add(_email("Lunch", "Sandwiches at noon."))
    box.add(_email("Notes", "Minutes attached."))
    box.flush()
    (tmp_path / "mail" / "ham" / "empty.eml").write_bytes(b"")
    (tmp_path / "mail" / "ham" / "noise.eml").write_bytes(b"\n\njust some words, no headers\n")
    out = run_collect({"name": "mail", "kind": "classification", "format": "email",
                       "path": str(tmp_path / "mail"), "label_from_dir": True})
    kept = {r["text"]: r["label"] for r in out.read_kept().to_pylist()}
    assert kept == {"WIN NOW\n\nClaim your prize today": "spam", "Meeting\n\nSee you at ten.": "ham",
                    "Lunch\n\nSandwiches at noon.": "ham", "Notes\n\nMinutes attached.": "ham"}
    assert sorted(reasons_by_origin(out).values()) == ["bad_email", "empty_file"]


def test_folder_formats_shard_by_files_and_read_the_same_records(tmp_path):
    """E-mail folders and code trees are split into shards of files, like per-file formats; the
    records, their order and the rejects are those of one shard."""
    from pipeline.collect import CollectStage
    from pipeline.collect.config import CollectConfig, SourceConfig
    from pipeline.engine import run_stage
    from pipeline.store import StageStore

    for i in range(12):
        label = "spam" if i % 3 == 0 else "ham"
        (tmp_path / "mail" / label).mkdir(parents=True, exist_ok=True)
        (tmp_path / "mail" / label / f"{i:02d}.eml").write_bytes(_email(f"Subject {i}", f"Body number {i}."))
    (tmp_path / "mail" / "ham" / "empty.eml").write_bytes(b"")
    (tmp_path / "code").mkdir()
    for i in range(6):
        (tmp_path / "code" / f"m{i}.py").write_text(f'def f{i}(x):\n    """Add {i}."""\n    return x + {i}\n')
    (tmp_path / "code" / "broken.py").write_text("def f(:\n")
    sources = [SourceConfig(name="mail", kind="classification", format="email", path=str(tmp_path / "mail"),
                            label_from_dir=True),
               SourceConfig(name="code", kind="code", format="code_tree", path=str(tmp_path / "code"))]
    outs = {}
    for name, mb in (("one", 64.0), ("many", 1e-9)):
        outs[name] = run_stage(CollectStage(sources, CollectConfig(shard_mb=mb)), None,
                               StageStore(tmp_path / name), batch_size=4)
    assert len(outs["one"].parts) == 2 and len(outs["many"].parts) == 20  # one shard per file
    for read in (lambda o: o.read_kept(["id", "text", "code", "label"]).to_pylist(),
                 lambda o: o.read_rejected(["reason", "origin"]).to_pylist()):
        assert read(outs["many"]) == read(outs["one"])
    assert outs["many"].counts == outs["one"].counts and outs["one"].counts["kept"] == 18
