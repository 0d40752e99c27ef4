"""Imported first by the benches: the project root on sys.path (the bench folder is there
already, as the script's own folder), offline model hubs, idle OpenMP threads that sleep
instead of spinning while another process is measured, and no library load reports or
weight-loading progress bars between the figures."""

import os
import sys
from pathlib import Path

for name, value in (("OMP_WAIT_POLICY", "PASSIVE"), ("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"),
                    ("TRANSFORMERS_VERBOSITY", "error"), ("HF_HUB_DISABLE_PROGRESS_BARS", "1")):
    os.environ.setdefault(name, value)
ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
