"""Tests for the categorical vocabulary (0 = unknown)."""

import numpy as np

from tfrec_llm.data.category_vocabulary import UNKNOWN_CATEGORY, CategoryVocabulary


def test_values_are_sorted_unique_and_indexed_from_one():
    vocabulary = CategoryVocabulary(["web", "app", "web", "tv"])
    assert vocabulary.values.tolist() == ["app", "tv", "web"]
    assert vocabulary.size == 4
    assert vocabulary.lookup(["web", "app", "tv"]).tolist() == [3, 1, 2]


def test_unknown_values_map_to_zero_including_ones_sorting_past_the_end():
    vocabulary = CategoryVocabulary(["b", "d"])
    assert UNKNOWN_CATEGORY == 0
    assert vocabulary.lookup(["a", "c", "e", "", "d"]).tolist() == [0, 0, 0, 0, 2]
    assert vocabulary.lookup(np.array(["b"])).dtype == np.int32


def test_an_empty_vocabulary_knows_nothing():
    vocabulary = CategoryVocabulary([])
    assert vocabulary.size == 1
    assert vocabulary.lookup(["x", "y"]).tolist() == [0, 0]
