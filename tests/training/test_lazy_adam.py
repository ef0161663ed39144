"""LazyAdam: Adam's update on the rows a sparse gradient names, nothing elsewhere; small tables as Keras' Adam."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from tfrec_llm.experiment_config import ConfigError, ExperimentConfig
from tfrec_llm.training.lazy_adam import LazyAdam
from tfrec_llm.training.model_building import make_optimizer

ROWS, WIDTH = 12, 3


def _sparse(values, indices):
    values = tf.constant(values, tf.float32)
    return tf.IndexedSlices(values, tf.constant(indices, tf.int64), tf.constant([ROWS, WIDTH], tf.int64))


def _run(optimizer, gradients):
    table = tf.Variable(np.arange(ROWS * WIDTH, dtype=np.float32).reshape(ROWS, WIDTH) / 10.0)
    for gradient in gradients:
        optimizer.apply_gradients([(gradient, table)])
    return table.numpy()


def _steps(seed, indices_per_step):
    rng = np.random.default_rng(seed)
    return [_sparse(rng.normal(size=(len(indices), WIDTH)), indices) for indices in indices_per_step]


def test_every_row_touched_with_duplicates_equals_keras_adam():
    steps = _steps(0, [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 3, 3]] * 3)
    expected = _run(tf_keras.optimizers.Adam(0.01), steps)
    np.testing.assert_allclose(_run(LazyAdam(0.01, min_rows=1), steps), expected, rtol=1e-5, atol=1e-6)


def test_rows_a_step_does_not_touch_stay_put_where_keras_adam_moves_them():
    steps = _steps(1, [[0, 1, 2], [5, 6]])
    before = _run(LazyAdam(0.01, min_rows=1), [])
    lazy = _run(LazyAdam(0.01, min_rows=1), steps)
    adam = _run(tf_keras.optimizers.Adam(0.01), steps)
    untouched = [3, 4, 7, 8, 9, 10, 11]
    np.testing.assert_array_equal(lazy[untouched], before[untouched])
    # Rows 0-2 carry momentum from step 1: Keras' Adam moves them again at step 2, lazily they wait.
    assert not np.allclose(adam[[0, 1, 2]], lazy[[0, 1, 2]])
    assert not np.allclose(lazy[[0, 1, 2, 5, 6]], before[[0, 1, 2, 5, 6]])


@pytest.mark.parametrize("min_rows", [ROWS + 1, 0])  # 0 = never lazy
def test_tables_below_min_rows_update_exactly_as_keras_adam(min_rows):
    steps = _steps(2, [[0, 1, 2], [5, 6], [0, 0, 11]])
    expected = _run(tf_keras.optimizers.Adam(0.01), steps)
    np.testing.assert_array_equal(_run(LazyAdam(0.01, min_rows=min_rows), steps), expected)


def test_the_lazy_update_compiles_with_xla_as_keras_optimizers_run_it_on_gpu():
    gradient = _sparse(np.ones((2, WIDTH)), [1, 4])
    results = []
    for jit in (False, True):
        optimizer = LazyAdam(0.01, min_rows=1)
        table = tf.Variable(np.zeros((ROWS, WIDTH), np.float32))
        optimizer.build([table])
        tf.function(lambda: optimizer.update_step(gradient, table), jit_compile=jit)()  # noqa: B023
        results.append(table.numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-6)
    assert np.flatnonzero(results[1].any(axis=1)).tolist() == [1, 4]


def _mirrored_child():
    """Two logical CPUs: each replica sends its own sparse gradient; prints both tables as JSON."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    start = np.arange(ROWS * WIDTH, dtype=np.float32).reshape(ROWS, WIDTH) / 10.0
    parts = [([0, 2, 2], np.full((3, WIDTH), 0.5)), ([2, 7], np.full((2, WIDTH), -0.25))]
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        table = tf.Variable(start)
        optimizer = LazyAdam(0.01, min_rows=1)

    def replica_step():
        index = tf.distribute.get_replica_context().replica_id_in_sync_group
        indices = tf.constant([[0, 2, 2], [2, 7, 7]], tf.int64)[index][: 3 - index]
        values = tf.constant([[0.5] * WIDTH] * 3 + [[-0.25] * WIDTH] * 2, tf.float32)[index * 3 : 3 + 2 * index]
        optimizer.apply_gradients([(tf.IndexedSlices(values, indices, tf.constant([ROWS, WIDTH], tf.int64)), table)])

    tf.function(lambda: strategy.run(replica_step))()
    single = tf.Variable(start)
    indices = np.concatenate([p[0] for p in parts])
    values = np.concatenate([p[1] for p in parts]).astype(np.float32)
    LazyAdam(0.01, min_rows=1).apply_gradients([(_sparse(values, indices), single)])
    print("RESULT " + json.dumps({"mirrored": table.numpy().tolist(), "single": single.numpy().tolist()}))


def test_two_replicas_update_the_rows_of_their_summed_gradient_only():
    completed = subprocess.run(
        [sys.executable, os.path.abspath(__file__)], capture_output=True, text=True, timeout=600, check=False
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, completed.stderr[-4000:]
    result = json.loads(lines[-1][len("RESULT ") :])
    mirrored, single = np.asarray(result["mirrored"]), np.asarray(result["single"])
    np.testing.assert_allclose(mirrored, single, rtol=1e-6)
    start = _run(LazyAdam(0.01, min_rows=1), [])
    moved = np.flatnonzero(np.any(mirrored != start, axis=1)).tolist()
    assert moved == [0, 2, 7]


def test_config_chooses_the_threshold_and_rejects_a_negative_one():
    config = ExperimentConfig.from_dict({"train": {"lazy_adam_min_rows": 7, "learning_rate": 0.03}})
    optimizer = make_optimizer(config)
    assert isinstance(optimizer, LazyAdam) and optimizer.min_rows == 7
    assert optimizer.get_config()["min_rows"] == 7
    with pytest.raises(ConfigError, match="lazy_adam_min_rows"):
        ExperimentConfig.from_dict({"train": {"lazy_adam_min_rows": -1}})


if __name__ == "__main__":
    _mirrored_child()
