"""Planted-defect benchmark: plant known defects into clean data, run the pipeline, score each stage and the model."""
