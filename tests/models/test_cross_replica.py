"""Under MirroredStrategy the loss and its gradients do not depend on the number of replicas.

A child process splits the CPU into two logical devices and compares, for the
same weights and the same global batch, the loss (and gradients) of one
replica over the whole batch with the sum over two replicas of half a batch
each: in-batch negatives must come from the whole global batch, and per-position
training must average over the global batch's targets.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BATCH = 16
CASES = {
    "in_batch_every_position": {"negatives": "in_batch", "training_targets": "every_position"},
    "in_batch_last_position": {"negatives": "in_batch", "training_targets": "last_position"},
    "in_batch_logq": {"negatives": "in_batch", "training_targets": "every_position", "logq_correction": True},
    "full_catalog_every_position": {"negatives": "full_catalog", "training_targets": "every_position"},
}


def _child(case, cache_dir):
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    sys.path.insert(0, TESTS_DIR)
    from tiny_fixtures import make_tiny_assets, make_tiny_config, make_tiny_encoder  # pylint: disable=import-outside-toplevel

    from tfrec_llm.training.model_building import build_model  # pylint: disable=import-outside-toplevel
    from tfrec_llm.training.trainer import build_variables  # pylint: disable=import-outside-toplevel

    config = make_tiny_config(model={**CASES[case], "dropout": 0.0, "context_dropout": 0.0, "item_id_dropout": 0.0})
    experiment, assets = make_tiny_assets(config, make_tiny_encoder(), cache_dir)
    features = experiment.training_features(config.model.training_targets)
    batch = {name: tf.constant(values[:BATCH]) for name, values in features.items()}
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        model = build_model(config, assets)
        build_variables(model, assets, config)
    variables = model.trainable_variables

    def loss_and_gradients(part):
        with tf.GradientTape() as tape:
            loss = model.compute_loss(part)  # training=False: no metric updates, dropout is off anyway
        gradients = tape.gradient(loss, variables)
        return loss, [tf.zeros_like(v) if g is None else tf.convert_to_tensor(g) for g, v in zip(gradients, variables)]

    one_loss, one_gradients = tf.function(loss_and_gradients)(batch)  # no strategy: one replica, whole batch
    halves = strategy.experimental_distribute_values_from_function(
        lambda context: {
            name: value[context.replica_id_in_sync_group * BATCH // 2 :][: BATCH // 2] for name, value in batch.items()
        }
    )
    losses, gradients = tf.function(lambda: strategy.run(loss_and_gradients, args=(halves,)))()
    two_loss = sum(strategy.experimental_local_results(losses))
    two_gradients = [sum(strategy.experimental_local_results(gradient)) for gradient in gradients]
    gradient_error = max(
        float(np.abs(np.asarray(a) - np.asarray(b)).max()) / (float(np.abs(np.asarray(a)).max()) + 1e-12)
        for a, b in zip(one_gradients, two_gradients)
    )
    print("RESULT " + json.dumps({"one": float(one_loss), "two": float(two_loss), "gradient_error": gradient_error}))


@pytest.mark.parametrize("case", sorted(CASES))
def test_two_replicas_give_the_one_replica_loss_and_gradients_over_the_global_batch(tmp_path, case):
    completed = subprocess.run(
        [sys.executable, os.path.abspath(__file__), case, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, completed.stderr[-4000:]
    result = json.loads(lines[-1][len("RESULT ") :])
    assert result["two"] == pytest.approx(result["one"], rel=1e-5)
    assert result["gradient_error"] < 1e-4


if __name__ == "__main__":
    import tfrec_llm  # noqa: F401  pylint: disable=unused-import

    _child(sys.argv[1], sys.argv[2])
