"""Write a data version for other tools: a Hugging Face DatasetDict, JSONL and Parquet, and its card.

On disk, everything is written into a hidden folder beside the destination and renamed into
place at the end, so an interrupted export leaves no half-written dataset. To the Hub, the
DatasetDict is pushed to a branch named by the data version (`revision`), with its card.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.catalog import Catalog
from pipeline.export.card import card_text
from pipeline.export.formats import Format, formatted, resolve_format
from pipeline.export.version import SPLITS, ExportError, load_version, resolve

FILES = ("jsonl", "parquet")


@dataclass
class Exported:
    version: str
    task: str
    format: str
    counts: dict[str, int]
    out: Path | None  # the folder written, when written to disk
    pushed: str | None  # the Hub repo and revision, when pushed


def _dataset_dict(rows: dict[str, list[dict[str, Any]]]) -> Any:
    from datasets import Dataset, DatasetDict

    return DatasetDict({s: Dataset.from_list(r) for s, r in rows.items()})


def _write_folder(tmp: Path, dd: Any, rows: dict[str, list[dict[str, Any]]],
                  files: tuple[str, ...]) -> dict[str, list[str]]:
    dd.save_to_disk(str(tmp / "dataset"))
    written: dict[str, list[str]] = {}
    for kind in files:
        (tmp / kind).mkdir()
        written[kind] = []
        for split in SPLITS:
            path = tmp / kind / f"{split}.{kind}"
            if kind == "jsonl":
                path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows[split]))
            else:
                dd[split].to_parquet(str(path))
            written[kind].append(f"{kind}/{split}.{kind}")
    return written


def export_version(run_dir: str | Path, dest: str | Path | None, *, ref: str | None = None, task: str | None = None,
                   fmt: Format = "auto", files: tuple[str, ...] = FILES, push_to: str | None = None,
                   private: bool | None = None, token: str | None = None) -> Exported:
    """Export one data version to `dest` (a folder that must not exist or be empty) and/or push it."""
    if dest is None and push_to is None:
        raise ExportError("nothing to do: give an output folder (--out) or a Hub repo (--push)")
    run_dir = Path(run_dir)
    dv = load_version(run_dir, resolve(run_dir, ref, task))
    chosen = resolve_format(dv.kind, fmt)
    rows = {s: formatted(dv.splits[s], chosen) for s in SPLITS}
    dd = _dataset_dict(rows)
    catalog = Catalog(run_dir)
    counts = {s: len(rows[s]) for s in SPLITS}
    out = None
    if dest is not None:
        out = Path(dest)
        if out.exists() and any(out.iterdir()):
            raise ExportError(f"{out} exists and is not empty: choose another --out or remove it")
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            written = _write_folder(tmp, dd, rows, files)
            (tmp / "README.md").write_text(card_text(catalog, dv, chosen, written))
            if out.exists():
                out.rmdir()
            tmp.rename(out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    pushed = None
    if push_to is not None:
        pushed = _push(dd, card_text(catalog, dv, chosen, {"parquet": [f"data/{s}-*" for s in SPLITS]}), push_to,
                       dv.version, private, token)
    return Exported(dv.version, dv.task, chosen, counts, out, pushed)


def _push(dd: Any, card: str, repo_id: str, revision: str, private: bool | None, token: str | None) -> str:
    """The DatasetDict and its card to `repo_id` on the branch `revision` (created if missing)."""
    from huggingface_hub import DatasetCard

    try:
        dd.push_to_hub(repo_id, revision=revision, private=private, token=token,
                       commit_message=f"curate: data version {revision}")
        DatasetCard(card).push_to_hub(repo_id, revision=revision, token=token,
                                      commit_message=f"curate: card of data version {revision}")
    except Exception as exc:  # network, authentication, offline mode, a bad repo id: all the user's to fix
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"push to the Hub repo {repo_id!r} failed ({first}): check the repo id, your token "
                          f"(HF_TOKEN or `hf auth login`) and that the Hub is reachable") from exc
    return f"{repo_id}@{revision}"
