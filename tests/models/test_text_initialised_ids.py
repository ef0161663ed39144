"""Tests for item-id rows initialised from text (`model.id_init: "text"`)."""

import numpy as np
import pytest
import tensorflow as tf

from tfrec_llm.data.item_vocabulary import OOV_SLOT, PAD_SLOT
from tfrec_llm.models.item_tower import ItemTower
from tfrec_llm.models.text_initialised_ids import (
    AUTO_MAX_ITEMS,
    DEFAULT_EMBEDDING_STD,
    text_initial_id_rows,
    text_initialisation_applies,
)

RNG = np.random.default_rng(0)
# Index space: 0 pad, 1 unknown, 2..7 items with their own slots; items 2 and 3 have the same text.
ID_SLOTS = np.array([PAD_SLOT, OOV_SLOT, 2, 3, 4, 5, 6, 7], np.int32)
TEXT = RNG.normal(size=(8, 12)).astype(np.float32)
TEXT[3] = TEXT[2]


def _cosine(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_items_with_the_same_text_start_with_the_same_row_and_others_apart():
    rows = text_initial_id_rows(TEXT, ID_SLOTS, 8, 4)
    assert rows.shape == (8, 4) and rows.dtype == np.float32
    np.testing.assert_allclose(rows[2], rows[3])
    assert _cosine(rows[2], rows[3]) > 0.999
    assert max(abs(_cosine(rows[2], rows[slot])) for slot in (4, 5, 6, 7)) < 0.999


def test_rows_keep_the_text_geometry_of_the_leading_components():
    # Text that lies in 3 dimensions is kept exactly by 3 components: cosines of centred vectors survive.
    basis = RNG.normal(size=(3, 12))
    text = RNG.normal(size=(8, 3)) @ basis
    rows = text_initial_id_rows(text, ID_SLOTS, 8, 3)
    centred = text - text.mean(axis=0)
    for a, b in ((2, 5), (4, 7), (3, 6)):
        assert _cosine(rows[a], rows[b]) == pytest.approx(_cosine(centred[a], centred[b]), abs=1e-5)


def test_rows_have_the_default_initialiser_scale_and_the_oov_row_is_zero():
    rows = text_initial_id_rows(TEXT, ID_SLOTS, 8, 4)
    np.testing.assert_array_equal(rows[OOV_SLOT], 0.0)
    assert rows[np.arange(8) != OOV_SLOT].std() == pytest.approx(DEFAULT_EMBEDDING_STD, rel=0.2)


def test_items_sharing_a_hashed_slot_start_at_the_mean_of_their_rows():
    shared = ID_SLOTS.copy()
    shared[5] = 4  # items 4 and 5 hash to one slot
    alone = text_initial_id_rows(TEXT, ID_SLOTS, 8, 4)
    together = text_initial_id_rows(TEXT, shared, 8, 4)
    np.testing.assert_allclose(together[4], (alone[4] + alone[5]) / 2, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(together[5], 0.0)  # no item left in slot 5


def test_more_components_than_the_text_has_is_a_clear_error():
    with pytest.raises(ValueError, match="lower model.embedding_dim"):
        text_initial_id_rows(TEXT, ID_SLOTS, 8, 13)
    with pytest.raises(ValueError, match="one row per id slot"):
        text_initial_id_rows(TEXT[:5], ID_SLOTS, 8, 4)


def test_the_item_tower_starts_its_id_embedding_at_the_given_rows():
    rows = text_initial_id_rows(TEXT, ID_SLOTS, 8, 4)
    tower = ItemTower(ID_SLOTS, 4, use_text=False, use_item_ids=True, id_initial_rows=rows)
    np.testing.assert_allclose(tower(tf.constant([2, 4])).numpy(), rows[[2, 4]], rtol=1e-6)
    with pytest.raises(ValueError, match=r"id_initial_rows must be \[8, 4\]"):
        ItemTower(ID_SLOTS, 4, use_text=False, use_item_ids=True, id_initial_rows=rows[:, :3])


def test_auto_uses_text_only_where_it_applies():
    assert text_initialisation_applies(TEXT, 4, both_paths=True)
    assert not text_initialisation_applies(None, 4, both_paths=True)  # fine-tuned text: no frozen vectors
    assert not text_initialisation_applies(TEXT, 4, both_paths=False)  # id_only / text_only
    assert not text_initialisation_applies(TEXT, 13, both_paths=True)  # wider than the text vectors
    assert not text_initialisation_applies(TEXT, 9, both_paths=True)  # more components than items
    assert not text_initialisation_applies(np.zeros((AUTO_MAX_ITEMS + 1, 12), np.float32), 4, both_paths=True)
