"""tf.distribute: the joint model trains under MirroredStrategy with two replicas.

No GPU here, so a child process splits the CPU into two logical devices and
MirroredStrategy mirrors the model over them: every variable (BERT's too, in
fine-tune mode) must be a mirrored variable and training must lower the loss.
"""

import json
import os
import subprocess
import sys
import types

import numpy as np
import pytest

from tfrec_llm.training.distribution import make_strategy

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _child(output_dir, mode):
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    sys.path.insert(0, TESTS_DIR)
    from tiny_fixtures import make_tiny_config, make_tiny_world  # pylint: disable=import-outside-toplevel

    import tfrec_llm.training.distribution as distribution  # pylint: disable=import-outside-toplevel
    import tfrec_llm.training.trainer as trainer  # pylint: disable=import-outside-toplevel

    devices = ["/cpu:0", "/cpu:1"]
    original = distribution.tf.distribute.MirroredStrategy
    distribution.tf.distribute.MirroredStrategy = lambda: original(devices)
    seen = {}
    real_build_variables = trainer.build_variables

    def build_and_snapshot(model, *args, **kwargs):
        real_build_variables(model, *args, **kwargs)
        seen["model"] = model
        seen["before"] = [v.numpy().copy() for v in model.trainable_variables]

    trainer.build_variables = build_and_snapshot
    config = make_tiny_config(train={"strategy": "mirrored", "epochs": 3}, text={"mode": mode})
    metrics = trainer.train(config, output_dir, data=make_tiny_world())
    model = seen["model"]
    mirrored = [type(v).__name__ for v in model.trainable_variables]
    changed = sum(not np.allclose(before, v.numpy()) for before, v in zip(seen["before"], model.trainable_variables))
    bert = model.item_tower.text_encoder.trainable_weights if model.item_tower.finetunes_text else []
    print(
        "RESULT "
        + json.dumps(
            {
                "replicas": model.distribute_strategy.num_replicas_in_sync,
                "mirrored": sum("Mirrored" in name for name in mirrored),
                "trainable": len(mirrored),
                "changed": changed,
                "bert_variables": len(bert),
                "loss": metrics["training"]["loss"],
            }
        )
    )


@pytest.mark.parametrize("mode", ["frozen", "finetune"])
def test_mirrored_strategy_trains_on_two_replicas(tmp_path, mode):
    completed = subprocess.run(
        [sys.executable, os.path.abspath(__file__), str(tmp_path), mode],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, completed.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT ") :])
    assert result["replicas"] == 2
    assert result["mirrored"] == result["trainable"] > 0
    assert result["changed"] == result["trainable"]  # every variable trained, BERT's too
    assert (result["bert_variables"] > 0) == (mode == "finetune")
    assert all(np.isfinite(result["loss"]))


class _NonChief:
    """The default strategy, seen as a multi-worker non-chief (it writes a temporary directory)."""

    extended = types.SimpleNamespace(should_checkpoint=False)

    def scope(self):
        import tensorflow as tf  # pylint: disable=import-outside-toplevel

        return tf.distribute.get_strategy().scope()


def test_a_non_chief_deletes_its_temporary_directory_when_training_raises(tmp_path, monkeypatch):
    import tempfile  # pylint: disable=import-outside-toplevel

    import tfrec_llm.training.trainer as trainer  # pylint: disable=import-outside-toplevel
    from tiny_fixtures import make_tiny_config, make_tiny_world  # pylint: disable=import-outside-toplevel

    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    monkeypatch.setattr(trainer, "make_strategy", lambda *args: _NonChief())

    def failing_fit(*args, **kwargs):
        raise RuntimeError("training failed")

    monkeypatch.setattr(trainer.tf_keras.Model, "fit", failing_fit)
    with pytest.raises(RuntimeError, match="training failed"):
        trainer.train(make_tiny_config(), str(tmp_path / "out"), data=make_tiny_world())
    leftovers = [name for name in os.listdir(temporary) if name.startswith("tfrec_llm_worker_")]
    assert leftovers == []  # the non-chief's copy went with the failure
    assert not (tmp_path / "out").exists()  # a non-chief writes nothing into the output directory


def test_unknown_strategy_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown strategy 'gpu'"):
        make_strategy("gpu")


if __name__ == "__main__":
    import tfrec_llm  # noqa: F401  pylint: disable=unused-import

    _child(sys.argv[1], sys.argv[2])
