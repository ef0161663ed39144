"""Tests for the item tower: text MLP + id embedding, frozen and fine-tuned text."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from layer_checks import run_config_round_trip
from tiny_fixtures import make_tiny_encoder

from tfrec_llm.data.item_vocabulary import OOV_SLOT, PAD_SLOT
from tfrec_llm.models.item_tower import ItemTower

EMBEDDING_DIM = 8
# Index space: 0 pad, 1 unknown, 2..5 items; items 2 and 3 were trained (slots 2, 3), 4 and 5 are cold.
ID_SLOTS = np.array([PAD_SLOT, OOV_SLOT, 2, 3, OOV_SLOT, OOV_SLOT], np.int32)
TEXT_FEATURES = np.array([[0, 0, 0], [0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1]], np.float32)


def _frozen_tower(**kwargs):
    values = dict(use_text=True, use_item_ids=True, text_features=TEXT_FEATURES)
    values.update(kwargs)
    tower = ItemTower(ID_SLOTS, EMBEDDING_DIM, **values)
    tower(tf.constant([0]))
    return tower


def test_output_keeps_the_index_shape_and_adds_the_embedding_axis():
    tower = _frozen_tower()
    assert tower(tf.constant([2, 3, 4])).shape == (3, EMBEDDING_DIM)
    assert tower(tf.constant([[2, 3], [4, 0]])).shape == (2, 2, EMBEDDING_DIM)
    flat = tower(tf.constant([2, 3, 4, 0])).numpy()
    np.testing.assert_allclose(tower(tf.constant([[2, 3], [4, 0]])).numpy().reshape(4, -1), flat, rtol=1e-6)


def test_embedding_is_the_projected_text_plus_the_id_slot_embedding():
    tower = _frozen_tower()
    indices = tf.constant([2, 3, 4, 5, 0])
    slots = tf.gather(ID_SLOTS, indices).numpy()
    text = tower.text_projection(tf.gather(TEXT_FEATURES, indices)).numpy()
    ids = tower.id_embedding(slots).numpy() * (slots != OOV_SLOT)[:, None]  # OOV items: no id vector
    np.testing.assert_allclose(tower(indices).numpy(), text + ids, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tower(tf.constant([4])).numpy(), text[2:3], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tower.text_vectors(indices).numpy(), text, rtol=1e-6)


def test_cold_items_with_the_same_text_share_an_embedding_while_trained_items_differ():
    tower = _frozen_tower()
    vectors = tower(tf.constant([4, 5, 2, 3])).numpy()
    np.testing.assert_allclose(vectors[0], vectors[1])  # same text, both on the OOV slot
    assert not np.allclose(vectors[2], vectors[3])


def test_id_only_and_text_only_towers():
    ids_only = _frozen_tower(use_text=False, text_features=None)
    assert not hasattr(ids_only, "text_projection")
    vectors = ids_only(tf.constant([4, 5, 1, 2])).numpy()
    np.testing.assert_allclose(vectors[:3], 0.0)  # cold and unknown items have no id vector
    np.testing.assert_allclose(vectors[3], ids_only.id_embedding.embeddings.numpy()[2])
    text_only = _frozen_tower(use_item_ids=False)
    assert not hasattr(text_only, "id_embedding")
    np.testing.assert_allclose(text_only(tf.constant([4])).numpy(), text_only(tf.constant([5])).numpy())


def test_id_dropout_drops_trained_id_vectors_in_training_only():
    tower = _frozen_tower(use_text=False, text_features=None, item_id_dropout=1.0)
    indices = tf.constant([2, 3, 0, 4])
    table = tower.id_embedding.embeddings.numpy()
    no_vector = np.zeros_like(table[0])
    np.testing.assert_allclose(
        tower(indices, training=True).numpy(), [no_vector, no_vector, table[PAD_SLOT], no_vector]
    )
    np.testing.assert_allclose(tower(indices, training=False).numpy(), [table[2], table[3], table[PAD_SLOT], no_vector])


def test_partial_id_dropout_drops_some_ids_at_about_its_rate():
    tower = _frozen_tower(use_text=False, text_features=None, item_id_dropout=0.5)
    indices = tf.constant([2] * 400)
    vectors = tower(indices, training=True).numpy()
    dropped = np.all(np.isclose(vectors, 0.0), axis=1).mean()
    assert 0.35 < dropped < 0.65


def test_text_tables_are_not_trainable_but_projections_are():
    tower = _frozen_tower()
    trainable = {v.ref() for v in tower.trainable_variables}
    assert tower.text_features.ref() not in trainable
    assert tower.id_slots.ref() not in trainable
    assert tower.id_embedding.embeddings.ref() in trainable
    assert all(v.ref() in trainable for v in tower.text_projection.trainable_variables)


def test_use_text_needs_a_text_table_or_tokens_and_an_encoder():
    with pytest.raises(ValueError, match="use_text needs text_features"):
        ItemTower(ID_SLOTS, EMBEDDING_DIM, use_text=True)
    with pytest.raises(ValueError, match="token_ids \\+ text_encoder"):
        ItemTower(ID_SLOTS, EMBEDDING_DIM, use_text=True, token_ids=np.zeros((6, 4), np.int32))


def test_finetuned_text_runs_bert_once_per_distinct_item():
    encoder = make_tiny_encoder()
    texts = ["", "", "space galaxy", "love heart", "war battle", "war battle"]
    token_ids = encoder.tokenize(texts, 8)
    bridge = encoder.bridge_layer()
    tower = ItemTower(ID_SLOTS, EMBEDDING_DIM, token_ids=token_ids, text_encoder=bridge)
    assert tower.finetunes_text
    calls = []
    original_call = bridge.call
    bridge.call = lambda ids, training=None: calls.append(int(tf.shape(ids)[0])) or original_call(ids, training)
    vectors = tower.text_vectors(tf.constant([3, 2, 3, 3]), training=False).numpy()
    assert calls == [2]  # items 3 and 2, each encoded once
    expected = tower.text_projection(encoder.encode(token_ids[[3, 2]])).numpy()
    np.testing.assert_allclose(vectors, expected[[0, 1, 0, 0]], rtol=1e-4, atol=1e-5)
    assert {v.ref() for v in bridge.trainable_weights} <= {v.ref() for v in tower.trainable_variables}


POPULARITY = np.array([0, 0, 500, 1, 0, 0])


def test_gate_mixes_id_and_text_by_popularity_and_cold_items_stay_text():
    tower = _frozen_tower(fusion="gate", item_popularity=POPULARITY)
    indices = tf.constant([2, 3, 4])
    text = tower.text_projection(tf.gather(TEXT_FEATURES, indices)).numpy()
    ids = tower.id_embedding(tf.gather(ID_SLOTS, indices)).numpy()
    weight = tower.gate(np.log1p(POPULARITY[[2, 3]]).astype(np.float32)[:, None]).numpy()
    expected = np.concatenate([weight * ids[:2] + (1 - weight) * text[:2], text[2:]])
    np.testing.assert_allclose(tower(indices).numpy(), expected, rtol=1e-5, atol=1e-6)
    assert weight[0, 0] != weight[1, 0]  # a popular and a rare item get different weights


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gate_learns_to_lean_on_ids_where_they_help(seed):
    tf_keras.utils.set_random_seed(seed)  # the gate's initial value depends on the init: fixed, and several
    tower = _frozen_tower(fusion="gate", item_popularity=POPULARITY)
    optimizer = tf_keras.optimizers.Adam(0.05)
    target = tower.id_embedding(tf.constant([2])).numpy()  # the popular item's id vector is "right"
    before = float(tower.gate(np.log1p([[500.0]]).astype(np.float32)).numpy()[0, 0])
    for _ in range(50):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum((tower(tf.constant([2])) - target) ** 2)
        variables = tower.gate.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    after = float(tower.gate(np.log1p([[500.0]]).astype(np.float32)).numpy()[0, 0])
    assert after > before + 0.5 * (1.0 - before)  # most of the way to leaning on the id alone


def test_gate_needs_popularity():
    with pytest.raises(ValueError, match="item_popularity"):
        ItemTower(ID_SLOTS, EMBEDDING_DIM, text_features=TEXT_FEATURES, fusion="gate")


@pytest.mark.parametrize(
    "fusion, width", [("sum", EMBEDDING_DIM), ("gate", EMBEDDING_DIM), ("paths", 2 * EMBEDDING_DIM)]
)
def test_config_round_trip(fusion, width):
    restored = run_config_round_trip(_frozen_tower(fusion=fusion, item_popularity=POPULARITY))
    indices = tf.constant([2, 3, 4])
    assert restored(indices).shape == (3, width) and restored.output_dim == width


def test_paths_keep_a_unit_id_half_and_a_unit_text_half_and_cold_items_have_no_id_half():
    tower = _frozen_tower(fusion="paths")
    indices = tf.constant([2, 3, 4])
    text = tower.text_projection(tf.gather(TEXT_FEATURES, indices)).numpy()
    ids = tower.id_embedding(tf.gather(ID_SLOTS, indices)).numpy()
    vectors = tower(indices).numpy()
    assert vectors.shape == (3, 2 * EMBEDDING_DIM)
    unit = lambda v: v / np.linalg.norm(v, axis=-1, keepdims=True)  # noqa: E731
    np.testing.assert_allclose(vectors[:2, :EMBEDDING_DIM], unit(ids[:2]) / np.sqrt(2), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(vectors[:, EMBEDDING_DIM:], unit(text) / np.sqrt(2), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(vectors[2, :EMBEDDING_DIM], 0.0)  # item 4: cold, its text alone
    np.testing.assert_allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, rtol=1e-5)


def test_paths_with_one_modality_is_that_modality_alone():
    ids_only = _frozen_tower(fusion="paths", use_text=False, text_features=None)
    assert not ids_only.paths and ids_only(tf.constant([2])).shape == (1, EMBEDDING_DIM)


def _cosines(vectors):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return unit @ unit.T


def test_text_geometry_loss_is_the_mean_squared_gap_between_projected_and_bert_cosines():
    tower = _frozen_tower()
    items = tf.constant([2, 3, 4])
    projected = np.array([[1, 0, 0, 0, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0, 0, 0], [0, 0, 3, 0, 0, 0, 0, 0]], np.float32)
    expected = np.mean((_cosines(projected) - _cosines(TEXT_FEATURES[2:5])) ** 2)
    np.testing.assert_allclose(tower.text_geometry_loss(items, tf.constant(projected)).numpy(), expected, rtol=1e-5)
    keeps_cosines = np.pad(2 * TEXT_FEATURES[2:5], [(0, 0), (0, EMBEDDING_DIM - 3)])
    assert tower.text_geometry_loss(items, tf.constant(keeps_cosines)).numpy() < 1e-6


def test_training_on_the_text_geometry_loss_brings_projected_cosines_to_bert_cosines():
    tf_keras.utils.set_random_seed(3)
    tower = _frozen_tower()
    items = tf.constant([2, 3, 4])
    optimizer = tf_keras.optimizers.Adam(0.05)
    losses = []
    for _ in range(60):
        with tf.GradientTape() as tape:
            loss = tower.text_geometry_loss(items, tower.text_vectors(items))
        variables = tower.text_projection.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        losses.append(float(loss))
    assert losses[0] > 0.05 and losses[-1] < 0.1 * losses[0]


def _prior_gaps(tower, items):
    """1 - cosine between each item's id row and the prior map of its unit text vector, by hand."""
    rows = tower.id_embedding.embeddings.numpy()[ID_SLOTS[items]].astype(np.float64)
    text = TEXT_FEATURES[items] / np.linalg.norm(TEXT_FEATURES[items], axis=1, keepdims=True)
    predicted = text @ tower.id_prior_map.kernel.numpy().astype(np.float64)
    unit = lambda v: v / np.linalg.norm(v, axis=-1, keepdims=True)  # noqa: E731
    return 1.0 - np.sum(unit(rows) * unit(predicted), axis=1)


def test_id_text_prior_loss_is_the_mean_gap_over_items_with_an_id_row():
    tower = _frozen_tower(id_text_prior=True)
    tower.id_text_prior_loss(tf.constant([2]))  # builds the map
    gaps = _prior_gaps(tower, [2, 3])
    assert gaps.std() > 1e-3  # the two items differ, so the mean below tells them apart
    # Every item index: only items 2 and 3 have rows (pad, unknown and the cold items weigh 0).
    np.testing.assert_allclose(tower.id_text_prior_loss().numpy(), gaps.mean(), rtol=1e-5)
    # Given items: repeats count again, items without a row weigh 0.
    expected = (2 * gaps[0] + gaps[1]) / 3
    np.testing.assert_allclose(tower.id_text_prior_loss(tf.constant([2, 2, 3, 4])).numpy(), expected, rtol=1e-5)
    assert tower.id_text_prior_loss(tf.constant([4, 5])).numpy() == 0.0


def test_training_on_the_id_text_prior_moves_both_the_id_rows_and_the_map_until_rows_follow_their_text():
    tf_keras.utils.set_random_seed(4)
    tower = _frozen_tower(id_text_prior=True)
    tower.id_text_prior_loss()
    rows_before = tower.id_embedding.embeddings.numpy().copy()
    map_before = tower.id_prior_map.kernel.numpy().copy()
    optimizer = tf_keras.optimizers.Adam(0.05)
    variables = [tower.id_embedding.embeddings, tower.id_prior_map.kernel]
    losses = []
    for _ in range(60):
        with tf.GradientTape() as tape:
            loss = tower.id_text_prior_loss()
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        losses.append(float(loss))
    assert losses[0] > 0.3 and losses[-1] < 0.01
    assert not np.allclose(tower.id_embedding.embeddings.numpy()[2:4], rows_before[2:4])
    assert not np.allclose(tower.id_prior_map.kernel.numpy(), map_before)


def test_the_id_text_prior_needs_ids_and_frozen_text():
    with pytest.raises(ValueError, match="id_text_prior needs use_text and use_item_ids with frozen text_features"):
        _frozen_tower(id_text_prior=True, use_item_ids=False)
    with pytest.raises(ValueError, match="id_text_prior needs use_text and use_item_ids with frozen text_features"):
        _frozen_tower(id_text_prior=True, use_text=False, text_features=None)


def test_config_round_trip_keeps_the_id_text_prior():
    restored = run_config_round_trip(_frozen_tower(id_text_prior=True))
    assert restored.id_text_prior
    assert restored.id_text_prior_loss().shape == ()
