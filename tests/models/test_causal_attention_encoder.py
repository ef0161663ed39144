"""Tests for the causal self-attention encoder (its causality is tested through the user tower)."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from layer_checks import run_config_round_trip
from tfrec_llm.models.causal_attention_encoder import CausalAttentionEncoder


def test_padding_never_changes_real_positions():
    tf_keras.utils.set_random_seed(0)
    encoder = CausalAttentionEncoder(units=8, max_length=5)
    vectors = np.random.default_rng(0).normal(size=(1, 5, 4)).astype(np.float32)
    mask = np.array([[True, True, True, False, False]])
    expected = encoder(tf.constant(vectors), tf.constant(mask)).numpy()
    changed = vectors.copy()
    changed[0, 3:] = 50.0
    np.testing.assert_allclose(
        encoder(tf.constant(changed), tf.constant(mask)).numpy()[:, :3], expected[:, :3], rtol=1e-5, atol=1e-6
    )


def test_longer_than_max_length_is_a_clear_error():
    encoder = CausalAttentionEncoder(units=8, max_length=2)
    with pytest.raises(tf.errors.InvalidArgumentError, match="max_length"):
        encoder(tf.zeros([1, 3, 4]), tf.ones([1, 3], tf.bool))


def test_config_round_trip():
    run_config_round_trip(CausalAttentionEncoder(units=8, max_length=5, num_blocks=1, num_heads=4, dropout=0.3))
