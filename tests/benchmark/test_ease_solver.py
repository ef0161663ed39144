"""Tests for EaseClosedForm: the users-side (Woodbury) and items-side solves equal the direct N x N solve."""

import numpy as np
import pytest

from tfrec_llm.benchmark.ease_solver import EaseClosedForm, gram_matrix, item_weights_from_gram


def random_ones(num_users: int, num_items: int, density: float, seed: int):
    """(user rows, items) of a random binary matrix with every user holding at least one item."""
    rng = np.random.default_rng(seed)
    x = rng.random((num_users, num_items)) < density
    x[np.arange(num_users), rng.integers(num_items, size=num_users)] = True
    rows, items = np.nonzero(x)
    return rows, items


@pytest.mark.parametrize("num_users, num_items", [(15, 40), (60, 25)])
@pytest.mark.parametrize("l2", [0.5, 30.0])
def test_fast_path_equals_the_direct_solve(num_users, num_items, l2):
    rows, items = random_ones(num_users, num_items, 0.3, seed=num_users)
    direct = item_weights_from_gram(gram_matrix(rows, items, num_items), l2)
    solved = EaseClosedForm(rows, items, num_users, num_items, l2)
    assert solved.uses_users == (num_users < num_items)
    weights = solved.item_weights()
    np.testing.assert_allclose(weights, direct, rtol=1e-9, atol=1e-12)
    assert np.diag(weights).tolist() == [0.0] * num_items
    # Scores of a few multi-hot users, computed without forming B, are x B.
    queries = np.zeros((4, num_items))
    queries[[0, 0, 1, 2, 3, 3, 3], [1, 5, 2, 7, 0, 3, 9]] = 1.0
    np.testing.assert_allclose(solved.scores(queries), queries @ direct, rtol=1e-9, atol=1e-12)


def test_duplicate_events_count_once_and_l2_must_be_positive():
    rows, items = np.array([0, 0, 0, 1]), np.array([1, 1, 2, 2])
    once = EaseClosedForm(np.array([0, 0, 1]), np.array([1, 2, 2]), 2, 4, 1.0)
    np.testing.assert_allclose(EaseClosedForm(rows, items, 2, 4, 1.0).item_weights(), once.item_weights())
    with pytest.raises(ValueError, match="must be positive"):
        EaseClosedForm(rows, items, 2, 4, 0.0)
