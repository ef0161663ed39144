"""Tests for the causal self-attention encoder (its causality is tested through the user tower)."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from layer_checks import run_config_round_trip
from tfrec_llm.models.causal_attention_encoder import CausalAttentionEncoder
from tfrec_llm.models.stateless_dropout import StatelessDropout


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
    restored = run_config_round_trip(
        CausalAttentionEncoder(units=8, max_length=5, attention_dropout=0.5, feed_forward_multiplier=4)
    )
    assert (restored.attention_dropout, restored.feed_forward_multiplier) == (0.5, 4)


def _encode(encoder, training):
    vectors = np.random.default_rng(1).normal(size=(2, 5, 4)).astype(np.float32)
    return encoder(tf.constant(vectors), tf.ones([2, 5], tf.bool), training=training).numpy()


def test_feed_forward_inner_width_is_the_multiplier_times_units():
    encoder = CausalAttentionEncoder(units=8, max_length=5, feed_forward_multiplier=4)
    _encode(encoder, training=False)
    for block in encoder.blocks:
        assert block.feed_forward_in.kernel.shape == (8, 32)
        assert block.feed_forward_out.kernel.shape == (32, 8)
    default = CausalAttentionEncoder(units=8, max_length=5)
    _encode(default, training=False)
    assert default.blocks[0].feed_forward_in.kernel.shape == (8, 8)


def test_attention_weight_dropout_acts_in_training_only_and_is_stateless():
    tf_keras.utils.set_random_seed(0)
    no_dropout = CausalAttentionEncoder(units=8, max_length=5, dropout=0.0)
    np.testing.assert_allclose(_encode(no_dropout, True), _encode(no_dropout, False), rtol=1e-5, atol=1e-6)
    encoder = CausalAttentionEncoder(units=8, max_length=5, dropout=0.0, attention_dropout=0.5)
    inference = _encode(encoder, False)
    first = _encode(encoder, True)
    assert not np.allclose(first, inference, atol=1e-4)  # only the attention weights were dropped
    second = _encode(encoder, True)
    assert not np.allclose(second, first, atol=1e-4)  # a new mask at each call...
    for block in encoder.blocks:  # ...keyed on a checkpointed counter: a resumed run draws the same masks
        assert isinstance(block.attention._dropout_layer, StatelessDropout)
        block.attention._dropout_layer.calls.assign(0)
    np.testing.assert_allclose(_encode(encoder, True), first, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"attention_dropout": 1.0}, "attention_dropout must be in"),
        ({"attention_dropout": -0.1}, "attention_dropout must be in"),
        ({"feed_forward_multiplier": 0}, "feed_forward_multiplier must be an integer >= 1"),
        ({"feed_forward_multiplier": 1.5}, "feed_forward_multiplier must be an integer >= 1"),
    ],
)
def test_bad_dropout_or_multiplier_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CausalAttentionEncoder(units=8, max_length=5, **kwargs)
