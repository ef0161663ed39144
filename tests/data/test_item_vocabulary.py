"""Tests for the item index space and the id-embedding slots."""

import numpy as np

from tfrec_llm.data.item_vocabulary import (
    FIRST_ITEM_INDEX,
    OOV_SLOT,
    PAD_INDEX,
    PAD_SLOT,
    UNKNOWN_INDEX,
    ItemVocabulary,
)


def test_lookup_maps_catalog_ids_after_the_reserved_indices():
    vocabulary = ItemVocabulary(np.array(["a", "b", "c"]), np.array(["b"]))
    assert (PAD_INDEX, UNKNOWN_INDEX, FIRST_ITEM_INDEX) == (0, 1, 2)
    assert vocabulary.lookup(["a", "b", "c", "zzz"]).tolist() == [2, 3, 4, UNKNOWN_INDEX]
    assert vocabulary.lookup(np.array([], dtype=str)).tolist() == []
    assert vocabulary.num_items == 3
    assert vocabulary.size == 5


def test_only_trained_items_get_their_own_id_slot():
    vocabulary = ItemVocabulary(np.array(["a", "b", "c", "d"]), np.array(["d", "b", "not-in-catalog"]))
    # index:                      pad      unknown  a        b  c        d
    assert vocabulary.id_slots.tolist() == [PAD_SLOT, OOV_SLOT, OOV_SLOT, 2, OOV_SLOT, 3]
    assert vocabulary.id_slots.dtype == np.int32


def test_without_trained_items_everything_shares_the_oov_slot():
    vocabulary = ItemVocabulary(np.array(["a", "b"]), np.array([], dtype=str))
    assert vocabulary.id_slots.tolist() == [PAD_SLOT, OOV_SLOT, OOV_SLOT, OOV_SLOT]
