"""Hashed id slots: fixed-size embedding tables, the in-graph hash, the collision report."""

import numpy as np
import pytest

import tfrec_llm  # noqa: F401
import tensorflow as tf
import tf_keras

from tiny_fixtures import make_built_model, make_tiny_assets, make_tiny_config, make_tiny_encoder

from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX, OOV_SLOT, PAD_SLOT, ItemVocabulary
from tfrec_llm.models.id_hashing import (
    bucket_of,
    collision_report,
    hashed_feature_categories,
    hashed_item_slots,
)
from tfrec_llm.training.model_building import hashed_tables


def test_item_slots_are_the_in_graph_hash_and_keep_pad_and_oov():
    ids = np.array([f"item-{n}" for n in range(1000)])
    vocabulary = ItemVocabulary(ids, ids[:900])  # the last 100 are cold: OOV slot
    slots, report = hashed_item_slots(ids, vocabulary.id_slots, 64)
    assert slots[0] == PAD_SLOT and slots[1] == OOV_SLOT
    assert (slots[FIRST_ITEM_INDEX + 900 :] == OOV_SLOT).all()
    own = slots[FIRST_ITEM_INDEX : FIRST_ITEM_INDEX + 900]
    assert own.min() >= FIRST_ITEM_INDEX and own.max() < FIRST_ITEM_INDEX + 64
    # The same FarmHash a serving graph computes from the id string.
    in_graph = tf_keras.layers.Hashing(num_bins=64)(tf.constant(ids[:900])).numpy()
    np.testing.assert_array_equal(own, FIRST_ITEM_INDEX + in_graph)
    assert report["ids"] == 900 and report["buckets_used"] == 64
    assert report["collision_rate"] == 1.0  # 900 ids in 64 buckets: every bucket is shared


def test_collision_report_counts_ids_sharing_a_bucket():
    report = collision_report(np.array([0, 0, 1, 2, 2, 2, 5]), 8)
    assert report == {"ids": 7, "buckets": 8, "buckets_used": 4, "collision_rate": 5 / 7}
    many = collision_report(bucket_of(np.array([f"u{n}" for n in range(20_000)]), 1_000_000), 1_000_000)
    expected = 1 - (1 - 1e-6) ** 19_999  # random hashing
    assert many["collision_rate"] == pytest.approx(expected, abs=0.01)


def test_feature_categories_keep_unknown_at_zero():
    table, report = hashed_feature_categories(np.array(["north", "south", "east"]), 5)
    assert table[0] == 0 and len(table) == 4
    assert ((table[1:] >= 1) & (table[1:] <= 5)).all()
    assert report["ids"] == 3


def test_bucket_count_must_be_positive():
    with pytest.raises(ValueError, match="num_buckets must be >= 1"):
        bucket_of(np.array(["a"]), 0)


def test_hashed_model_has_bucket_sized_tables_and_trains(tmp_path):
    config = make_tiny_config(model={"id_hash_buckets": 7})
    encoder = make_tiny_encoder()
    experiment, assets = make_tiny_assets(config, encoder, tmp_path)
    model = make_built_model(config, assets, encoder)
    id_rows = model.item_tower.id_embedding.embeddings.shape[0]
    assert id_rows <= FIRST_ITEM_INDEX + 7 < len(assets.id_slots)
    _, _, report = hashed_tables(config, assets)
    assert report["item_ids"]["ids"] == int((assets.id_slots > OOV_SLOT).sum())
    features = experiment.training_features(config.model.training_targets)
    batch = {k: v[:8] for k, v in features.items()}
    loss = model.train_step(batch)["loss"]
    assert np.isfinite(float(loss))


def test_user_tower_reads_hashed_feature_categories():
    from tfrec_llm.models.user_tower import UserTower  # pylint: disable=import-outside-toplevel

    # Categories 1 and 3 share row 2; the embedding has max + 1 = 3 rows for a vocabulary of 4.
    tower = UserTower(8, 8, num_scenarios=2, user_feature_sizes={"region": 4}, feature_slots={"region": [0, 2, 1, 2]})
    history, mask, scenario = tf.ones([3, 2, 8]), tf.ones([3, 2], tf.bool), tf.zeros([3], tf.int32)
    users = tower(history, mask, scenario, {"region": tf.constant([1, 3, 2])})
    assert tower.feature_embeddings[0].embeddings.shape[0] == 3
    np.testing.assert_allclose(users[0], users[1])  # same bucket, same user vector
    assert not np.allclose(users[0], users[2])


def test_no_hashing_keeps_the_vocabulary_slots(tmp_path):
    config = make_tiny_config()
    _, assets = make_tiny_assets(config, make_tiny_encoder(), tmp_path)
    slots, feature_slots, report = hashed_tables(config, assets)
    assert slots is assets.id_slots and feature_slots is None and report is None
