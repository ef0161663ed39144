"""A score rule for requests without history, in the evaluator's dot-product form.

With `model.empty_history_answer` "popularity", a request whose history
holds no known catalog item is ranked by item popularity instead of by its
user vector (the `retrieval` export applies the same rule in-graph). The
evaluator ranks `users @ items.T`; one extra column carries the rule
exactly: users' = [u * has, 1 - has] and items' = [v, s], so a row with
history scores u . v and a row without scores s (the rule's item scores).

Ranking by training counts equals ranking by the export's popularity prior
`log(1 + count) / log(1 + max count)` (a strictly increasing map: same
order, same ties), so the evaluator can pass either.
"""

from typing import Tuple

import numpy as np


def answer_empty_histories(
    users: np.ndarray, items: np.ndarray, has_history: np.ndarray, empty_history_scores: np.ndarray
) -> Tuple[np.ndarray, np.ndarray]:
    """(users' [n, d + 1], items' [N, d + 1]): dot products u . v where `has_history`, else the item's score.

    Args:
        users: float [n, d] user vectors.
        items: float [N, d] item vectors.
        has_history: bool [n], whether each row's history holds a known item.
        empty_history_scores: float [N], what a row without history scores per item.

    Example:
        users, items = answer_empty_histories(
            np.array([[1.0], [1.0]]), np.array([[2.0], [3.0]]), np.array([True, False]), np.array([7.0, 5.0]))
        users @ items.T  # [[2, 3], [7, 5]]
    """
    users, items = np.asarray(users), np.asarray(items)
    has_history = np.asarray(has_history)
    empty_history_scores = np.asarray(empty_history_scores)
    if has_history.dtype != bool or has_history.shape != (len(users),):
        raise ValueError(
            f"has_history must be a bool [{len(users)}] mask, got {has_history.dtype} {has_history.shape}."
        )
    if empty_history_scores.shape != (len(items),):
        raise ValueError(
            f"empty_history_scores must hold one score per item [{len(items)}], got {empty_history_scores.shape}."
        )
    dtype = np.result_type(users.dtype, items.dtype, np.float32)
    kept = has_history[:, np.newaxis]
    augmented_users = np.concatenate([np.where(kept, users, 0), (~kept).astype(dtype)], axis=1).astype(dtype)
    augmented_items = np.concatenate([items, empty_history_scores[:, np.newaxis]], axis=1).astype(dtype)
    return augmented_users, augmented_items
