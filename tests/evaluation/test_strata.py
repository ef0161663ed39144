"""Tests for item strata (head/tail/cold), user activity strata and buckets."""

import numpy as np
import pytest

from tfrec_llm.evaluation.strata import (
    head_item_count,
    head_item_mask,
    item_strata,
    popularity_buckets,
    scenario_strata,
    user_activity_strata,
)


def test_head_takes_popular_items_until_eighty_percent():
    # total 100; sorted 50 (item 1), 30 (item 2) -> 0.5, 0.8 reaches 0.8
    popularity = np.array([10, 50, 30, 5, 5, 0])
    np.testing.assert_array_equal(head_item_mask(popularity, 0.8), [False, True, True, False, False, False])


def test_head_includes_the_item_that_crosses_the_share():
    # total 100; 40 -> 0.4, 35 -> 0.75, 25 -> 1.0: the third item crosses 0.8
    popularity = np.array([35, 25, 40])
    np.testing.assert_array_equal(head_item_mask(popularity, 0.8), [True, True, True])
    np.testing.assert_array_equal(head_item_mask(popularity, 0.4), [False, False, True])


def test_head_breaks_popularity_ties_by_lower_index():
    # total 40; four items of 10: 0.25, 0.5 -> two items reach 0.5
    np.testing.assert_array_equal(head_item_mask(np.array([10, 10, 10, 10]), 0.5), [True, True, False, False])


def test_head_is_empty_without_interactions():
    assert not head_item_mask(np.zeros(4), 0.8).any()
    assert head_item_count(np.zeros(4), 0.8) == 0


@pytest.mark.parametrize("popularity, share", [([7, 6, 6, 6], 0.28), ([7, 6, 6, 6, 6, 6, 6, 7], 0.14)])
def test_an_item_holding_exactly_the_share_is_the_whole_head(popularity, share):
    # 7 / 25 == 0.28 and 7 / 50 == 0.14, but 0.28 * 25 and 0.14 * 50 round up past 7 in floating point
    popularity = np.array(popularity)
    assert head_item_count(popularity, share) == 1
    assert head_item_mask(popularity, share).tolist() == [True] + [False] * (len(popularity) - 1)


def test_head_count_and_mask_agree_and_hold_the_share():
    rng = np.random.default_rng(0)
    for _ in range(200):
        popularity = rng.integers(0, 30, size=rng.integers(1, 12))
        share = float(rng.choice([0.1, 0.14, 0.28, 0.5, 0.56, 0.8, 1.0]))
        count = head_item_count(popularity, share)
        head = head_item_mask(popularity, share)
        assert head.sum() == count
        total = popularity.sum()
        if total:
            held = np.sort(popularity)[::-1]
            assert held[:count].sum() / total >= share
            assert held[: count - 1].sum() / total < share  # the smallest such set


def test_item_strata_split_head_tail_and_cold():
    popularity = np.array([10, 50, 30, 5, 5, 0, 0])
    cold = np.array([False, False, False, False, False, True, False])
    item_masks = item_strata(popularity, cold, 0.8)
    np.testing.assert_array_equal(np.flatnonzero(item_masks["head"]), [1, 2])
    # Item 6 has no interactions but is not flagged cold: it is tail.
    np.testing.assert_array_equal(np.flatnonzero(item_masks["tail"]), [0, 3, 4, 6])
    np.testing.assert_array_equal(np.flatnonzero(item_masks["cold_items"]), [5])
    np.testing.assert_array_equal(np.flatnonzero(item_masks["warm_items"]), [0, 1, 2, 3, 4, 6])


def test_item_strata_reject_cold_items_with_interactions():
    with pytest.raises(ValueError, match=r"items \[0\] are flagged cold"):
        item_strata(np.array([3, 1]), np.array([True, False]), 0.8)
    with pytest.raises(ValueError, match="cold_item_mask must be a bool array"):
        item_strata(np.array([3, 1]), np.array([0, 1]), 0.8)
    with pytest.raises(ValueError, match=r"head_share must be in \(0, 1\]"):
        item_strata(np.array([3, 1]), np.array([False, False]), 1.5)


def test_user_activity_strata_boundaries():
    user_masks = user_activity_strata(np.array([0, 5, 6, 20, 21]))
    np.testing.assert_array_equal(user_masks["new_users"], [True, False, False, False, False])
    np.testing.assert_array_equal(user_masks["sparse_users"], [True, True, False, False, False])
    np.testing.assert_array_equal(user_masks["medium_users"], [False, False, True, True, False])
    np.testing.assert_array_equal(user_masks["heavy_users"], [False, False, False, False, True])


def test_scenario_strata_one_mask_per_scenario():
    scenario_masks = scenario_strata(np.array(["web", "app", "web"]))
    assert list(scenario_masks) == ["scenario:app", "scenario:web"]
    np.testing.assert_array_equal(scenario_masks["scenario:web"], [True, False, True])


def test_popularity_buckets_have_equal_item_counts_most_popular_first():
    popularity = np.array([1, 9, 5, 0, 7, 3, 8, 2, 6, 4])
    buckets = popularity_buckets(popularity, 5)
    # sorted: 9 (1), 8 (6), 7 (4), 6 (8), 5 (2), 4 (9), 3 (5), 2 (7), 1 (0), 0 (3)
    np.testing.assert_array_equal(buckets, [4, 0, 2, 4, 1, 3, 0, 3, 1, 2])
    np.testing.assert_array_equal(np.bincount(buckets), [2, 2, 2, 2, 2])


def test_popularity_buckets_with_more_buckets_than_items():
    buckets = popularity_buckets(np.array([5, 7]), 3)
    np.testing.assert_array_equal(buckets, [1, 0])
