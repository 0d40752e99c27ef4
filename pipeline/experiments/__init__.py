"""Experiments: train configured tasks on split data, ablations over pipeline stages, comparisons."""
