"""Tests for list metrics: Gini, coverage, tail share, novelty, diversity."""

import math

import numpy as np
import pytest

from tfrec_llm.evaluation.list_metrics import (
    catalog_coverage,
    exposure_counts,
    exposure_gini,
    gini,
    intra_list_diversity,
    novelty,
    tail_share,
)
from tfrec_llm.evaluation.ranking_metrics import EMPTY_SLOT

# Three lists over a 5-item catalog; the last list has one empty slot.
TOY_LISTS = np.array([[0, 1], [0, 2], [1, EMPTY_SLOT]])
TOY_NUM_ITEMS = 5


def test_gini_of_equal_values_is_zero():
    assert gini(np.full(7, 3.0)) == pytest.approx(0.0)


def test_gini_of_one_hot_is_n_minus_one_over_n():
    values = np.zeros(10)
    values[4] = 5.0
    assert gini(values) == pytest.approx(9 / 10)


def test_gini_by_hand():
    # sorted [0, 0, 1, 3, 4]: 2 * (3*1 + 4*3 + 5*4) / (5 * 8) - 6/5 = 0.55
    assert gini(np.array([3, 4, 0, 1, 0])) == pytest.approx(0.55)


def test_gini_rejects_bad_input():
    assert gini(np.zeros(4)) == 0.0
    with pytest.raises(ValueError, match="non-negative"):
        gini(np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="at least one value"):
        gini(np.array([]))


def test_exposure_and_coverage_ignore_empty_slots():
    np.testing.assert_array_equal(exposure_counts(TOY_LISTS, TOY_NUM_ITEMS), [2, 2, 1, 0, 0])
    assert catalog_coverage(TOY_LISTS, TOY_NUM_ITEMS) == pytest.approx(3 / 5)
    # sorted [0, 0, 1, 2, 2]: 2 * (3*1 + 4*2 + 5*2) / (5 * 5) - 6/5 = 0.48
    assert exposure_gini(TOY_LISTS, TOY_NUM_ITEMS) == pytest.approx(0.48)


def test_tail_share_counts_filled_slots():
    tail_items = np.array([False, True, True, False, False])
    # slots 0, 1, 0, 2, 1 -> tail items 1, 2, 1 -> 3 of 5
    assert tail_share(TOY_LISTS, tail_items) == pytest.approx(3 / 5)
    assert tail_share(np.full((2, 3), EMPTY_SLOT), tail_items) is None


def test_novelty_uses_add_one_smoothed_popularity():
    popularity = np.array([10, 3, 0, 1, 1])  # sum 15, smoothed denominator 20
    expected = (2 * -math.log2(11 / 20) + 2 * -math.log2(4 / 20) + -math.log2(1 / 20)) / 5
    assert novelty(TOY_LISTS, popularity) == pytest.approx(expected)


def test_intra_list_diversity_by_hand():
    features = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0], [0.0, 0.0], [3.0, 0.0]])
    lists = np.array(
        [
            [0, 1, 4],  # distances 1, 0, 1 -> mean 2/3
            [0, 2, EMPTY_SLOT],  # distance 1 - 1/sqrt(2)
            [3, 0, EMPTY_SLOT],  # zero vector -> distance 1
            [1, EMPTY_SLOT, EMPTY_SLOT],  # one item: skipped
        ]
    )
    expected = (2 / 3 + (1 - 1 / math.sqrt(2)) + 1.0) / 3
    assert intra_list_diversity(lists, features) == pytest.approx(expected)


def test_intra_list_diversity_without_pairs_is_none():
    features = np.eye(3)
    assert intra_list_diversity(np.array([[0, EMPTY_SLOT]]), features) is None


def test_list_metrics_reject_items_outside_the_catalog():
    with pytest.raises(ValueError, match=r"top_items must hold catalog indices in \[0, 2\)"):
        catalog_coverage(np.array([[0, 2]]), 2)
