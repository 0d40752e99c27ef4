"""Workflows: what runs the pipeline's steps and does something with the result.

The runner (`pipeline.runner`) drives the step list; the workflows here call it, so the
library below them (stages, primitives, clients) never does: review in Label Studio
(`review`: push the current data, retrain on the annotations), the ablation (`ablation`) and
the planted-defect benchmark (`planted_defects`: plant known defects, run the pipeline, score it).
"""
