"""The report of a real ablation run, opened in headless Chromium: every image loads, nothing
overlaps or spills sideways, the questions come in order, and a full-page screenshot is saved.

Chromium is Debian's package, installed by scripts/install_chromium.sh when the test runs."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from pipeline.config import parse_config
from pipeline.runner import run_pipeline
from tests.report.chromium import chromium, probe, screenshot
from tests.report.tickets import tickets_config, write_tickets

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]
WIDTH = 1280  # a laptop's browser window, in CSS pixels


@pytest.fixture(scope="module")
def browser() -> str:
    found = chromium()
    if found is None:
        if os.geteuid() != 0:
            # Not a skip: a report no browser opened is not a report known to load.
            pytest.fail("chromium is missing and installing it needs root: run scripts/install_chromium.sh as root")
        pytest.fail("scripts/install_chromium.sh ran as root but left no chromium on PATH")
    return found


@pytest.fixture(scope="module")
def ablation_run(tmp_path_factory) -> Path:
    """Collect, clean, dedup and augment templated tickets, and an ablation of every stage with
    two seeds and random controls (14 small MiniLM trainings, about a minute on 2 cores)."""
    d = tmp_path_factory.mktemp("browser")
    write_tickets(d / "tickets.jsonl")
    run_pipeline(parse_config(tickets_config(d, seeds=2)), only_ablation=True)
    return d / "run"


def test_report_opens_in_a_browser_with_every_image_loaded(browser, ablation_run, tmp_path):
    page = ablation_run / "report.html"
    seen = probe(browser, page, tmp_path, WIDTH)
    images = seen["images"]
    # Funnel, reject reasons, the interval plot, four confusion matrices, lengths.
    assert len(images) >= 8, [i["alt"] for i in images]
    broken = [i["alt"] for i in images if not (i["complete"] and i["naturalWidth"] > 0 and i["naturalHeight"] > 0)]
    assert broken == []
    assert all(i["width"] >= 150 for i in images), [(i["alt"], i["width"]) for i in images]  # none squashed
    assert seen["overlaps"] == []
    assert seen["pageWidth"] <= seen["viewport"]  # the page never scrolls sideways
    assert seen["cutTables"] == []  # and no table is wider than its box
    assert seen["h2"][:4] == ["Where did records go", "Did each stage help?", "Where is the model weak?", "Models"]
    confusions = [i["alt"].removeprefix("confusion matrix of ") for i in images if i["alt"].startswith("confusion")]
    assert confusions == ["raw", "cleaned", "deduped", "augmented"]  # side by side, pipeline order

    png = screenshot(browser, page, tmp_path / "report.png", WIDTH, seen["pageHeight"])
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
    assert struct.unpack(">II", data[16:24]) == (WIDTH, seen["pageHeight"])  # the whole page
    print(f"screenshot: {png}")
