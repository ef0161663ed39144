"""Tests for id vectors of items without an id row, mapped from their text (`model.cold_item_ids`)."""

import numpy as np
import pytest
import tensorflow as tf
from layer_checks import run_config_round_trip

from tfrec_llm.config.config_checks import ConfigError
from tfrec_llm.data.item_vocabulary import OOV_SLOT, PAD_SLOT
from tfrec_llm.experiment_config import ExperimentConfig
from tfrec_llm.models.cold_id_map import fit_text_to_id_map
from tfrec_llm.models.item_tower import ItemTower

EMBEDDING_DIM = 4
# Index space: 0 pad, 1 unknown, 2..4 trained (slots 2..4); 5 is cold and has item 3's text.
ID_SLOTS = np.array([PAD_SLOT, OOV_SLOT, 2, 3, 4, OOV_SLOT], np.int32)
TEXT_FEATURES = np.array([[0, 0, 0], [0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 2, 0]], np.float32)


def _paths_tower(**kwargs):
    tower = ItemTower(ID_SLOTS, EMBEDDING_DIM, text_features=TEXT_FEATURES, fusion="paths", **kwargs)
    tower(tf.constant([0]))
    return tower


def test_a_cold_item_gets_the_id_direction_of_the_trained_item_with_its_text():
    rows = np.random.default_rng(0).normal(size=(5, EMBEDDING_DIM)).astype(np.float32)
    mapped = TEXT_FEATURES[5] / 2 @ fit_text_to_id_map(TEXT_FEATURES, ID_SLOTS, rows, l2=1e-6)
    np.testing.assert_allclose(mapped, rows[3] / np.linalg.norm(rows[3]), atol=1e-4)


def test_more_ridge_shrinks_the_map():
    rows = np.random.default_rng(0).normal(size=(5, EMBEDDING_DIM)).astype(np.float32)
    norms = [np.linalg.norm(fit_text_to_id_map(TEXT_FEATURES, ID_SLOTS, rows, l2)) for l2 in (0.1, 1.0, 10.0)]
    assert norms[0] > norms[1] > norms[2] > 0


def test_no_item_with_an_id_row_is_a_clear_error():
    with pytest.raises(ValueError, match="No item has a trained id row"):
        fit_text_to_id_map(TEXT_FEATURES, np.full(6, OOV_SLOT), np.zeros((2, EMBEDDING_DIM)), 1.0)
    with pytest.raises(ValueError, match="No item has a trained id row"):  # rows `adapt` left at zero
        fit_text_to_id_map(TEXT_FEATURES, ID_SLOTS, np.zeros((5, EMBEDDING_DIM)), 1.0)


def test_a_tower_without_trained_rows_keeps_its_map():
    tower = _paths_tower(maps_cold_ids=True, cold_id_map=np.ones((3, EMBEDDING_DIM)))
    tower.id_embedding.embeddings.assign(np.zeros_like(tower.id_embedding.embeddings.numpy()))
    np.testing.assert_allclose(tower.fit_cold_id_map(l2=1.0), 1.0)


def test_unfitted_map_leaves_cold_items_their_text_alone_and_the_fitted_one_gives_them_an_id_half():
    plain, mapped = _paths_tower(), _paths_tower(maps_cold_ids=True)
    mapped.set_weights(plain.get_weights() + [np.zeros_like(mapped.cold_id_map.numpy())])
    indices = tf.constant([2, 3, 4, 5])
    np.testing.assert_allclose(mapped(indices).numpy(), plain(indices).numpy(), atol=1e-6)
    mapped.fit_cold_id_map(l2=1e-6)
    after = mapped(indices).numpy()
    np.testing.assert_allclose(after[:3], plain(indices).numpy()[:3], atol=1e-6)  # items with a row: unchanged
    np.testing.assert_allclose(after[3, :EMBEDDING_DIM], after[1, :EMBEDDING_DIM], atol=1e-3)  # item 3's id half
    training = mapped(indices, training=True).numpy()  # training never reads the map
    np.testing.assert_allclose(training[3, :EMBEDDING_DIM], 0.0, atol=1e-6)


def test_the_map_is_part_of_the_config_and_the_checkpoint():
    tower = _paths_tower(maps_cold_ids=True)
    tower.fit_cold_id_map(l2=1.0)
    restored = run_config_round_trip(tower)
    np.testing.assert_allclose(restored.cold_id_map.numpy(), tower.cold_id_map.numpy())
    assert any(v is tower.cold_id_map for v in tower.non_trainable_variables)


@pytest.mark.parametrize(
    "values, message",
    [
        ({"model": {"cold_item_ids": "from_text"}}, 'needs model.fusion "paths"'),  # default fusion: gate
        ({"model": {"cold_item_ids": "from_text", "fusion": "paths"}, "text": {"mode": "finetune"}}, "frozen"),
        ({"model": {"cold_item_ids": "mapped"}}, "model.cold_item_ids"),
        ({"model": {"cold_item_ids_l2": 0}}, "model.cold_item_ids_l2"),
    ],
)
def test_bad_cold_item_settings_are_config_errors(values, message):
    with pytest.raises(ConfigError, match=message):
        ExperimentConfig.from_dict(values)


def test_the_tower_refuses_a_map_it_cannot_use():
    with pytest.raises(ValueError, match="maps_cold_ids needs fusion 'paths'"):
        ItemTower(ID_SLOTS, EMBEDDING_DIM, text_features=TEXT_FEATURES, fusion="sum", maps_cold_ids=True)
