"""Resume under MirroredStrategy: training killed mid-epoch on two replicas resumes to the uninterrupted result.

Each run is a child process (`python this_file.py OUTPUT_DIR KILL_AFTER_BATCHES`)
that splits the CPU into two logical devices, trains the tiny world under
`--strategy mirrored` with a backup every 3 steps and, when asked, SIGKILLs
itself after N batches. Running it again must resume from the backup
(`BackupAndRestore` restores the mirrored variables and the optimizer) and
end with the losses and metrics of a run that was never killed.
"""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KILL_AFTER_BATCHES = 8  # mid-epoch 2 of 2 (5 steps of 16 sequences per epoch on the tiny world)


def _child(output_dir, kill_after):
    import logging  # pylint: disable=import-outside-toplevel

    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    logging.basicConfig(level=logging.INFO)
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    sys.path.insert(0, TESTS_DIR)
    from tiny_fixtures import make_tiny_config, make_tiny_world  # pylint: disable=import-outside-toplevel
    import tf_keras  # pylint: disable=import-outside-toplevel

    import tfrec_llm.training.distribution as distribution  # pylint: disable=import-outside-toplevel
    import tfrec_llm.training.trainer as trainer  # pylint: disable=import-outside-toplevel

    original = distribution.tf.distribute.MirroredStrategy
    distribution.tf.distribute.MirroredStrategy = lambda: original(["/cpu:0", "/cpu:1"])
    if kill_after:

        class KillingCSVLogger(tf_keras.callbacks.CSVLogger):
            seen = 0

            def on_train_batch_end(self, batch, logs=None):
                super().on_train_batch_end(batch, logs)
                KillingCSVLogger.seen += 1
                if KillingCSVLogger.seen == kill_after:
                    os.kill(os.getpid(), signal.SIGKILL)

        trainer.tf_keras.callbacks.CSVLogger = KillingCSVLogger
    config = make_tiny_config(
        train={"strategy": "mirrored", "epochs": 2, "batch_size": 16, "checkpoint_every_steps": 3}
    )
    metrics = trainer.train(config, output_dir, data=make_tiny_world())
    print("METRICS " + json.dumps({"overall": metrics["overall"], "loss": metrics["training"]["loss"]}))


def _run(output_dir, kill_after=0):
    return subprocess.run(
        [sys.executable, os.path.abspath(__file__), str(output_dir), str(kill_after)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def _metrics(completed):
    lines = [line for line in completed.stdout.splitlines() if line.startswith("METRICS ")]
    assert lines, f"run failed (exit {completed.returncode}):\n{completed.stderr[-3000:]}"
    return json.loads(lines[-1][len("METRICS ") :])


def test_killed_mirrored_training_resumes_to_the_uninterrupted_result(tmp_path):
    uninterrupted = _metrics(_run(tmp_path / "uninterrupted"))
    killed = _run(tmp_path / "killed", KILL_AFTER_BATCHES)
    assert killed.returncode == -signal.SIGKILL
    assert not (tmp_path / "killed" / "metrics.json").exists()
    resumed_run = _run(tmp_path / "killed")
    assert "Resuming the training from backup: epoch 2, step" in resumed_run.stderr
    resumed = _metrics(resumed_run)
    np.testing.assert_allclose(resumed["loss"], uninterrupted["loss"], rtol=1e-4)
    for key in ("recall@10", "ndcg@10"):
        assert resumed["overall"][key] == pytest.approx(uninterrupted["overall"][key], abs=1e-6), key


if __name__ == "__main__":
    import tfrec_llm  # noqa: F401  pylint: disable=unused-import

    _child(sys.argv[1], int(sys.argv[2]))
