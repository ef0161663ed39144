"""Tests for the user tower: LSTM over right-padded history embeddings + context."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from layer_checks import run_config_round_trip
from tfrec_llm.models.user_tower import UserTower

EMBEDDING_DIM = 8
ITEM_DIM = 8
HISTORY = 4


@pytest.fixture(name="tower")
def _tower():
    tf_keras.utils.set_random_seed(0)
    return UserTower(EMBEDDING_DIM, lstm_units=6, num_scenarios=3, user_feature_sizes={"gender": 3, "age": 5})


def _inputs(batch=2, seed=0):
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(batch, HISTORY, ITEM_DIM)).astype(np.float32)
    mask = np.array([[True, True, False, False], [True, True, True, True]])[:batch]
    scenario = np.array([1, 2])[:batch]
    features = {"gender": np.array([1, 2])[:batch], "age": np.array([4, 0])[:batch]}
    return vectors, mask, scenario, features


def _run(tower, vectors, mask, scenario, features):
    return tower(
        tf.constant(vectors), tf.constant(mask), tf.constant(scenario), {k: tf.constant(v) for k, v in features.items()}
    ).numpy()


def test_output_is_one_embedding_per_user(tower):
    assert _run(tower, *_inputs()).shape == (2, EMBEDDING_DIM)
    assert tower.feature_names == ["age", "gender"]


def test_padded_positions_are_ignored(tower):
    vectors, mask, scenario, features = _inputs()
    expected = _run(tower, vectors, mask, scenario, features)
    changed = vectors.copy()
    changed[0, 2:] = 99.0  # user 0's padding
    np.testing.assert_allclose(_run(tower, changed, mask, scenario, features), expected, rtol=1e-5)
    # Right padding is equivalent to a shorter history.
    np.testing.assert_allclose(
        _run(tower, vectors[:1, :2], mask[:1, :2], scenario[:1], {k: v[:1] for k, v in features.items()}),
        expected[:1],
        rtol=1e-5,
        atol=1e-6,
    )


def test_real_positions_matter(tower):
    vectors, mask, scenario, features = _inputs()
    expected = _run(tower, vectors, mask, scenario, features)
    changed = vectors.copy()
    changed[0, 1] += 1.0
    assert not np.allclose(_run(tower, changed, mask, scenario, features)[0], expected[0])


def test_an_empty_history_reads_the_first_padding_position(tower):
    vectors, _, scenario, features = _inputs()
    empty = np.zeros((2, HISTORY), bool)
    expected = _run(tower, vectors, empty, scenario, features)
    assert np.all(np.isfinite(expected))
    later = vectors.copy()
    later[:, 1:] = 5.0
    np.testing.assert_allclose(_run(tower, later, empty, scenario, features), expected, rtol=1e-5)
    first = vectors.copy()
    first[:, 0] += 1.0
    assert not np.allclose(_run(tower, first, empty, scenario, features), expected)


def test_scenario_and_user_features_change_the_embedding(tower):
    vectors, mask, scenario, features = _inputs()
    expected = _run(tower, vectors, mask, scenario, features)
    assert not np.allclose(_run(tower, vectors, mask, scenario[::-1].copy(), features), expected)
    other_age = dict(features, age=np.array([3, 0]))
    changed = _run(tower, vectors, mask, scenario, other_age)
    assert not np.allclose(changed[0], expected[0])
    np.testing.assert_allclose(changed[1], expected[1], rtol=1e-6)


def test_without_user_features_only_the_scenario_is_read():
    tower = UserTower(EMBEDDING_DIM, lstm_units=6, num_scenarios=2, user_feature_sizes={})
    vectors, mask, _, _ = _inputs()
    assert _run(tower, vectors, mask, np.array([0, 1]), {}).shape == (2, EMBEDDING_DIM)
    assert tower.feature_embeddings == []


# SASRec's (RecBole) shape: dropout 0.5 on attention weights and residuals, feed-forward 4x wide.
SASREC_LIKE = {"attention_dropout": 0.5, "feed_forward_multiplier": 4}


@pytest.fixture(name="any_tower", params=["lstm", "attention", "attention_sasrec_like"])
def _any_tower(request):
    tf_keras.utils.set_random_seed(0)
    return UserTower(
        EMBEDDING_DIM,
        lstm_units=6,
        num_scenarios=3,
        user_feature_sizes={"gender": 3, "age": 5},
        sequence_encoder=request.param.split("_")[0],
        max_history=HISTORY,
        dropout=0.2,
        **(SASREC_LIKE if request.param.endswith("sasrec_like") else {}),
    )


def _run_all_positions(tower, vectors, mask, scenario, features, training=False):
    per_position = np.repeat(scenario[:, np.newaxis], vectors.shape[1], axis=1)
    if training and tower.built:  # every dropout mask is keyed on a counter: reset, each call draws the same
        for variable in tower.non_trainable_variables:
            if variable.dtype == tf.int64:
                variable.assign(0)
    return tower(
        tf.constant(vectors),
        tf.constant(mask),
        tf.constant(per_position),
        {k: tf.constant(v) for k, v in features.items()},
        training=training,
        all_positions=True,
    ).numpy()


@pytest.mark.parametrize("training", [False, True])
def test_position_t_never_sees_later_items(any_tower, training):
    """Also in training, where dropout (on attention weights too) must not open a path to later items."""
    vectors, _, scenario, features = _inputs()
    mask = np.ones((2, HISTORY), bool)
    expected = _run_all_positions(any_tower, vectors, mask, scenario, features, training)
    assert expected.shape == (2, HISTORY, EMBEDDING_DIM)
    for t in range(HISTORY - 1):
        changed = vectors.copy()
        changed[:, t + 1 :] = 7.0
        got = _run_all_positions(any_tower, changed, mask, scenario, features, training)
        np.testing.assert_allclose(got[:, : t + 1], expected[:, : t + 1], rtol=1e-5, atol=1e-6)
        assert not np.allclose(got[:, t + 1 :], expected[:, t + 1 :])


def test_the_last_real_position_is_the_inference_embedding(any_tower):
    vectors, mask, scenario, features = _inputs()
    per_position = _run_all_positions(any_tower, vectors, mask, scenario, features)
    last = mask.sum(axis=1) - 1
    np.testing.assert_allclose(
        per_position[np.arange(2), last], _run(any_tower, vectors, mask, scenario, features), rtol=1e-5, atol=1e-6
    )


def test_context_dropout_trains_the_unknown_context():
    tower = UserTower(EMBEDDING_DIM, lstm_units=6, num_scenarios=3, user_feature_sizes={"age": 5}, context_dropout=1.0)
    vectors, mask, scenario, features = _inputs()
    features = {"age": features["age"]}
    args = (tf.constant(vectors), tf.constant(mask), tf.constant(scenario), {"age": tf.constant(features["age"])})
    unknown = (tf.constant(vectors), tf.constant(mask), tf.zeros(2, tf.int32), {"age": tf.zeros(2, tf.int32)})
    np.testing.assert_allclose(tower(*args, training=True).numpy(), tower(*unknown).numpy(), rtol=1e-5, atol=1e-6)
    assert not np.allclose(tower(*args).numpy(), tower(*unknown).numpy())  # inference reads the context


def test_unknown_encoder_and_attention_without_length_are_refused():
    with pytest.raises(ValueError, match="sequence_encoder"):
        UserTower(EMBEDDING_DIM, 6, 2, {}, sequence_encoder="gru")
    with pytest.raises(ValueError, match="max_history"):
        UserTower(EMBEDDING_DIM, 6, 2, {}, sequence_encoder="attention")


def test_config_round_trip(any_tower):
    run_config_round_trip(any_tower)


def test_attention_dropout_defaults_to_the_tower_dropout_without_weight_dropout():
    def encoder_settings(**kwargs):
        tower = UserTower(EMBEDDING_DIM, 6, 2, {}, sequence_encoder="attention", max_history=4, dropout=0.2, **kwargs)
        return tower.encoder.dropout_rate, tower.encoder.attention_dropout, tower.encoder.feed_forward_multiplier

    assert encoder_settings() == (0.2, 0.0, 1)
    assert encoder_settings(**SASREC_LIKE) == (0.5, 0.5, 4)
