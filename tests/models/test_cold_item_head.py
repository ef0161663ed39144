"""Tests for the cold-item head: its loss by hand, which items it serves, and that only it learns."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from layer_checks import run_config_round_trip
from tiny_fixtures import make_built_model, make_tiny_assets, make_tiny_config, make_tiny_encoder

from tfrec_llm.data.item_vocabulary import OOV_SLOT, PAD_SLOT
from tfrec_llm.experiment_config import ExperimentConfig
from tfrec_llm.models.cold_item_head import COLD_SHARE, cold_candidates, cold_retrieval_loss
from tfrec_llm.models.item_tower import ItemTower

EMBEDDING_DIM = 8
# 0 pad, 1 unknown, 2..5 items; items 2 and 3 have id slots, 4 and 5 are cold.
ID_SLOTS = np.array([PAD_SLOT, OOV_SLOT, 2, 3, OOV_SLOT, OOV_SLOT], np.int32)
TEXT_FEATURES = np.array([[0, 0, 0], [0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]], np.float32)
POPULARITY = np.array([0, 0, 500, 1, 0, 0])


def _tower(**kwargs):
    values = dict(text_features=TEXT_FEATURES, fusion="gate", item_popularity=POPULARITY)
    values.update(kwargs)
    tower = ItemTower(ID_SLOTS, EMBEDDING_DIM, **values)
    tower(tf.constant([0]))
    return tower


def test_cold_retrieval_loss_scores_cold_candidates_by_their_cold_vectors_and_only_they_learn():
    users = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    candidates = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [0.8, 0.6]], np.float32)
    cold = tf.Variable(np.array([[0.0, 1.0], [0.8, -0.6], [0.6, 0.8], [1.0, 0.0]], np.float32))
    is_cold = np.array([True, False, True, False])
    labels = np.array([0, 2])
    mask = np.array([True, True, True, False])  # the fourth candidate does not compete
    with tf.GradientTape(persistent=True) as tape:
        users_v, candidates_v = tf.constant(users), tf.constant(candidates)
        tape.watch([users_v, candidates_v])
        loss = cold_retrieval_loss(users_v, candidates_v, cold, is_cold, labels, mask, 0.5)
    scored = np.where(is_cold[:, None], cold.numpy(), candidates)  # cold rows as positives and as negatives
    expected = []
    for row, label in enumerate(labels):
        logits = np.where(mask, users[row] @ scored.T / 0.5, -1e9)
        expected.append(np.log(np.exp(logits).sum()) - logits[label])
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-5)
    assert tape.gradient(loss, users_v) is None
    assert tape.gradient(loss, candidates_v) is None
    cold_gradient = np.abs(tape.gradient(loss, cold).numpy()).sum(axis=1)
    assert cold_gradient[0] > 0 and cold_gradient[2] > 0 and cold_gradient[1] == 0 and cold_gradient[3] == 0


def test_cold_candidates_are_a_stateless_share():
    first, again = cold_candidates(10_000, tf.constant(3, tf.int64)), cold_candidates(10_000, tf.constant(3, tf.int64))
    np.testing.assert_array_equal(first.numpy(), again.numpy())
    assert abs(first.numpy().mean() - COLD_SHARE) < 0.02
    assert not np.array_equal(first.numpy(), cold_candidates(10_000, tf.constant(4, tf.int64)).numpy())


def test_items_without_an_id_slot_get_the_projected_text_plus_the_head_correction():
    plain, headed = _tower(), _tower(cold_item_head=True)
    for name in ("text_projection", "id_embedding", "gate"):
        getattr(headed, name).set_weights(getattr(plain, name).get_weights())
    indices = tf.constant([2, 3, 4, 5, 1])
    before = plain(indices).numpy()
    np.testing.assert_array_equal(headed(indices).numpy(), before)  # an untrained head corrects nothing
    output_layer = headed.cold_head.layers[-1]
    output_layer.set_weights([np.random.default_rng(0).normal(size=w.shape) for w in output_layer.get_weights()])
    after = headed(indices).numpy()
    np.testing.assert_array_equal(after[:2], before[:2])
    correction = headed.cold_head(tf.gather(TEXT_FEATURES, [4, 5, 1])).numpy()
    np.testing.assert_allclose(after[2:], before[2:] + correction, rtol=1e-5, atol=1e-6)
    assert np.abs(correction).max() > 0.1
    served = headed.text_only_path()(tf.gather(TEXT_FEATURES, [4, 5, 1])).numpy()  # what the export runs
    np.testing.assert_allclose(served, after[2:], rtol=1e-5, atol=1e-6)
    assert plain.text_only_path() is plain.text_projection


def test_id_dropped_items_keep_the_projected_text_in_training():
    tower = _tower(cold_item_head=True, item_id_dropout=1.0)
    indices = tf.constant([2, 3])
    np.testing.assert_allclose(
        tower(indices, training=True).numpy(), tower.text_vectors(indices).numpy(), rtol=1e-6, atol=1e-7
    )


def test_the_head_needs_text_and_ids():
    with pytest.raises(ValueError, match="cold_item_head"):
        ItemTower(ID_SLOTS, EMBEDDING_DIM, use_item_ids=False, text_features=TEXT_FEATURES, cold_item_head=True)


def test_config_round_trip_keeps_the_head():
    restored = run_config_round_trip(_tower(cold_item_head=True))
    assert restored.has_cold_head
    config = ExperimentConfig.from_dict({"model": {"cold_item_head": True}})
    assert ExperimentConfig.from_dict(config.to_dict()).model.cold_item_head
    assert not ExperimentConfig().model.cold_item_head


def _cold_loss(model, batch, num_rows):
    """The head's loss over the batch targets at one fixed draw of cold candidates, from public parts."""
    users = model(batch)["user_embedding"]
    table = model.item_embeddings(tf.range(num_rows))
    cold = tf.math.l2_normalize(model.item_tower.cold_item_vectors(tf.range(num_rows)), axis=-1)
    mask = model.item_tower.id_slots.numpy() > OOV_SLOT
    is_cold = cold_candidates(num_rows, tf.constant(0, tf.int64)).numpy()
    losses = cold_retrieval_loss(users, table, cold, is_cold, batch["target"], mask, 0.1).numpy()
    return float(losses[is_cold[batch["target"]]].mean())


@pytest.mark.slow
def test_the_head_learns_while_warm_items_and_users_train_as_without_it(tmp_path):
    encoder = make_tiny_encoder()
    overrides = {"model": {"negatives": "full_catalog", "temperature": 0.1}, "train": {"learning_rate": 0.01}}
    experiment, assets = make_tiny_assets(make_tiny_config(**overrides), encoder, tmp_path)
    sequences = tf.data.Dataset.from_tensor_slices(experiment.training_features("every_position")).batch(16)
    batch = {name: values[:32] for name, values in experiment.train_examples.features().items()}
    models = []
    for head in (False, True):
        tf_keras.utils.set_random_seed(0)
        config = make_tiny_config(**{**overrides, "model": {**overrides["model"], "cold_item_head": head}})
        model = make_built_model(config, assets)
        untrained_head = model.item_tower.cold_head.get_weights() if head else None
        model.fit(sequences.take(6), epochs=2, verbose=0)
        models.append(model)
    plain, headed = models
    trained_loss = _cold_loss(headed, batch, assets.num_index_rows)
    headed.item_tower.cold_head.set_weights(untrained_head)
    assert trained_loss < _cold_loss(headed, batch, assets.num_index_rows) - 0.1  # same backbone, untrained head
    warm = np.flatnonzero(assets.id_slots > OOV_SLOT)
    np.testing.assert_allclose(
        headed.item_embeddings(tf.constant(warm)).numpy(), plain.item_embeddings(tf.constant(warm)).numpy(), atol=1e-6
    )
    np.testing.assert_allclose(
        headed(batch)["user_embedding"].numpy(), plain(batch)["user_embedding"].numpy(), atol=1e-6
    )


def test_adapt_carries_the_head_and_its_projection_part_trains_it(tmp_path):
    from tfrec_llm.training.domain_transfer import all_layers, part_layers, transfer_weights  # pylint: disable=import-outside-toplevel

    config = make_tiny_config(model={"cold_item_head": True})
    _, assets = make_tiny_assets(config, make_tiny_encoder(), tmp_path)
    source, target = make_built_model(config, assets), make_built_model(config, assets)
    head = source.item_tower.cold_head
    head.set_weights([np.random.default_rng(1).normal(size=w.shape) for w in head.get_weights()])
    transfer_weights(source, target, assets.scenario_values, assets.scenario_values)
    for trained, carried in zip(head.get_weights(), target.item_tower.cold_head.get_weights()):
        np.testing.assert_array_equal(carried, trained)
    assert target.item_tower.cold_head in part_layers(target, "projection")
    assert target.item_tower.cold_head in all_layers(target)


def test_in_batch_negatives_train_the_head_too(tmp_path):
    config = make_tiny_config(model={"cold_item_head": True, "negatives": "in_batch"})
    experiment, assets = make_tiny_assets(config, make_tiny_encoder(), tmp_path)
    model = make_built_model(config, assets)
    sequences = {k: v[:8] for k, v in experiment.training_features("every_position").items()}
    with tf.GradientTape() as tape:
        loss = model.compute_loss(sequences, training=True)
    output_layer = model.item_tower.cold_head.layers[-1]  # the hidden layer learns once it is non-zero
    gradients = tape.gradient(loss, output_layer.trainable_variables)
    assert np.isfinite(loss.numpy()) and all(np.abs(g.numpy()).sum() > 0 for g in gradients)
