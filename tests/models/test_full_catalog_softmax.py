"""Tests for the full-catalog softmax retrieval task."""

import numpy as np
import tensorflow as tf

from layer_checks import run_config_round_trip
from tfrec_llm.models.full_catalog_softmax import FullCatalogSoftmax


def test_loss_is_the_cross_entropy_over_the_unmasked_candidates_by_hand():
    queries = np.array([[1.0, 0.0], [0.0, 2.0]], np.float32)
    candidates = np.array([[9.0, 9.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], np.float32)
    mask = np.array([False, True, True, True])  # candidate 0 (padding) is never a class
    targets = np.array([1, 3])
    loss = FullCatalogSoftmax(temperature=0.5)(queries, candidates, targets, tf.constant(mask)).numpy()
    logits = queries @ candidates[1:].T / 0.5
    expected = -np.log(np.exp(logits[np.arange(2), targets - 1]) / np.exp(logits).sum(axis=1))
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


def test_gradients_push_every_candidate_not_only_the_batch():
    queries = tf.Variable([[1.0, 0.0]])
    candidates = tf.Variable(np.eye(2, dtype=np.float32)[[0, 1, 0, 1]])
    with tf.GradientTape() as tape:
        loss = FullCatalogSoftmax()(queries, candidates, tf.constant([1]), tf.constant([True] * 4))
    gradient = tape.gradient(loss, candidates).numpy()
    assert np.all(np.abs(gradient).sum(axis=1) > 0)


def test_config_round_trip():
    run_config_round_trip(FullCatalogSoftmax(temperature=0.07))
