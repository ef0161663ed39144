"""Tests for dropout whose masks a resumed run draws again."""

import numpy as np
import tensorflow as tf

from layer_checks import run_config_round_trip
from tfrec_llm.models.stateless_dropout import StatelessDropout


def test_masks_follow_the_checkpointed_call_counter(tmp_path):
    x = tf.ones([200, 50])
    first = StatelessDropout(0.3, seed=1)
    masks = [first(x, training=True).numpy() for _ in range(3)]
    assert not np.array_equal(masks[0], masks[1])
    assert abs((masks[0] == 0).mean() - 0.3) < 0.02
    np.testing.assert_allclose(masks[0][masks[0] > 0], 1 / 0.7, rtol=1e-6)
    # A "resumed" layer restored at call 1 draws the second and third masks again.
    resumed = StatelessDropout(0.3, seed=1)
    tf.train.Checkpoint(layer=resumed).read(tf.train.Checkpoint(layer=_at_call(1)).write(str(tmp_path / "ckpt")))
    np.testing.assert_array_equal(resumed(x, training=True).numpy(), masks[1])
    np.testing.assert_array_equal(resumed(x, training=True).numpy(), masks[2])


def _at_call(calls):
    layer = StatelessDropout(0.3, seed=1)
    layer.calls.assign(calls)
    return layer


def test_inference_and_zero_rate_pass_inputs_through():
    x = tf.random.normal([4, 3])
    np.testing.assert_array_equal(StatelessDropout(0.5, seed=0)(x).numpy(), x.numpy())
    np.testing.assert_array_equal(StatelessDropout(0.0, seed=0)(x, training=True).numpy(), x.numpy())


def test_config_round_trip():
    run_config_round_trip(StatelessDropout(0.2, seed=5))
