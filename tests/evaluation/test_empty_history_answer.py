"""The evaluator's form of the empty-history score rule: one extra column reproduces it exactly."""

import numpy as np
import pytest

from tfrec_llm.evaluation.empty_history_answer import answer_empty_histories


def test_rows_with_history_keep_their_dot_products_and_the_others_get_the_rule():
    rng = np.random.default_rng(0)
    users, items = rng.normal(size=(5, 3)).astype(np.float32), rng.normal(size=(7, 3)).astype(np.float32)
    has_history = np.array([True, False, True, False, False])
    rule = np.arange(7, dtype=np.float32)[::-1] * 10
    augmented_users, augmented_items = answer_empty_histories(users, items, has_history, rule)
    scores = augmented_users @ augmented_items.T
    np.testing.assert_allclose(scores[has_history], (users @ items.T)[has_history], rtol=1e-6)
    np.testing.assert_array_equal(scores[~has_history], np.tile(rule, (3, 1)))
    assert augmented_users.dtype == augmented_items.dtype == np.float32
    assert augmented_users.shape == (5, 4) and augmented_items.shape == (7, 4)


def test_a_bad_mask_or_score_vector_is_refused_by_name():
    users, items = np.ones((2, 3)), np.ones((4, 3))
    with pytest.raises(ValueError, match=r"has_history must be a bool \[2\] mask"):
        answer_empty_histories(users, items, np.array([1, 0]), np.zeros(4))
    with pytest.raises(ValueError, match=r"has_history must be a bool \[2\] mask"):
        answer_empty_histories(users, items, np.array([True]), np.zeros(4))
    with pytest.raises(ValueError, match=r"one score per item \[4\]"):
        answer_empty_histories(users, items, np.array([True, False]), np.zeros(3))
