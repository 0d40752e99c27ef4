"""A self-contained HTML page for one run, read at a glance: where records went, whether each
stage helped (with intervals and random controls), where the model is weak, and the models."""

from pipeline.report.arms import MAIN_METRICS, main_metric
from pipeline.report.page import REPORT_FILE, render, write_report

__all__ = ["MAIN_METRICS", "REPORT_FILE", "main_metric", "render", "write_report"]
