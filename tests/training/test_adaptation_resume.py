"""`adapt` resumes after an interruption like `train` and `update`: same settings only, same weights.

The base model backs up every 3 steps and early-stops with patience 2 (the
stopper's state must survive the resume too). The slow test runs adapt as a
child process (`python this_file.py BASE OUTPUT_DIR KILL_AFTER_BATCHES`) that
SIGKILLs itself mid-epoch 2, reruns it and compares with an uninterrupted run.
"""

import json
import logging
import os
import signal
import sys

import numpy as np
import pytest

from tfrec_llm.experiment_config import AdaptConfig
from tfrec_llm.training.domain_adaptation import adapt
from tfrec_llm.training.resume import BackupConfigError
from tfrec_llm.training.trained_model import TrainedModel

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADAPT_EPOCHS = 3
KILL_AFTER_BATCHES = 10  # mid-epoch 2 of 3 (6 steps an epoch: 48 users' sequences, batches of 8)


def _settings(**overrides) -> AdaptConfig:
    return AdaptConfig(**{"fraction": 1.0, "epochs": ADAPT_EPOCHS, **overrides})


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory):
    from tfrec_llm.training.trainer import train  # pylint: disable=import-outside-toplevel
    from tiny_fixtures import make_tiny_config, make_tiny_world  # pylint: disable=import-outside-toplevel

    directory = str(tmp_path_factory.mktemp("base"))
    config = make_tiny_config(train={"epochs": 2, "checkpoint_every_steps": 3, "early_stopping_patience": 2})
    train(config, directory, data=make_tiny_world())
    return directory


def test_an_interrupted_adaptation_resumes_only_with_its_settings(base_dir, tmp_path, monkeypatch, caplog):
    import tf_keras  # pylint: disable=import-outside-toplevel

    from domain_fixtures import make_new_domain  # pylint: disable=import-outside-toplevel
    from kill_resume import Interrupted, interrupting_backup  # pylint: disable=import-outside-toplevel

    out = str(tmp_path / "adapted")
    monkeypatch.setattr(tf_keras.callbacks, "BackupAndRestore", interrupting_backup(KILL_AFTER_BATCHES))
    with pytest.raises(Interrupted):
        adapt(base_dir, out, adapt_config=_settings(), data=make_new_domain())
    monkeypatch.undo()
    assert not os.path.exists(os.path.join(out, "metrics.json"))
    with pytest.raises(BackupConfigError, match=r"adapt\.fraction: backup 1\.0, now 0\.5"):
        adapt(base_dir, out, adapt_config=_settings(fraction=0.5), data=make_new_domain())
    with pytest.raises(BackupConfigError, match=r"adapt\.train_only: backup 'all', now 'projection'"):
        adapt(base_dir, out, adapt_config=_settings(train_only="projection"), data=make_new_domain())
    with caplog.at_level(logging.INFO, logger="tfrec_llm"):
        metrics = adapt(base_dir, out, adapt_config=_settings(), data=make_new_domain())
    assert "Resuming the adaptation from backup: epoch 2, step 3" in caplog.text  # the backup after batch 9
    assert metrics["training"]["epochs_run"] == len(metrics["training"]["loss"]) == ADAPT_EPOCHS  # log kept
    assert not os.path.exists(os.path.join(out, "backup"))


def _child(base, output_dir, kill_after):
    sys.path.insert(0, TESTS_DIR)
    from domain_fixtures import make_new_domain  # pylint: disable=import-outside-toplevel
    from kill_resume import kill_after_batches  # pylint: disable=import-outside-toplevel

    if kill_after:
        kill_after_batches(kill_after)
    metrics = adapt(base, output_dir, adapt_config=_settings(), data=make_new_domain())
    print("METRICS " + json.dumps({"overall": metrics["overall"], "training": metrics["training"]}))


def _metrics(completed):
    lines = [line for line in completed.stdout.splitlines() if line.startswith("METRICS ")]
    assert lines, f"run failed (exit {completed.returncode}):\n{completed.stderr[-3000:]}"
    return json.loads(lines[-1][len("METRICS ") :])


@pytest.mark.slow
def test_a_killed_adaptation_resumes_to_the_uninterrupted_weights(base_dir, tmp_path):
    from kill_resume import run_child  # pylint: disable=import-outside-toplevel

    uninterrupted = _metrics(run_child(__file__, base_dir, str(tmp_path / "uninterrupted"), "0"))
    killed = run_child(__file__, base_dir, str(tmp_path / "killed"), str(KILL_AFTER_BATCHES))
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert not (tmp_path / "killed" / "metrics.json").exists()
    resumed_run = run_child(__file__, base_dir, str(tmp_path / "killed"), "0")
    assert "Resuming the adaptation from backup: epoch 2, step" in resumed_run.stderr  # not a rerun from scratch
    resumed = _metrics(resumed_run)
    np.testing.assert_allclose(resumed["training"]["loss"], uninterrupted["training"]["loss"], rtol=1e-5)
    assert resumed["training"]["best_epoch"] == uninterrupted["training"]["best_epoch"]
    assert resumed["overall"]["recall@10"] == pytest.approx(uninterrupted["overall"]["recall@10"], abs=1e-6)
    expected = TrainedModel.load(str(tmp_path / "uninterrupted")).model
    actual = TrainedModel.load(str(tmp_path / "killed")).model
    for a, b in zip(expected.variables, actual.variables):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.name)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    _child(sys.argv[1], sys.argv[2], int(sys.argv[3]))
