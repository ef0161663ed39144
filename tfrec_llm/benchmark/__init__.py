"""Baselines against the model on one split: the runner, popularity and linear baselines, plots, serving latency."""
