"""A peer's own virtual environment for the benches that race it: made with `python -m venv`, filled
from PyPI with pinned versions, reused while what it holds matches the pins. Nothing in it is a
dependency of the project, and nothing of the project is installed in it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PIP_TIMEOUT_S = 1800
# The venv the n-gram and MinHash peers share (bench/dedup_peers.py, bench/decontam_ngram.py): the
# peers, and the libraries their results depend on most.
PEERS_VENV = Path.home() / ".cache" / "curate" / "bench" / "peers-venv"
PEER_PINS = {
    "datasketch": "2.0.0",
    "xxhash": "3.8.2",
    # io: orjson for its JSONL reader and writer, pyarrow for its Parquet ones; processing: regex,
    # which its text utilities import
    "datatrove[io,processing]": "0.10.1",
    # datatrove's English word tokenizer (spaCy's rule-based one; its n-gram decontamination)
    "spacy": "3.8.18",
    "text-dedup": "0.4.0",
    "datasets": "5.2.0",
    "numpy": "2.4.6",
}


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def installed_versions(python: Path, names: list[str]) -> dict[str, str | None]:
    """The installed version of each distribution (None where it is missing)."""
    code = ("import json, importlib.metadata as m\n"
            "def v(n):\n"
            "    try: return m.version(n)\n"
            "    except m.PackageNotFoundError: return None\n"
            f"print(json.dumps({{n: v(n) for n in {names!r}}}))")
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def ensure_venv(venv: Path, pins: dict[str, str]) -> tuple[dict[str, str | None], str | None]:
    """The venv with `pins` ({"name[extras]": version}) installed: (versions, None), or (versions,
    why it could not be made) so that a bench can report the peer as unavailable and go on."""
    python = venv_python(venv)
    names = [spec.split("[")[0] for spec in pins]
    try:
        if not python.exists():
            base = getattr(sys, "_base_executable", sys.executable)
            print(f"[creating {venv} with {base} -m venv]", flush=True)
            subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=300)
        versions = installed_versions(python, names)
        wanted = {spec.split("[")[0]: v for spec, v in pins.items()}
        if versions != wanted:
            specs = [f"{spec}=={v}" for spec, v in pins.items()]
            print(f"[pip install {' '.join(specs)} into {venv} (up to {PIP_TIMEOUT_S} s)]", flush=True)
            done = subprocess.run([str(python), "-m", "pip", "install", *specs], capture_output=True, text=True,
                                  timeout=PIP_TIMEOUT_S)
            if done.returncode != 0:
                return versions, "pip install failed: " + last_line(done.stderr or done.stdout)
            versions = installed_versions(python, names)
        return versions, None
    except (subprocess.SubprocessError, OSError) as err:
        return {}, f"{type(err).__name__}: {err}"


def last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "(no output)"
