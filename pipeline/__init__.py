"""curate: a data-curation and augmentation pipeline for supervised fine-tuning data.

The package is a library of pure stages over Arrow batches. Importing it stays cheap:
heavy dependencies (datasets, prefect, model code) are imported where they are used.
"""

__version__ = "0.1.0"
