"""Tests for the plateau learning rate: Keras' rule, replayed from the saved curve, so resumed runs match."""

import csv
import os

import numpy as np
import pytest
import tf_keras
from tiny_fixtures import make_tiny_config, make_tiny_world

from tfrec_llm.experiment_config import ConfigError
from tfrec_llm.training import early_stopping
from tfrec_llm.training.plateau_learning_rate import PlateauLearningRate, plateau_learning_rate
from tfrec_llm.training.trainer import TRAINING_LOG_FILE, train

CURVE = [0.10, 0.20, 0.20, 0.15, 0.25, 0.24, 0.23, 0.22, 0.21, 0.30, 0.30]


def _keras_rates(curve, base_rate, factor, patience):
    """The rate Keras' own ReduceLROnPlateau sets for each epoch, fed the same curve."""
    model = tf_keras.Sequential([tf_keras.layers.Dense(1)])
    model.compile(optimizer=tf_keras.optimizers.Adam(base_rate), loss="mse")
    callback = tf_keras.callbacks.ReduceLROnPlateau(
        monitor="val_recall@10", mode="max", factor=factor, patience=patience, min_delta=0, min_lr=0
    )
    callback.set_model(model)
    callback.on_train_begin()
    rates = [base_rate]
    for epoch, value in enumerate(curve):
        callback.on_epoch_end(epoch, {"val_recall@10": value})
        rates.append(float(tf_keras.backend.get_value(model.optimizer.learning_rate)))
    return rates


@pytest.mark.parametrize("factor, patience", [(0.5, 1), (0.5, 2), (0.3, 3)])
def test_the_rate_follows_keras_reduce_lr_on_plateau_epoch_by_epoch(factor, patience):
    expected = _keras_rates(CURVE, 2e-3, factor, patience)
    rates = [plateau_learning_rate(CURVE[:epoch], 2e-3, factor, patience) for epoch in range(len(CURVE) + 1)]
    np.testing.assert_allclose(rates, expected, rtol=1e-6)
    assert rates[-1] < rates[0]  # the curve has plateaus: the rate did drop


class _SavedCurve:
    """Stands in for `ValidationEarlyStopping`: its `curve` as read back from disk."""

    def __init__(self, curve):
        self.curve = dict(enumerate(curve))


def _optimizer_rate_at(epoch, saved_curve):
    model = tf_keras.Sequential([tf_keras.layers.Dense(1)])
    model.compile(optimizer=tf_keras.optimizers.Adam(2e-3), loss="mse")
    callback = PlateauLearningRate(_SavedCurve(saved_curve), 2e-3, 0.5, 2)
    callback.set_model(model)
    callback.on_epoch_begin(epoch)
    return float(tf_keras.backend.get_value(model.optimizer.learning_rate))


def test_a_resumed_run_trains_each_epoch_at_the_uninterrupted_runs_rate():
    """A new process (new callback, new optimizer at the base rate) resuming at epoch 8 sets the drops of epochs 0-7."""
    uninterrupted = _keras_rates(CURVE[:8], 2e-3, 0.5, 2)[8]
    assert uninterrupted < 2e-3
    assert _optimizer_rate_at(8, CURVE) == pytest.approx(uninterrupted)  # later epochs of the file are ignored


def test_bad_settings_get_clear_errors():
    with pytest.raises(ConfigError, match="learning_rate_decay must be in"):
        make_tiny_config(train={"learning_rate_decay": 0.0}).validate()
    with pytest.raises(ConfigError, match="learning_rate_decay_patience must be >= 1"):
        make_tiny_config(train={"learning_rate_decay_patience": 0}).validate()
    with pytest.raises(ValueError, match="factor must be in"):
        PlateauLearningRate(_SavedCurve([]), 1e-3, 1.5, 2)


def _logged_rates(model_dir):
    with open(os.path.join(model_dir, TRAINING_LOG_FILE), encoding="utf-8") as f:
        return [float(row["lr"]) for row in csv.DictReader(f)]


def test_train_lowers_the_rate_after_a_plateau_and_logs_it(tmp_path, monkeypatch):
    scripted = iter([0.1, 0.3, 0.2, 0.2, 0.4, 0.3, 0.3])
    monkeypatch.setattr(early_stopping, "validation_recall", lambda *args: next(scripted))
    config = make_tiny_config(
        train={"epochs": 7, "early_stopping_patience": 5, "learning_rate_decay": 0.5, "learning_rate_decay_patience": 2}
    )
    base = config.train.learning_rate
    train(config, str(tmp_path / "model"), data=make_tiny_world())
    np.testing.assert_allclose(
        _logged_rates(tmp_path / "model"), [base, base, base, base, base / 2, base / 2, base / 2], rtol=1e-6
    )


def test_the_default_keeps_a_constant_rate(tmp_path):
    config = make_tiny_config(train={"epochs": 3, "early_stopping_patience": 5})
    assert config.train.learning_rate_decay == 1
    train(config, str(tmp_path / "model"), data=make_tiny_world())
    with open(os.path.join(tmp_path / "model", TRAINING_LOG_FILE), encoding="utf-8") as f:
        assert "lr" not in next(csv.reader(f))  # no rate callback at all
