"""Tests for ranks (pessimistic ties, exclusions), top-k lists and rank metrics."""

import numpy as np
import pytest

from tfrec_llm.evaluation.ranking_metrics import (
    EMPTY_SLOT,
    mask_excluded_items,
    mean_reciprocal_rank,
    ndcg_at_k,
    per_example_values,
    recall_at_k,
    target_ranks,
    top_k_items,
    wilson_interval,
)

INVERSE_LOG2_OF_3 = 0.6309297535714575  # 1 / log2(3), the gain at rank 2


def test_target_tied_with_two_others_gets_the_pessimistic_rank():
    scores = np.array([[3.0, 5.0, 5.0, 5.0, 1.0]] * 3)
    ranks = target_ranks(scores, np.array([1, 3, 0]))
    # Target at 5.0 ties with two others -> rank 3 whichever of them it is;
    # the target at 3.0 has three strictly better items -> rank 4.
    np.testing.assert_array_equal(ranks, [3, 3, 4])


def test_all_equal_scores_give_the_worst_rank():
    ranks = target_ranks(np.zeros((1, 6)), np.array([0]))
    np.testing.assert_array_equal(ranks, [6])


def test_excluded_items_above_the_target_do_not_count():
    scores = np.array([[9.0, 8.0, 7.0, 6.0, 5.0]])
    ranks = target_ranks(scores, np.array([3]), [np.array([0, 2])])
    np.testing.assert_array_equal(ranks, [2])


def test_excluded_items_tied_with_the_target_do_not_count():
    scores = np.array([[5.0, 5.0, 5.0, 1.0]])
    ranks = target_ranks(scores, np.array([0]), [np.array([1])])
    np.testing.assert_array_equal(ranks, [2])


def test_target_listed_in_its_own_exclusions_still_ranks():
    scores = np.array([[9.0, 8.0, 7.0, 6.0, 5.0]])
    ranks = target_ranks(scores, np.array([3]), [np.array([0, 3])])
    np.testing.assert_array_equal(ranks, [3])
    masked = mask_excluded_items(scores, np.array([3]), [np.array([0, 3])])
    np.testing.assert_array_equal(masked, [[-np.inf, 8.0, 7.0, 6.0, 5.0]])


def test_ranks_match_a_brute_force_count_with_ties_and_exclusions():
    random = np.random.default_rng(0)
    scores = random.integers(0, 4, size=(30, 12)).astype(np.float64)
    targets = random.integers(0, 12, size=30)
    exclusions = [random.choice(12, size=random.integers(0, 6), replace=False) for _ in range(30)]
    ranks = target_ranks(scores, targets, exclusions)
    for row in range(30):
        others = [item for item in range(12) if item != targets[row] and item not in set(exclusions[row].tolist())]
        not_below = [item for item in others if scores[row, item] >= scores[row, targets[row]]]
        assert ranks[row] == 1 + len(not_below)


def test_rank_metrics_on_a_five_item_toy_case():
    scores = np.array(
        [
            [0.9, 0.1, 0.2, 0.3, 0.4],  # target 0 is best -> rank 1
            [0.9, 0.8, 0.2, 0.3, 0.4],  # target 1 is second -> rank 2
            [0.9, 0.8, 0.7, 0.6, 0.5],  # target 3 is fourth -> rank 4
            [0.9, 0.8, 0.7, 0.6, 0.5],  # target 4 is last -> rank 5
        ]
    )
    ranks = target_ranks(scores, np.array([0, 1, 3, 4]))
    np.testing.assert_array_equal(ranks, [1, 2, 4, 5])
    assert recall_at_k(ranks, 1) == pytest.approx(0.25)
    assert recall_at_k(ranks, 3) == pytest.approx(0.5)
    assert recall_at_k(ranks, 5) == pytest.approx(1.0)
    assert ndcg_at_k(ranks, 3) == pytest.approx((1.0 + INVERSE_LOG2_OF_3) / 4)
    assert ndcg_at_k(ranks, 1) == pytest.approx(0.25)
    # rank 4 -> 1/log2(5), rank 5 -> 1/log2(6)
    assert ndcg_at_k(ranks, 5) == pytest.approx(
        (1.0 + INVERSE_LOG2_OF_3 + 0.43067655807339306 + 0.38685280723454163) / 4
    )
    assert mean_reciprocal_rank(ranks) == pytest.approx((1 + 0.5 + 0.25 + 0.2) / 4)


def test_metrics_of_no_examples_are_none():
    empty = np.zeros(0, dtype=np.int64)
    assert recall_at_k(empty, 10) is None
    assert ndcg_at_k(empty, 10) is None
    assert mean_reciprocal_rank(empty) is None


def test_rank_inputs_are_validated():
    scores = np.zeros((1, 3))
    with pytest.raises(ValueError, match="finite"):
        target_ranks(np.array([[1.0, np.nan, 0.0]]), np.array([0]))
    with pytest.raises(ValueError, match=r"targets must be catalog indices in \[0, 3\)"):
        target_ranks(scores, np.array([3]))
    with pytest.raises(ValueError, match=r"exclude_items must hold catalog indices"):
        target_ranks(scores, np.array([0]), [np.array([-1])])
    with pytest.raises(ValueError, match="exclude_items has 2 entries for 1 examples"):
        target_ranks(scores, np.array([0]), [np.array([1]), np.array([2])])
    with pytest.raises(ValueError, match="ranks are 1-based"):
        recall_at_k(np.array([0, 1]), 5)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        recall_at_k(np.array([1]), 0)


def test_top_k_items_breaks_ties_like_a_stable_argsort():
    random = np.random.default_rng(1)
    scores = random.integers(0, 3, size=(50, 20)).astype(np.float64)
    expected = np.argsort(-scores, axis=1, kind="stable")[:, :7]
    np.testing.assert_array_equal(top_k_items(scores, 7), expected)


def test_top_k_items_on_a_toy_row():
    scores = np.array([[1.0, 3.0, 2.0, 3.0, 0.0]])
    np.testing.assert_array_equal(top_k_items(scores, 3), [[1, 3, 2]])


def test_top_k_items_leaves_excluded_and_missing_slots_empty():
    masked = mask_excluded_items(np.array([[1.0, 3.0, 2.0]]), np.array([0]), [np.array([1, 2])])
    np.testing.assert_array_equal(top_k_items(masked, 5), [[0, EMPTY_SLOT, EMPTY_SLOT, EMPTY_SLOT, EMPTY_SLOT]])


def test_wilson_interval_of_five_out_of_ten():
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-4)
    assert high == pytest.approx(0.7634, abs=1e-4)


def test_wilson_interval_at_the_edges():
    low, high = wilson_interval(0, 10)
    assert low == 0.0
    assert high == pytest.approx(0.2775, abs=1e-4)
    assert wilson_interval(0, 0) is None
    with pytest.raises(ValueError, match="Need 0 <= successes <= n"):
        wilson_interval(3, 2)


@pytest.mark.parametrize(
    "metric, expected",
    [
        ("recall@2", [1.0, 1.0, 0.0]),
        ("ndcg@2", [1.0, 1.0 / np.log2(3.0), 0.0]),
        ("mrr", [1.0, 0.5, 0.25]),
    ],
)
def test_per_example_values_by_hand_and_their_mean_is_the_metric(metric, expected):
    ranks = np.array([1, 2, 4])
    values = per_example_values(ranks, metric)
    np.testing.assert_allclose(values, expected)
    summary = {"recall@2": recall_at_k(ranks, 2), "ndcg@2": ndcg_at_k(ranks, 2), "mrr": mean_reciprocal_rank(ranks)}
    assert values.mean() == pytest.approx(summary[metric])


@pytest.mark.parametrize("metric", ["precision@10", "recall@0", "recall@x", "ndcg"])
def test_per_example_values_refuses_an_unknown_metric(metric):
    with pytest.raises(ValueError, match="unknown metric"):
        per_example_values(np.array([1, 2]), metric)
