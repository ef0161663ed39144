"""Mixed precision: float16 towers train through a loss-scale optimizer; losses stay float32."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from tiny_fixtures import first_batch, make_tiny_assets, make_tiny_config, make_tiny_encoder

from tfrec_llm.training.model_building import build_model, make_optimizer
from tfrec_llm.training.trainer import build_variables

# Small enough that d(loss)/d(user vector) (~1e-8) rounds to zero in float16 (smallest subnormal ~6e-8).
TINY_LOSS_FACTOR = 1e-8


def _user_tower_update(config, assets, batch, optimizer):
    """How far one train_step of a loss scaled by TINY_LOSS_FACTOR moves the user tower's variables."""
    tf_keras.utils.set_random_seed(0)
    model = build_model(config, assets)
    build_variables(model, assets, config)
    model.compile(optimizer=optimizer)
    full_loss = model.compute_loss
    model.compute_loss = lambda features, training=False: full_loss(features, training) * TINY_LOSS_FACTOR
    before = [v.numpy().copy() for v in model.user_tower.trainable_variables]
    model.train_step(batch)
    return max(float(np.abs(v.numpy() - b).max()) for v, b in zip(model.user_tower.trainable_variables, before))


@pytest.fixture(scope="module")
def float16_world(tmp_path_factory):
    config = make_tiny_config(train={"mixed_precision": True})
    experiment, assets = make_tiny_assets(config, make_tiny_encoder(), tmp_path_factory.mktemp("mp"))
    return config, assets, first_batch(experiment.train_examples)


def test_float16_towers_get_a_loss_scale_optimizer_and_bfloat16_and_float32_none():
    assert isinstance(
        make_optimizer(make_tiny_config(train={"mixed_precision": True})), tf_keras.mixed_precision.LossScaleOptimizer
    )
    for train in ({"mixed_precision": True, "strategy": "tpu"}, {"mixed_precision": False}):
        optimizer = make_optimizer(make_tiny_config(train=train))
        assert not isinstance(optimizer, tf_keras.mixed_precision.LossScaleOptimizer)
        assert isinstance(optimizer, tf_keras.optimizers.Adam)


def test_a_tiny_gradient_underflows_in_float16_without_loss_scaling(float16_world):
    config, assets, batch = float16_world
    assert _user_tower_update(config, assets, batch, tf_keras.optimizers.Adam(0.01)) == 0.0


def test_a_tiny_gradient_survives_float16_with_the_loss_scale_optimizer(float16_world):
    config, assets, batch = float16_world
    moved = _user_tower_update(config, assets, batch, make_optimizer(config))
    float32 = make_tiny_config(train={"mixed_precision": False})
    reference = _user_tower_update(float32, assets, batch, make_optimizer(float32))
    assert reference > 0
    # Adam's step depends on the gradient's size (epsilon 1e-7): the same step means the same gradient.
    assert moved == pytest.approx(reference, rel=0.2)


def test_the_loss_stays_float32_under_loss_scaling(float16_world):
    config, assets, batch = float16_world
    model = build_model(config, assets)
    build_variables(model, assets, config)
    model.compile(optimizer=make_optimizer(config))
    logs = model.train_step(batch)
    assert logs["loss"].dtype == tf.float32 and np.isfinite(logs["loss"].numpy())
