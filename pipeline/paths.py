"""Where the project's own files live."""

from pathlib import Path

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"
