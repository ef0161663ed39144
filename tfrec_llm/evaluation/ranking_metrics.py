"""Ranks of held-out targets in full-catalog scores, and metrics from ranks.

Every function is pure NumPy and usable on its own.

Scores are an `[n, num_items]` matrix (one row per test example). Items a
user already had are excluded by giving them the score `-inf`
(`mask_excluded_items`); the example's target is never excluded, even when
it is listed among its exclusions.

Ties (pessimistic). The rank of the target is

    1 + #(non-excluded items with a score strictly greater than the target's)
      + #(OTHER non-excluded items with a score equal to the target's)

so ties are broken by score only, never by item id, and a tie never favours
the target: a target tied with two other items at the top has rank 3. A
model that gives every item the same score therefore gets the worst possible
rank instead of a lucky one.

Top-k lists (`top_k_items`) must be one concrete list, so there ties are broken
deterministically as by a stable `np.argsort(-scores)`: among equal scores the
lower item index comes first.

Metrics from ranks (one held-out target per example):
- recall@k = hit rate@k = share of examples with rank <= k;
- NDCG@k = mean of 1 / log2(rank + 1) if rank <= k else 0 (the ideal DCG of a
  single relevant item is 1);
- MRR = mean of 1 / rank over the full catalog (no cut-off).
Each returns None for an empty set of ranks (never NaN).
"""

from typing import Optional, Sequence, Tuple

import numpy as np

EMPTY_SLOT = -1
"""Item index filling top-k slots that no recommendable item could fill."""

EXCLUDED_SCORE = -np.inf
"""Score given to excluded items."""

WILSON_Z_95 = 1.959963984540054
"""Standard normal quantile for a two-sided 95% interval."""


def mask_excluded_items(
    scores: np.ndarray,
    targets: np.ndarray,
    exclude_items: Optional[Sequence[np.ndarray]] = None,
) -> np.ndarray:
    """Returns a copy of `scores` with excluded items set to -inf.

    Args:
        scores: `[n, num_items]` finite scores.
        targets: `[n]` int, catalog index of each example's target; the
            target keeps its score even if listed in its exclusions.
        exclude_items: per example, an int array of catalog indices to
            exclude, or None for no exclusions.

    Raises:
        ValueError: on non-finite scores, mismatched lengths or indices
            outside the catalog.
    """
    scores = _check_scores(scores)
    targets = _check_targets(targets, scores)
    if not np.isfinite(scores).all():
        raise ValueError("scores must be finite (no NaN or inf); -inf is reserved for excluded items.")
    masked = np.array(scores, copy=True)
    if exclude_items is None:
        return masked
    rows, cols = _exclusion_coordinates(exclude_items, *scores.shape)
    masked[rows, cols] = EXCLUDED_SCORE
    example_index = np.arange(len(targets))
    masked[example_index, targets] = scores[example_index, targets]
    return masked


def target_ranks(
    scores: np.ndarray,
    targets: np.ndarray,
    exclude_items: Optional[Sequence[np.ndarray]] = None,
) -> np.ndarray:
    """Returns the 1-based pessimistic rank of each example's target.

    Args:
        scores: `[n, num_items]` finite scores.
        targets: `[n]` int catalog indices of the held-out items.
        exclude_items: per example, catalog indices to exclude, or None.

    Returns:
        `[n]` int64 ranks (see the module docstring for the tie rule).

    Examples:
        >>> target_ranks(np.array([[3.0, 5.0, 5.0, 5.0, 1.0]]), np.array([1]))
        array([3])
    """
    masked = mask_excluded_items(scores, targets, exclude_items)
    return ranks_in_masked_scores(masked, targets)


def ranks_in_masked_scores(masked_scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Like `target_ranks` for scores already masked by `mask_excluded_items`.

    The target's own score must be finite; items at -inf never count.
    """
    masked_scores = _check_scores(masked_scores)
    targets = _check_targets(targets, masked_scores)
    target_scores = masked_scores[np.arange(len(targets)), targets][:, None]
    if not np.isfinite(target_scores).all():
        raise ValueError("Target scores must be finite.")
    greater = np.count_nonzero(masked_scores > target_scores, axis=1)
    equal_including_target = np.count_nonzero(masked_scores == target_scores, axis=1)
    return (1 + greater + (equal_including_target - 1)).astype(np.int64)


def top_k_items(masked_scores: np.ndarray, k: int) -> np.ndarray:
    """Returns each row's `k` best item indices, best first.

    Ties are broken as by a stable `np.argsort(-scores)` (lower index first).
    Items scored -inf (excluded) are never recommended: their slots, and the
    slots beyond the catalog size, hold `EMPTY_SLOT` (-1).

    Args:
        masked_scores: `[n, num_items]` scores, -inf for excluded items.
        k: list length, >= 1.

    Returns:
        `[n, k]` int64 item indices.
    """
    masked_scores = _check_scores(masked_scores)
    _check_positive_int(k, "k")
    if np.isnan(masked_scores).any():
        raise ValueError("scores must not contain NaN.")
    num_examples, num_items = masked_scores.shape
    width = min(k, num_items)
    top = np.full((num_examples, k), EMPTY_SLOT, dtype=np.int64)
    if num_examples == 0 or width == 0:
        return top
    kth_best = np.partition(masked_scores, num_items - width, axis=1)[:, num_items - width][:, None]
    above_kth = masked_scores > kth_best
    at_kth = masked_scores == kth_best
    slots_left_for_kth = width - np.count_nonzero(above_kth, axis=1)
    selected = above_kth | at_kth
    for row in np.flatnonzero(np.count_nonzero(at_kth, axis=1) > slots_left_for_kth):
        tied_items = np.flatnonzero(at_kth[row])
        selected[row, tied_items[slots_left_for_kth[row] :]] = False
    _, selected_items = np.nonzero(selected)
    selected_items = selected_items.reshape(num_examples, width)
    selected_scores = np.take_along_axis(masked_scores, selected_items, axis=1)
    order = np.argsort(-selected_scores, axis=1, kind="stable")
    ordered_items = np.take_along_axis(selected_items, order, axis=1)
    ordered_scores = np.take_along_axis(selected_scores, order, axis=1)
    ordered_items[ordered_scores == EXCLUDED_SCORE] = EMPTY_SLOT
    top[:, :width] = ordered_items
    return top


def recall_at_k(ranks: np.ndarray, k: int) -> Optional[float]:
    """Share of examples whose target rank is <= k (hit rate); None if empty."""
    ranks = _check_ranks(ranks)
    _check_positive_int(k, "k")
    if len(ranks) == 0:
        return None
    return float(np.mean(ranks <= k))


def ndcg_at_k(ranks: np.ndarray, k: int) -> Optional[float]:
    """Mean of 1/log2(rank+1) for ranks <= k, 0 otherwise; None if empty."""
    ranks = _check_ranks(ranks)
    _check_positive_int(k, "k")
    if len(ranks) == 0:
        return None
    return float(np.mean(_ndcg_gains(ranks, k)))


def mean_reciprocal_rank(ranks: np.ndarray) -> Optional[float]:
    """Mean of 1/rank over the full catalog; None if empty."""
    ranks = _check_ranks(ranks)
    if len(ranks) == 0:
        return None
    return float(np.mean(1.0 / ranks))


def per_example_values(ranks: np.ndarray, metric: str) -> np.ndarray:
    """float [n]: each example's share of `metric` ("recall@k", "ndcg@k", "mrr"); their mean is the metric.

    Example:
        per_example_values(np.array([1, 3, 20]), "recall@10")  # -> [1., 1., 0.]
    """
    ranks = _check_ranks(ranks)
    if metric == "mrr":
        return 1.0 / ranks
    name, _, cutoff = metric.partition("@")
    if name not in ("recall", "ndcg") or not cutoff.isdigit() or int(cutoff) < 1:
        raise ValueError(f"unknown metric {metric!r}: expected 'recall@k', 'ndcg@k' or 'mrr'.")
    k = int(cutoff)
    return (ranks <= k).astype(np.float64) if name == "recall" else _ndcg_gains(ranks, k)


def _ndcg_gains(ranks: np.ndarray, k: int) -> np.ndarray:
    return np.where(ranks <= k, 1.0 / np.log2(ranks + 1.0), 0.0)


def wilson_interval(successes: int, n: int) -> Optional[Tuple[float, float]]:
    """95% Wilson score interval of a proportion `successes / n`.

    Better than the normal approximation for small n or proportions near 0
    or 1 (it never leaves [0, 1]). Returns None when n == 0.

    Examples:
        >>> [round(bound, 3) for bound in wilson_interval(5, 10)]
        [0.237, 0.763]
    """
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"Need 0 <= successes <= n, got successes={successes}, n={n}.")
    if n == 0:
        return None
    proportion = successes / n
    z_squared = WILSON_Z_95**2
    denominator = 1.0 + z_squared / n
    center = (proportion + z_squared / (2 * n)) / denominator
    half_width = WILSON_Z_95 * np.sqrt(proportion * (1 - proportion) / n + z_squared / (4 * n * n)) / denominator
    return (float(max(0.0, center - half_width)), float(min(1.0, center + half_width)))


def _exclusion_coordinates(exclude_items, num_examples, num_items):
    if len(exclude_items) != num_examples:
        raise ValueError(f"exclude_items has {len(exclude_items)} entries for {num_examples} examples.")
    per_example = [np.asarray(items, dtype=np.int64).reshape(-1) for items in exclude_items]
    cols = np.concatenate(per_example) if per_example else np.zeros(0, dtype=np.int64)
    if cols.size and (cols.min() < 0 or cols.max() >= num_items):
        raise ValueError(
            f"exclude_items must hold catalog indices in [0, {num_items}), got values in [{cols.min()}, {cols.max()}]."
        )
    rows = np.repeat(np.arange(num_examples), [len(items) for items in per_example])
    return rows, cols


def _check_scores(scores):
    scores = np.asarray(scores)
    if scores.ndim != 2:
        raise ValueError(f"scores must be 2-D [n, num_items], got shape {scores.shape}.")
    if not np.issubdtype(scores.dtype, np.floating):
        scores = scores.astype(np.float64)
    return scores


def _check_targets(targets, scores):
    targets = np.asarray(targets)
    if targets.shape != (scores.shape[0],):
        raise ValueError(f"targets must have shape ({scores.shape[0]},), got {targets.shape}.")
    if not np.issubdtype(targets.dtype, np.integer):
        raise ValueError(f"targets must be integer catalog indices, got {targets.dtype}.")
    if targets.size and (targets.min() < 0 or targets.max() >= scores.shape[1]):
        raise ValueError(
            f"targets must be catalog indices in [0, {scores.shape[1]}), "
            f"got values in [{targets.min()}, {targets.max()}]."
        )
    return targets.astype(np.int64)


def _check_ranks(ranks):
    ranks = np.asarray(ranks)
    if ranks.ndim != 1:
        raise ValueError(f"ranks must be 1-D, got shape {ranks.shape}.")
    if ranks.size and ranks.min() < 1:
        raise ValueError(f"ranks are 1-based, got a rank of {ranks.min()}.")
    return ranks


def _check_positive_int(value, name):
    if int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}.")
