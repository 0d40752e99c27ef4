"""Experiment tracking: every trained model as an MLflow run, and a champion per task.

The catalog stays the run directory's local index; MLflow is where runs from many run
directories and machines meet, and where the model that selects and pre-annotates is chosen.
Nothing here imports mlflow at import time.
"""

from pipeline.tracking.config import TrackingConfig, TrackingError

__all__ = ["TrackingConfig", "TrackingError"]
