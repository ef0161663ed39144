"""Fault injection: training killed at an arbitrary step resumes and ends as an uninterrupted run.

Each run is a child process (`python this_file.py OUTPUT_DIR KILL_AFTER_BATCHES SIGNAL`)
that trains on the tiny world with a backup every 3 steps and, when asked, kills
itself after N batches with SIGKILL or SIGTERM. Running the same command again must
resume from the backup and give the same metrics as a run that was never killed.
"""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import tfrec_llm  # noqa: F401
import tensorflow as tf

from tfrec_llm.training.resume import (
    BackupConfigError,
    check_backup_config,
    clear_backup_config,
    discard_corrupt_backups,
    epoch_stream,
    record_backup_config,
    resume_position,
)

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EPOCHS = 3
KILL_AFTER_BATCHES = 15  # mid-epoch 2 of 3 (10 steps of 8 sequences per epoch on the tiny world)


def _child(output_dir, kill_after, signal_name, weight_average_momentum=0.0):
    import logging  # pylint: disable=import-outside-toplevel

    logging.basicConfig(level=logging.INFO)
    sys.path.insert(0, TESTS_DIR)
    from tiny_fixtures import make_tiny_config, make_tiny_world  # pylint: disable=import-outside-toplevel
    import tf_keras  # pylint: disable=import-outside-toplevel

    import tfrec_llm.training.trainer as trainer  # pylint: disable=import-outside-toplevel

    if kill_after:

        class KillingCSVLogger(tf_keras.callbacks.CSVLogger):
            """The trainer's CSV logger, which also kills the process after `kill_after` batches."""

            seen = 0

            def on_train_batch_end(self, batch, logs=None):
                super().on_train_batch_end(batch, logs)
                KillingCSVLogger.seen += 1
                if KillingCSVLogger.seen == kill_after:
                    os.kill(os.getpid(), getattr(signal, signal_name))

        trainer.tf_keras.callbacks.CSVLogger = KillingCSVLogger
    config = make_tiny_config(
        train={
            "epochs": EPOCHS,
            "batch_size": 8,
            "checkpoint_every_steps": 3,
            "early_stopping_patience": 2,
            "weight_average_momentum": weight_average_momentum,
        }
    )
    metrics = trainer.train(config, output_dir, data=make_tiny_world())
    print("METRICS " + json.dumps({"overall": metrics["overall"], "loss": metrics["training"]["loss"]}))


def _run(output_dir, kill_after=0, signal_name="SIGKILL", weight_average_momentum=0.0):
    return subprocess.run(
        [
            sys.executable,
            os.path.abspath(__file__),
            str(output_dir),
            str(kill_after),
            signal_name,
            str(weight_average_momentum),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _metrics(completed):
    lines = [line for line in completed.stdout.splitlines() if line.startswith("METRICS ")]
    assert lines, f"run failed (exit {completed.returncode}):\n{completed.stderr[-3000:]}"
    return json.loads(lines[-1][len("METRICS ") :])


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return _metrics(_run(tmp_path_factory.mktemp("uninterrupted")))


@pytest.fixture(scope="module")
def uninterrupted_averaged(tmp_path_factory):
    return _metrics(_run(tmp_path_factory.mktemp("uninterrupted_averaged"), weight_average_momentum=0.5))


@pytest.mark.parametrize("signal_name", ["SIGKILL", "SIGTERM"])
def test_killed_training_resumes_to_the_uninterrupted_result(tmp_path, uninterrupted, signal_name):
    _check_resumes_to(tmp_path, uninterrupted, signal_name)


def test_killed_training_with_weight_averaging_resumes_to_the_uninterrupted_result(
    tmp_path, uninterrupted, uninterrupted_averaged
):
    """The moving averages are in the backup: a resumed run validates and ends on the same averages."""
    assert uninterrupted_averaged["overall"] != uninterrupted["overall"]  # the averages are what is measured
    _check_resumes_to(tmp_path, uninterrupted_averaged, "SIGKILL", weight_average_momentum=0.5)


def _check_resumes_to(tmp_path, uninterrupted, signal_name, weight_average_momentum=0.0):
    killed = _run(tmp_path, KILL_AFTER_BATCHES, signal_name, weight_average_momentum)
    assert killed.returncode == -getattr(signal, signal_name)
    assert not (tmp_path / "metrics.json").exists()
    assert tf.train.latest_checkpoint(str(tmp_path / "backup" / "chief")) is not None

    resumed_run = _run(tmp_path, weight_average_momentum=weight_average_momentum)
    # A rerun from scratch would give the same numbers too: check it really resumed.
    assert "Resuming the training from backup: epoch 2, step" in resumed_run.stderr
    resumed = _metrics(resumed_run)
    np.testing.assert_allclose(resumed["loss"], uninterrupted["loss"], rtol=1e-5)
    for key, value in uninterrupted["overall"].items():
        if isinstance(value, float):
            assert resumed["overall"][key] == pytest.approx(value, abs=1e-6), key


def test_epoch_stream_is_a_function_of_seed_and_epoch():
    features = {"x": np.arange(20)}
    full = [b["x"].numpy().tolist() for b in epoch_stream(features, 5, seed=3, epochs=3)]
    resumed = [
        b["x"].numpy().tolist() for b in epoch_stream(features, 5, seed=3, epochs=3, start_epoch=1, start_step=2)
    ]
    assert len(full) == 12
    assert resumed == full[4 + 2 :]
    assert full[:4] != full[4:8]  # each epoch has its own order
    assert sorted(sum(full[:4], [])) == list(range(20))


def test_resume_position_without_backup_starts_at_zero(tmp_path):
    assert resume_position(str(tmp_path), steps_per_epoch=4, save_freq_is_steps=True) == (0, 0)


def _write_backups(backup_dir, count):
    directory = os.path.join(backup_dir, "chief")
    step = tf.Variable(0)
    manager = tf.train.CheckpointManager(
        tf.train.Checkpoint(
            ckpt_saved_epoch=tf.Variable(0, dtype=tf.int64), ckpt_saved_batch=tf.Variable(-1, dtype=tf.int64), step=step
        ),
        directory,
        max_to_keep=5,
    )
    for i in range(count):
        step.assign(i)
        manager.save()
    return manager.checkpoints


def test_corrupted_newest_backup_falls_back_to_the_previous_one(tmp_path, caplog):
    first, second = _write_backups(str(tmp_path), 2)
    data_file = tf.io.gfile.glob(second + ".data-*")[0]
    with open(data_file, "r+b") as f:
        f.truncate(3)
    assert discard_corrupt_backups(str(tmp_path)) == 1
    assert tf.train.latest_checkpoint(str(tmp_path / "chief")) == first
    assert "truncated or corrupted" in caplog.text


def test_intact_backups_are_kept(tmp_path):
    checkpoints = _write_backups(str(tmp_path), 2)
    assert discard_corrupt_backups(str(tmp_path)) == 0
    assert tf.train.latest_checkpoint(str(tmp_path / "chief")) == checkpoints[-1]


def _tiny_config(**overrides):
    sys.path.insert(0, TESTS_DIR)
    from tiny_fixtures import make_tiny_config  # pylint: disable=import-outside-toplevel

    return make_tiny_config(**overrides)


def test_a_backup_resumes_only_under_its_training_config(tmp_path):
    config = _tiny_config()
    _write_backups(str(tmp_path), 1)
    record_backup_config(str(tmp_path), config)
    check_backup_config(str(tmp_path), config)
    # Display, evaluation and encoding batch size do not change training: the backup still resumes.
    check_backup_config(
        str(tmp_path),
        config.updated({"train": {"verbose": 2, "eval_max_examples": 7}, "text": {"encode_batch_size": 5}}),
    )
    with pytest.raises(BackupConfigError, match=r"model\.embedding_dim: backup 16, now 8.*delete .*backup"):
        check_backup_config(str(tmp_path), config.updated({"model": {"embedding_dim": 8}}))
    with pytest.raises(BackupConfigError, match=r"train\.seed: backup 0, now 3"):
        check_backup_config(str(tmp_path), config.updated({"train": {"seed": 3}}))


def test_extra_settings_outside_the_config_join_the_record(tmp_path):
    config = _tiny_config()
    _write_backups(str(tmp_path), 1)
    record_backup_config(str(tmp_path), config, {"update": {"replay_ratio": 1.0}})
    check_backup_config(str(tmp_path), config, {"update": {"replay_ratio": 1.0}})
    with pytest.raises(BackupConfigError, match=r"update\.replay_ratio: backup 1\.0, now 2\.0"):
        check_backup_config(str(tmp_path), config, {"update": {"replay_ratio": 2.0}})
    with pytest.raises(BackupConfigError, match=r"update\.replay_ratio: backup 1\.0, now None"):
        check_backup_config(str(tmp_path), config)  # a run without the extra settings is another run


def test_a_backup_without_a_readable_config_record_is_refused(tmp_path):
    _write_backups(str(tmp_path), 1)
    with pytest.raises(BackupConfigError, match="no readable training_config.json"):
        check_backup_config(str(tmp_path), _tiny_config())
    (tmp_path / "training_config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(BackupConfigError, match="no readable training_config.json"):
        check_backup_config(str(tmp_path), _tiny_config())


def test_without_a_backup_any_config_starts_fresh_and_the_record_is_cleared(tmp_path):
    record_backup_config(str(tmp_path / "backup"), _tiny_config())
    check_backup_config(str(tmp_path / "backup"), _tiny_config(train={"seed": 3}))  # no checkpoint: no check
    clear_backup_config(str(tmp_path / "backup"))
    assert not (tmp_path / "backup").exists()


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]))
