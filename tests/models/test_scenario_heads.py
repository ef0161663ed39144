"""STAR scenario heads: identity over the shared layer at init, each head trained by its own scenario only."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from layer_checks import run_config_round_trip
from tfrec_llm.models.scenario_heads import ScenarioStarHeads
from tfrec_llm.models.user_tower import UserTower

HISTORY, ITEM_DIM, DIM = 4, 8, 8


def _tower(heads, encoder="lstm"):
    tf_keras.utils.set_random_seed(0)
    return UserTower(
        DIM,
        lstm_units=6,
        num_scenarios=3,
        user_feature_sizes={"age": 3},
        sequence_encoder=encoder,
        max_history=HISTORY,
        scenario_heads=heads,
    )


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    vectors = tf.constant(rng.normal(size=(3, HISTORY, ITEM_DIM)).astype(np.float32))
    mask = tf.constant([[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]]) > 0
    return vectors, mask, tf.constant([1, 2, 0]), {"age": tf.constant([1, 2, 0])}


def _copy_shared_weights(plain, star):
    """`star` gets every weight of `plain` (all but the heads' own)."""
    for a, b in zip(
        [plain.encoder, plain.scenario_embedding, plain.output_mlp],
        [star.encoder, star.scenario_embedding, star.output_mlp],
    ):
        b.set_weights(a.get_weights())
    for a, b in zip(plain.feature_embeddings, star.feature_embeddings):
        b.set_weights(a.get_weights())


@pytest.mark.parametrize("encoder", ["lstm", "attention"])
def test_untrained_heads_give_the_shared_models_outputs(encoder):
    plain, star = _tower("none", encoder), _tower("star", encoder)
    vectors, mask, scenario, features = _inputs()
    plain(vectors, mask, scenario, features)
    star(vectors, mask, scenario, features)
    _copy_shared_weights(plain, star)
    np.testing.assert_allclose(
        star(vectors, mask, scenario, features), plain(vectors, mask, scenario, features), rtol=1e-6, atol=1e-6
    )
    per_position = tf.repeat(scenario[:, tf.newaxis], HISTORY, axis=1)
    both = [t(vectors, mask, per_position, features, all_positions=True) for t in (plain, star)]
    assert both[1].shape == (3, HISTORY, DIM)
    np.testing.assert_allclose(both[1], both[0], rtol=1e-6, atol=1e-6)
    # a trained head (kernel no longer ones) makes its scenario's output differ, the others' not
    star.scenario_heads.scenario_kernel.assign(
        tf.tensor_scatter_nd_update(star.scenario_heads.scenario_kernel, [[2]], [tf.fill([2 * DIM, DIM], 2.0)])
    )
    changed = star(vectors, mask, scenario, features).numpy()
    expected = plain(vectors, mask, scenario, features).numpy()
    assert not np.allclose(changed[1], expected[1])  # row 1 is scenario 2
    np.testing.assert_allclose(changed[[0, 2]], expected[[0, 2]], rtol=1e-6, atol=1e-6)


def test_a_head_gets_gradients_only_from_its_own_scenarios_positions():
    tower = _tower("star")
    vectors, mask, _, features = _inputs()
    # every position of every row is scenario 1, except row 1's last two: scenario 2; no scenario 0
    scenario = tf.constant([[1, 1, 1, 1], [1, 1, 2, 2], [1, 1, 1, 1]])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(tower(vectors, mask, scenario, features, all_positions=True)))
    heads = tower.scenario_heads
    kernel, bias = tape.gradient(loss, [heads.scenario_kernel, heads.scenario_bias])
    norms = tf.reduce_sum(tf.abs(kernel), axis=[1, 2]).numpy()
    assert norms[0] == 0 and norms[1] > 0 and norms[2] > 0
    bias = tf.convert_to_tensor(bias)  # IndexedSlices: gathered rows
    assert tf.reduce_sum(tf.abs(bias[0])).numpy() == 0 and tf.reduce_sum(tf.abs(bias[2])).numpy() > 0
    # scenario 2's gradient is exactly what row 1's positions 2-3 alone give
    with tf.GradientTape() as tape:
        outputs = tower(vectors, mask, scenario, features, all_positions=True)
        only = tf.reduce_sum(tf.square(outputs[1, 2:]))
    np.testing.assert_allclose(tape.gradient(only, heads.scenario_kernel)[2], kernel[2], rtol=1e-5, atol=1e-7)


def test_a_row_scenario_applies_to_each_of_its_positions():
    heads = ScenarioStarHeads(3, num_scenarios=2)
    inputs = tf.random.stateless_normal([2, 5, 4], seed=[1, 2])
    kernel, bias = tf.random.stateless_normal([4, 3], seed=[3, 4]), tf.constant([0.5, 0.0, -0.5])
    untrained = heads(inputs, tf.constant([0, 1]), kernel, bias)
    np.testing.assert_allclose(untrained, tf.matmul(inputs, kernel) + bias, rtol=1e-5, atol=1e-6)  # the shared layer
    heads.scenario_bias.assign([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    by_row = heads(inputs, tf.constant([0, 1]), kernel, bias)
    by_position = heads(inputs, tf.constant([[0] * 5, [1] * 5]), kernel, bias)
    np.testing.assert_allclose(by_row, by_position)
    # row 1 (scenario 1) differs from scenario 0's head by scenario 1's bias at each of its positions
    as_zero = heads(inputs, tf.constant([0, 0]), kernel, bias)
    np.testing.assert_allclose(by_row[1] - as_zero[1], np.ones((5, 3)), rtol=1e-5)


def test_config_round_trip_and_checkpoint_restore_give_the_same_outputs(tmp_path):
    tower = _tower("star")
    restored = run_config_round_trip(tower)
    assert restored.get_config()["scenario_heads"] == "star"
    run_config_round_trip(ScenarioStarHeads(4, num_scenarios=3))
    vectors, mask, scenario, features = _inputs()
    expected = tower(vectors, mask, scenario, features)
    tower.scenario_heads.scenario_kernel.assign(tower.scenario_heads.scenario_kernel * 1.5)
    tower.scenario_heads.scenario_bias.assign(tf.ones_like(tower.scenario_heads.scenario_bias))
    expected = tower(vectors, mask, scenario, features).numpy()
    path = tf.train.Checkpoint(tower=tower).write(str(tmp_path / "ckpt"))
    restored(vectors, mask, scenario, features)
    tf.train.Checkpoint(tower=restored).read(path).assert_existing_objects_matched()
    np.testing.assert_array_equal(restored(vectors, mask, scenario, features).numpy(), expected)


def test_unknown_scenario_heads_are_refused():
    with pytest.raises(ValueError, match="scenario_heads must be one of"):
        _tower("mmoe")
