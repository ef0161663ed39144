"""Tests for early stopping on the validation target: stops on a plateau, restores the best epoch, resumes."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from tiny_fixtures import make_built_model, make_tiny_assets, make_tiny_config, make_tiny_encoder, make_tiny_world

from tfrec_llm.evaluation import full_catalog_evaluator
from tfrec_llm.training import early_stopping
from tfrec_llm.training.early_stopping import ValidationEarlyStopping, validation_recall
from tfrec_llm.training.trainer import train

SCRIPTED_RECALLS = [0.1, 0.3, 0.2, 0.25, 0.29, 0.5, 0.6]  # best at epoch 1, then 2 epochs without a better one


@pytest.fixture(name="setup", scope="module")
def _setup(tmp_path_factory):
    config = make_tiny_config(train={"early_stopping_patience": 2})
    experiment, assets = make_tiny_assets(config, make_tiny_encoder(), tmp_path_factory.mktemp("cache"))
    return config, experiment, assets


def _fit(model, experiment, stopper, epochs=7):
    snapshots = []
    recorder = tf_keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: snapshots.append([v.numpy().copy() for v in model.trainable_variables])
    )
    features = experiment.training_features("every_position")
    dataset = tf.data.Dataset.from_tensor_slices(features).batch(32)
    history = model.fit(dataset, epochs=epochs, callbacks=[stopper, recorder], verbose=0)
    return snapshots, history


def test_stops_after_patience_epochs_and_restores_the_best_epoch(setup, tmp_path, monkeypatch):
    config, experiment, assets = setup
    scripted = iter(SCRIPTED_RECALLS)
    monkeypatch.setattr(early_stopping, "validation_recall", lambda *args: next(scripted))
    model = make_built_model(config, assets)
    stopper = ValidationEarlyStopping(experiment.validation_examples(), assets.num_index_rows, str(tmp_path), 2)
    snapshots, history = _fit(model, experiment, stopper)
    assert len(snapshots) == 4  # epochs 0-3: the best (1) then two without improvement
    assert history.history["val_recall@10"] == SCRIPTED_RECALLS[:4]
    assert not all(np.array_equal(a, b) for a, b in zip(snapshots[1], snapshots[3]))  # training moved on
    assert stopper.restore_best(model) == 1
    for variable, best in zip(model.trainable_variables, snapshots[1]):
        np.testing.assert_array_equal(variable.numpy(), best)


def test_validation_recall_scores_a_bounded_number_of_scores_at_a_time(setup, monkeypatch):
    """At 1M items 1024 examples x 1M scores would be 4 GB a copy: chunks shrink with the catalog."""
    config, experiment, assets = setup
    model = make_built_model(config, assets)
    examples = experiment.validation_examples()
    expected = validation_recall(model, assets.num_index_rows, examples)
    shapes = []
    original = early_stopping.target_ranks
    monkeypatch.setattr(
        early_stopping, "target_ranks", lambda scores, *a: shapes.append(scores.shape) or original(scores, *a)
    )
    monkeypatch.setattr(full_catalog_evaluator, "MAX_SCORES_PER_CHUNK", 3 * (assets.num_index_rows - 2))
    assert validation_recall(model, assets.num_index_rows, examples) == expected
    assert max(rows for rows, _ in shapes) == 3 and sum(rows for rows, _ in shapes) == len(examples)


def test_state_survives_a_new_callback_over_the_same_directory(setup, tmp_path, monkeypatch):
    """A resumed run (a new process, a new callback) knows the curve and the best epoch."""
    config, experiment, assets = setup
    scripted = iter(SCRIPTED_RECALLS)
    monkeypatch.setattr(early_stopping, "validation_recall", lambda *args: next(scripted))
    model = make_built_model(config, assets)
    _fit(
        model,
        experiment,
        ValidationEarlyStopping(experiment.validation_examples(), assets.num_index_rows, str(tmp_path), 2),
        epochs=2,
    )
    resumed = ValidationEarlyStopping(experiment.validation_examples(), assets.num_index_rows, str(tmp_path), 2)
    assert resumed.curve == {0: 0.1, 1: 0.3}
    assert resumed.best_epoch == 1
    resumed.reset()
    assert resumed.curve == {} and resumed.best_epoch is None


def test_validation_recall_counts_the_target_in_the_top_10_with_seen_items_excluded(setup):
    config, experiment, assets = setup
    model = make_built_model(config, assets)
    examples = experiment.validation_examples()
    value = validation_recall(model, assets.num_index_rows, examples)
    assert 0.0 <= value <= 1.0
    # With every item but the target excluded, the target is always first.
    everything = np.arange(assets.num_index_rows)
    examples.seen_items = np.concatenate([everything[everything != t] for t in examples.target]).astype(np.int32)
    bounds = np.arange(len(examples) + 1) * (assets.num_index_rows - 1)
    examples.seen_bounds = np.stack([bounds[:-1], bounds[1:]], axis=1)
    assert validation_recall(model, assets.num_index_rows, examples) == 1.0


def test_validation_targets_are_held_out_of_training(setup):
    _, experiment, _ = setup
    held_out = experiment.split.train.select(np.flatnonzero(experiment.validation))
    assert len(held_out) == len(np.unique(experiment.split.train.user_ids[experiment.validation]))  # one per user
    sequences = experiment.training_features("every_position")
    total_targets = int((sequences["next_items"] != 0).sum())
    kept = experiment.split.train.select(np.flatnonzero(~experiment.validation))
    assert total_targets == len(kept) - len(np.unique(kept.user_ids))


def test_train_reports_the_curve_and_the_best_epoch(tmp_path):
    config = make_tiny_config(train={"epochs": 3, "early_stopping_patience": 5})
    metrics = train(config, str(tmp_path / "model"), data=make_tiny_world())
    curve = metrics["training"]["validation_recall@10"]
    assert len(curve) == metrics["training"]["epochs_run"] == 3
    assert metrics["training"]["best_epoch"] == int(np.argmax(curve)) + 1
