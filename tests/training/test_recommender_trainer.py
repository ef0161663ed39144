"""End-to-end tests of `train` on the tiny topic world.

The session fixture `trained_model_dir` trains once (frozen text); the tests
read its model directory. The resume test trains its own model, interrupted.
"""

import io
import json
import os
import sys

import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from tiny_fixtures import TRAINED_MODEL_EPOCHS, make_built_model, make_tiny_config, make_tiny_world

from tfrec_llm.evaluation.example_ranks import ExampleRanks
from tfrec_llm.experiment_config import ExperimentConfig
from tfrec_llm.training.experiment_data import prepare_experiment_data, vocabularies_from_assets
from tfrec_llm.training.model_assets import ModelAssets
from tfrec_llm.training.model_evaluation import evaluate_model
from tfrec_llm.training.resume import BackupConfigError
from tfrec_llm.training.trainer import train
from tfrec_llm.training.trained_model import TrainedModel

RESUME_EPOCHS = 2
RESUME_BACKUP_EVERY = 3
RESUME_STOP_AFTER = 16  # batches: in epoch 2 of 2 (10 batches of 8 sequences per epoch)


def _test_examples(config, assets):
    vocabulary, context = vocabularies_from_assets(assets)
    return prepare_experiment_data(config, make_tiny_world(), vocabulary, context).test_examples


def test_train_writes_a_complete_model_directory(trained_model_dir):
    directory, metrics = trained_model_dir
    for name in (
        "config.json",
        "assets.npz",
        "metrics.json",
        "checkpoint/model.index",
        "text_encoder/tfrec_llm_encoder.json",
        "text_encoder/config.json",
    ):
        assert os.path.exists(os.path.join(directory, name)), name
    with open(os.path.join(directory, "metrics.json"), encoding="utf-8") as f:
        assert json.load(f) == json.loads(json.dumps(metrics))
    config = ExperimentConfig.from_json_file(os.path.join(directory, "config.json"))
    # The config as given, the empty-history answer resolved ("validation" -> the answer kept).
    given = make_tiny_config(train={"epochs": TRAINED_MODEL_EPOCHS})
    assert given.model.empty_history_answer == "validation"
    assert config == given.updated({"model": {"empty_history_answer": "popularity"}})
    # A finished run leaves no backup behind: rerunning must not "resume" a finished run.
    assert tf.train.latest_checkpoint(os.path.join(directory, "backup", "chief")) is None
    training = metrics["training"]
    assert (training["text_encoder"], training["text_encoder_pretrained"]) == ("fallback", False)
    assert training["train_examples"] > 0


def test_train_writes_each_test_examples_rank_and_they_give_the_reported_metrics(trained_model_dir):
    directory, metrics = trained_model_dir
    ranks = ExampleRanks.load(os.path.join(directory, "test_ranks.npz"))
    assert len(ranks.user_ids) == metrics["overall"]["n"]
    for place, reported in [("overall", metrics["overall"]), ("sparse_users", metrics["strata"]["sparse_users"])]:
        values, mask = ranks.values_at(place, "recall@10")
        assert mask.sum() == reported["n"] > 0
        assert values[mask].mean() == pytest.approx(reported["recall@10"])
    for cut, reported in metrics["history_cuts"].items():
        values, _ = ranks.values_at(f"history_cuts/{cut}", "ndcg@10")
        assert values.mean() == pytest.approx(reported["ndcg@10"])
    assert (ranks.ranks["history_cuts/last_1"] != ranks.ranks["overall"]).any()  # each pass its own ranks


def test_training_lowers_the_loss_and_beats_an_untrained_model(trained_model_dir):
    directory, metrics = trained_model_dir
    losses = metrics["training"]["loss"]
    assert len(losses) == TRAINED_MODEL_EPOCHS
    assert losses[-1] < 0.9 * losses[0]
    assert sum(b < a for a, b in zip(losses, losses[1:])) >= TRAINED_MODEL_EPOCHS // 2

    config = ExperimentConfig.from_json_file(os.path.join(directory, "config.json"))
    assets = ModelAssets.load(directory)
    tf_keras.utils.set_random_seed(config.train.seed)
    untrained = evaluate_model(make_built_model(config, assets), assets, _test_examples(config, assets))
    trained = metrics["overall"]["recall@10"]
    assert trained >= untrained["overall"]["recall@10"] + 0.2
    assert trained >= 0.5  # text decides the topic: most targets are in the top 10 of 48


def test_a_restored_model_reproduces_the_reported_metrics(trained_model_dir):
    directory, metrics = trained_model_dir
    restored = TrainedModel.load(directory)
    report = evaluate_model(restored.model, restored.assets, _test_examples(restored.config, restored.assets))
    for key, value in metrics["overall"].items():
        if isinstance(value, float):
            assert report["overall"][key] == pytest.approx(value, abs=1e-6), key


class _Interrupted(Exception):
    """Stands for a crash or preemption in the middle of training."""


class _CountingBackup(tf_keras.callbacks.BackupAndRestore):
    """BackupAndRestore that counts trained batches and can crash right after a backup step."""

    trained_batches = 0
    stop_after = 0

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        _CountingBackup.trained_batches += 1
        if _CountingBackup.trained_batches == _CountingBackup.stop_after:
            raise _Interrupted()


def test_an_interrupted_run_resumes_from_its_backup_instead_of_restarting(tmp_path, monkeypatch):
    monkeypatch.setattr(tf_keras.callbacks, "BackupAndRestore", _CountingBackup)
    config = make_tiny_config(train={"epochs": RESUME_EPOCHS, "checkpoint_every_steps": RESUME_BACKUP_EVERY})
    _CountingBackup.trained_batches, _CountingBackup.stop_after = 0, RESUME_STOP_AFTER
    with pytest.raises(_Interrupted):
        train(config, str(tmp_path), data=make_tiny_world())
    assert tf.train.latest_checkpoint(str(tmp_path / "backup" / "chief")) is not None
    assert not (tmp_path / "metrics.json").exists()

    # Another training config must not resume this backup (it would mix two runs); the backup is kept.
    with pytest.raises(BackupConfigError, match=r"train\.seed: backup 0, now 1.*delete .*backup"):
        train(config.updated({"train": {"seed": 1}}), str(tmp_path), data=make_tiny_world())
    assert tf.train.latest_checkpoint(str(tmp_path / "backup" / "chief")) is not None

    _CountingBackup.trained_batches, _CountingBackup.stop_after = 0, 0
    # Evaluation settings are not part of training: the backup resumes.
    metrics = train(config.updated({"train": {"eval_max_examples": 40}}), str(tmp_path), data=make_tiny_world())
    steps_per_epoch = metrics["training"]["training_rows"] // config.train.batch_size
    remaining = RESUME_EPOCHS * steps_per_epoch - RESUME_STOP_AFTER
    # Only the batches after the last backup are trained again, never the whole run.
    assert remaining <= _CountingBackup.trained_batches < remaining + RESUME_BACKUP_EVERY
    assert (tmp_path / "metrics.json").exists()
    assert len(metrics["training"]["loss"]) == RESUME_EPOCHS
    assert np.isfinite(metrics["overall"]["recall@10"])
    assert not (tmp_path / "backup").exists()  # finished: no backup and no record of its config left


def test_keras_draws_its_bar_when_stdout_is_a_terminal_unless_verbose_is_configured(tmp_path, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    fit, asked = tf_keras.Model.fit, []

    def recording_fit(model, *args, verbose="auto", **kwargs):
        asked.append(verbose)
        return fit(model, *args, verbose=0, **kwargs)

    monkeypatch.setattr(tf_keras.Model, "fit", recording_fit)
    monkeypatch.setattr(sys, "stdout", Terminal())
    train(make_tiny_config(train={"epochs": 1, "verbose": None}), str(tmp_path), data=make_tiny_world())
    assert asked == [1]
