"""Tests for the two-path user tower (fusion "paths"): each path reads its own half of the history."""

import numpy as np
import tensorflow as tf
import tf_keras

from layer_checks import run_config_round_trip
from tfrec_llm.models.two_path_user_tower import TwoPathUserTower
from tfrec_llm.models.user_tower import UserTower

HALF = 4
HISTORY = 3


def _tower():
    tf_keras.utils.set_random_seed(0)
    paths = [UserTower(HALF, 5, num_scenarios=2, user_feature_sizes={"age": 3}, name=n) for n in ("ids", "text")]
    return TwoPathUserTower(*paths, HALF)


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(2, HISTORY, 2 * HALF)).astype(np.float32)
    mask = np.array([[True, True, False], [True, True, True]])
    return vectors, mask, np.array([1, 0]), {"age": np.array([2, 1])}


def _run(tower, vectors, mask, scenario, features, **kwargs):
    features = {k: tf.constant(v) for k, v in features.items()}
    return tower(tf.constant(vectors), tf.constant(mask), tf.constant(scenario), features, **kwargs).numpy()


def test_each_half_of_the_output_is_a_unit_vector_of_its_own_path():
    tower = _tower()
    vectors, mask, scenario, features = _inputs()
    users = _run(tower, vectors, mask, scenario, features)
    assert users.shape == (2, 2 * HALF)
    np.testing.assert_allclose(np.linalg.norm(users[:, :HALF], axis=1), np.sqrt(0.5), rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(users[:, HALF:], axis=1), np.sqrt(0.5), rtol=1e-5)
    id_path = _run(tower.id_tower, vectors[..., :HALF], mask, scenario, features)
    np.testing.assert_allclose(
        users[:, :HALF], id_path / np.linalg.norm(id_path, axis=1, keepdims=True) / np.sqrt(2), rtol=1e-5
    )


def test_the_id_path_never_reads_the_text_half_and_the_text_path_never_the_id_half():
    tower = _tower()
    vectors, mask, scenario, features = _inputs()
    users = _run(tower, vectors, mask, scenario, features)
    other_text = vectors.copy()
    other_text[..., HALF:] = np.random.default_rng(1).normal(size=other_text[..., HALF:].shape)
    changed = _run(tower, other_text, mask, scenario, features)
    np.testing.assert_allclose(changed[:, :HALF], users[:, :HALF], rtol=1e-6)
    assert not np.allclose(changed[:, HALF:], users[:, HALF:])


def test_every_position_output_matches_the_last_position():
    tower = _tower()
    vectors, mask, scenario, features = _inputs()
    per_position = _run(tower, vectors, mask, np.array([[1] * HISTORY, [0] * HISTORY]), features, all_positions=True)
    last = _run(tower, vectors, mask, scenario, features)
    np.testing.assert_allclose(per_position[1, -1], last[1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(per_position[0, 1], last[0], rtol=1e-5, atol=1e-6)


def test_both_paths_are_listed_for_transfer_and_growth():
    tower = _tower()
    _run(tower, *_inputs())
    assert tower.path_towers == [tower.id_tower, tower.text_tower]
    assert len(tower.scenario_tables()) == 2 and tower.feature_names == ["age"]


def test_config_round_trip():
    tower = _tower()
    restored = run_config_round_trip(tower)
    assert _run(restored, *_inputs()).shape == (2, 2 * HALF)
