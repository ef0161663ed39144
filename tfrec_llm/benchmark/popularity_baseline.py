"""The most-popular baseline, evaluated exactly like a trained two-tower model.

`PopularityBaseline` scores every item by its number of training events,
the same list for every user. It has the two inference methods
`tfrec_llm.training.model_evaluation.evaluate_model` calls on a trained
`TwoTowerRecommender`, so the baseline goes through the very same
evaluation code (same test examples, exclusions, strata, history cuts,
FactorizedTopK): user embeddings are ones `[n, 1]` and item embeddings the
training popularity `[N, 1]`, hence score = popularity.

Ties: `FullCatalogEvaluator` ranks a target pessimistically, below every
other candidate with the same score. Items with equal popularity (e.g. all
cold-start items, popularity 0) therefore never help the baseline by luck.
TFRS `FactorizedTopK` breaks ties by lower item index instead (its own rule).

`train_popularity_baseline(config, output_dir, data)` mirrors
`recommender_trainer.train`: it splits the data the same way and writes
`config.json` and `metrics.json` (same shape, with an empty loss curve).
"""

import json
import os
import time

import numpy as np
import tensorflow as tf

from tfrec_llm.experiment_config import ExperimentConfig
from tfrec_llm.training.experiment_data import prepare_experiment_data
from tfrec_llm.evaluation.example_ranks import RANKS_FILE
from tfrec_llm.training.model_evaluation import evaluate_on_test
from tfrec_llm.training.trainer import CONFIG_FILE, METRICS_FILE, build_assets

POPULARITY_MODEL_SOURCE = "popularity"
"""Value of metrics["training"]["text_encoder"]: this model reads no text."""


class PopularityBaseline:
    """Recommends the items with the most training events to everybody.

    Args:
        item_popularity: `[V]` training events per item index (the index
            space of `ItemVocabulary`: padding and unknown rows included).

    Examples:
        >>> baseline = PopularityBaseline(np.array([0, 0, 3, 1]))
        >>> baseline.item_embeddings(tf.constant([2, 3])).numpy().tolist()
        [[3.0], [1.0]]
        >>> baseline.user_embeddings({"history": np.zeros((2, 5))}, None).numpy().tolist()
        [[1.0], [1.0]]
    """

    def __init__(self, item_popularity: np.ndarray):
        item_popularity = np.asarray(item_popularity)
        if item_popularity.ndim != 1 or (item_popularity < 0).any():
            raise ValueError("item_popularity must be a 1-D array of non-negative counts.")
        self.item_popularity = item_popularity
        self._item_table = tf.constant(item_popularity.astype(np.float32)[:, None])

    def item_embeddings(self, item_indices, training=None):  # pylint: disable=unused-argument
        """float32 `[..., 1]`: each item's training popularity (not normalised)."""
        return tf.gather(self._item_table, item_indices)

    def user_embeddings(self, features, item_vectors_of, training=None):  # pylint: disable=unused-argument
        """float32 `[n, 1]` ones: the history is ignored, every user gets the same list."""
        return tf.ones([tf.shape(features["history"])[0], 1], tf.float32)


def train_popularity_baseline(config: ExperimentConfig, output_dir: str, data=None) -> dict:
    """Counts training events, evaluates, writes config.json and metrics.json; returns the metrics."""
    config.validate()
    os.makedirs(output_dir, exist_ok=True)
    config.to_json_file(os.path.join(output_dir, CONFIG_FILE))
    timings = {}
    started = time.time()
    experiment = prepare_experiment_data(config, data)
    timings["data_seconds"] = time.time() - started

    started = time.time()
    catalog = experiment.data.catalog
    texts = catalog.texts(config.text.text_fields)
    no_tokens = np.zeros((experiment.vocabulary.size, 0), np.int32)  # the baseline reads no text
    assets = build_assets(experiment, texts, no_tokens, text_features=None)
    baseline = PopularityBaseline(assets.item_popularity)
    timings["text_seconds"] = 0.0
    timings["train_seconds"] = time.time() - started

    started = time.time()
    metrics = evaluate_on_test(baseline, assets, experiment, config.train, ranks_path=ranks_path(output_dir))
    timings["eval_seconds"] = time.time() - started
    return write_baseline_metrics(metrics, POPULARITY_MODEL_SOURCE, experiment, timings, output_dir)


def ranks_path(output_dir: str) -> str:
    """Where a baseline's per-example test ranks go."""
    return os.path.join(output_dir, RANKS_FILE)


def write_baseline_metrics(metrics: dict, source: str, experiment, timings: dict, output_dir: str, **extra) -> dict:
    """Adds the `training` record of an untrained baseline to `metrics` and writes metrics.json."""
    metrics["training"] = {
        "loss": [],
        "text_encoder": source,
        "text_encoder_pretrained": False,
        "trainable_variables": 0,
        "train_examples": len(experiment.train_examples),
        **extra,
        **timings,
    }
    with open(os.path.join(output_dir, METRICS_FILE), "w", encoding="utf-8") as f:
        json.dump(metrics, f, indent=2)
    return metrics
