"""`import pipeline` and the config/record modules stay light: no heavy frameworks on import."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("datasets", "prefect", "torch", "transformers", "sentence_transformers", "pandas", "py3langid",
         "selectolax")


def test_core_modules_do_not_import_heavy_dependencies():
    code = ("import sys, pipeline, pipeline.config, pipeline.records, pipeline.store, pipeline.stage, "
            "pipeline.clean, pipeline.collect, pipeline.runner, pipeline.cli; "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "", f"heavy modules imported at import time: {loaded}"
