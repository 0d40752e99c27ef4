"""The cleaning stage: normalisation, PII redaction, quality and language scores, filters.

Importing this package stays light: selectolax and py3langid are imported where they are
used (HTML stripping, `CleanStage.setup()`), not here.
"""

from pipeline.clean.stage import RESERVED_COLUMNS, SCORE_COLUMNS, CleanStage

__all__ = ["CleanStage", "SCORE_COLUMNS", "RESERVED_COLUMNS"]
