"""Weight averaging: the moving average Keras keeps is what validation scores, early stopping keeps, fit ends on."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from tiny_fixtures import make_built_model, make_tiny_assets, make_tiny_config, make_tiny_encoder

from tfrec_llm.experiment_config import ConfigError
from tfrec_llm.training import early_stopping
from tfrec_llm.training.early_stopping import ValidationEarlyStopping
from tfrec_llm.training.model_building import make_optimizer
from tfrec_llm.training.weight_averaging import averaged_weights, uses_weight_averaging

MOMENTUM = 0.5
SCRIPTED_RECALLS = [0.1, 0.3, 0.2, 0.25]  # best at epoch 1


def _values(model):
    return [variable.numpy().copy() for variable in model.trainable_variables]


def _linear_model(momentum):
    model = tf_keras.Sequential([tf_keras.layers.Dense(2, input_shape=(3,))])
    model.compile(optimizer=make_optimizer(make_tiny_config(train={"weight_average_momentum": momentum})), loss="mse")
    return model


def _fit_linear(model, steps=4):
    """Fits one batch per step; returns the weights before training and after each step."""
    rng = np.random.default_rng(0)
    inputs, targets = rng.normal(size=(4 * steps, 3)), rng.normal(size=(4 * steps, 2))
    weights = [_values(model)]
    record = tf_keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: weights.append(_values(model)))
    model.fit(inputs, targets, batch_size=4, epochs=1, shuffle=False, callbacks=[record], verbose=0)
    return weights


def test_training_ends_on_the_moving_average_of_every_step_and_the_block_swaps_it_in_and_out():
    model = _linear_model(MOMENTUM)
    assert uses_weight_averaging(model)
    with averaged_weights(model):  # before any step: nothing averaged, nothing changed
        pass
    weights = _fit_linear(model)
    expected = weights[0]
    for step in weights[1:]:
        expected = [MOMENTUM * a + (1 - MOMENTUM) * w for a, w in zip(expected, step)]
    for variable, value in zip(model.trainable_variables, expected):  # Keras wrote the averages when fit ended
        np.testing.assert_allclose(variable.numpy(), value, rtol=1e-5, atol=1e-6)
    last_step = weights[-1]
    assert not np.allclose(last_step[0], expected[0])
    for variable, value in zip(model.trainable_variables, last_step):  # as during training: the step's weights
        variable.assign(value)
    with averaged_weights(model):
        for variable, value in zip(model.trainable_variables, expected):
            np.testing.assert_allclose(variable.numpy(), value, rtol=1e-5, atol=1e-6)
    for variable, value in zip(model.trainable_variables, last_step):
        np.testing.assert_array_equal(variable.numpy(), value)


def test_without_averaging_the_block_changes_nothing():
    model = _linear_model(0.0)
    assert not uses_weight_averaging(model)
    _fit_linear(model)
    trained = _values(model)
    with averaged_weights(model):
        for variable, value in zip(model.trainable_variables, trained):
            np.testing.assert_array_equal(variable.numpy(), value)


def test_early_stopping_scores_and_restores_the_averaged_weights(tmp_path, monkeypatch):
    config = make_tiny_config(train={"weight_average_momentum": MOMENTUM})
    experiment, assets = make_tiny_assets(config, make_tiny_encoder(), tmp_path / "cache")
    model = make_built_model(config, assets)
    model.compile(optimizer=make_optimizer(config))
    scored, scripted = [], iter(SCRIPTED_RECALLS)
    monkeypatch.setattr(early_stopping, "validation_recall", lambda m, *a: scored.append(_values(m)) or next(scripted))
    stopper = ValidationEarlyStopping(experiment.validation_examples(), assets.num_index_rows, str(tmp_path / "es"), 2)
    averaged, trained = [], []

    def snapshot(epoch, logs):
        trained.append(_values(model))
        with averaged_weights(model):
            averaged.append(_values(model))

    dataset = tf.data.Dataset.from_tensor_slices(experiment.training_features("every_position")).batch(32)
    callbacks = [stopper, tf_keras.callbacks.LambdaCallback(on_epoch_end=snapshot)]
    model.fit(dataset, epochs=len(SCRIPTED_RECALLS), callbacks=callbacks, verbose=0)
    for epoch in range(len(SCRIPTED_RECALLS)):
        for value, expected in zip(scored[epoch], averaged[epoch]):
            np.testing.assert_array_equal(value, expected)  # validation scored the averages...
        assert not all(np.array_equal(a, t) for a, t in zip(averaged[epoch], trained[epoch]))  # ...not the last step
    assert stopper.restore_best(model) == 1
    for variable, expected in zip(model.trainable_variables, averaged[1]):
        np.testing.assert_array_equal(variable.numpy(), expected)


@pytest.mark.parametrize("momentum", [-0.1, 1.0])
def test_a_momentum_outside_0_1_is_a_config_error(momentum):
    with pytest.raises(ConfigError, match=r"train.weight_average_momentum must be in \[0, 1\)"):
        make_tiny_config(train={"weight_average_momentum": momentum}).validate()
