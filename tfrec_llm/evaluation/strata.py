"""Strata of catalog items and of test examples, as boolean masks.

Items (by training popularity, i.e. interaction counts):
- head: the smallest set of most popular items that together hold at least
  `head_share` (e.g. 80%) of all training interactions. Items are sorted by
  popularity, descending (ties by lower index first, a stable sort), and
  taken until `cumulative count / total >= head_share`. Comparing shares
  counts an exact share: 7 of 25 interactions reach 0.28, although
  `0.28 * 25` is 7.000000000000001 in floating point. If no item was ever
  seen the head is empty.
- tail: every other item that is not cold.
- cold_items: items training never saw (the caller's cold mask; they must
  have popularity 0).
- warm_items: head and tail together (every non-cold item).

Users by training activity (constants below):
- new_users: no training interactions (cold-start users: under time_cut,
  users first seen after the cut; their first test event is scored from an
  empty history); also counted in sparse_users;
- sparse_users: <= 5 training interactions;
- medium_users: 6 to 20;
- heavy_users: > 20.

Popularity buckets: catalog items sorted as for the head, split into
`num_buckets` groups of equal item count (sizes differ by at most one when
they do not divide evenly); bucket 0 holds the most popular items.
"""

from typing import Dict

import numpy as np

DEFAULT_HEAD_SHARE = 0.8
"""Share of the interactions held by the head items, unless told otherwise."""
SPARSE_USER_MAX_INTERACTIONS = 5
MEDIUM_USER_MAX_INTERACTIONS = 20

HEAD = "head"
TAIL = "tail"
COLD_ITEMS = "cold_items"
WARM_ITEMS = "warm_items"
NEW_USERS = "new_users"
SPARSE_USERS = "sparse_users"
MEDIUM_USERS = "medium_users"
HEAVY_USERS = "heavy_users"
SCENARIO_PREFIX = "scenario:"


def popularity_order(item_popularity: np.ndarray) -> np.ndarray:
    """Item indices from most to least popular (stable: ties by lower index)."""
    item_popularity = _check_popularity(item_popularity)
    return np.argsort(-item_popularity, kind="stable")


def head_item_count(item_popularity: np.ndarray, head_share: float) -> int:
    """Size of the head: the fewest most popular items holding >= `head_share` of interactions.

    Examples:
        >>> head_item_count(np.array([10, 50, 30, 5, 5, 0]), 0.8)
        2
    """
    item_popularity = _check_popularity(item_popularity)
    if not 0.0 < head_share <= 1.0:
        raise ValueError(f"head_share must be in (0, 1], got {head_share}.")
    cumulative = np.cumsum(item_popularity[popularity_order(item_popularity)])
    if cumulative.size == 0 or cumulative[-1] == 0:
        return 0
    # The last share is exactly 1.0 >= head_share, so some item reaches it.
    return int(np.argmax(cumulative / cumulative[-1] >= head_share)) + 1


def head_item_mask(item_popularity: np.ndarray, head_share: float) -> np.ndarray:
    """`[num_items]` bool: the `head_item_count` most popular items.

    Examples:
        >>> head_item_mask(np.array([10, 50, 30, 5, 5, 0]), 0.8)
        array([False,  True,  True, False, False, False])
    """
    head = np.zeros(len(_check_popularity(item_popularity)), dtype=bool)
    head[popularity_order(item_popularity)[: head_item_count(item_popularity, head_share)]] = True
    return head


def item_strata(item_popularity: np.ndarray, cold_item_mask: np.ndarray, head_share: float) -> Dict[str, np.ndarray]:
    """Returns {"head", "tail", "cold_items", "warm_items"} -> `[num_items]` bool.

    Raises:
        ValueError: if the masks do not match or a cold item has popularity > 0.
    """
    item_popularity = _check_popularity(item_popularity)
    cold_item_mask = np.asarray(cold_item_mask)
    if cold_item_mask.shape != item_popularity.shape or cold_item_mask.dtype != bool:
        raise ValueError(
            f"cold_item_mask must be a bool array of shape {item_popularity.shape}, "
            f"got {cold_item_mask.dtype} of shape {cold_item_mask.shape}."
        )
    if (item_popularity[cold_item_mask] > 0).any():
        raise ValueError(
            "Cold items must have training popularity 0; items "
            f"{np.flatnonzero(cold_item_mask & (item_popularity > 0))[:10].tolist()} "
            "are flagged cold but have training interactions."
        )
    head = head_item_mask(item_popularity, head_share)
    return {
        HEAD: head,
        TAIL: ~head & ~cold_item_mask,
        COLD_ITEMS: cold_item_mask.copy(),
        WARM_ITEMS: ~cold_item_mask,
    }


def user_activity_strata(user_activity: np.ndarray) -> Dict[str, np.ndarray]:
    """Returns {"new_users", "sparse_users", "medium_users", "heavy_users"} -> `[n]` bool."""
    user_activity = np.asarray(user_activity)
    if user_activity.ndim != 1:
        raise ValueError(f"user_activity must be 1-D, got shape {user_activity.shape}.")
    return {
        NEW_USERS: user_activity == 0,
        SPARSE_USERS: user_activity <= SPARSE_USER_MAX_INTERACTIONS,
        MEDIUM_USERS: (user_activity > SPARSE_USER_MAX_INTERACTIONS) & (user_activity <= MEDIUM_USER_MAX_INTERACTIONS),
        HEAVY_USERS: user_activity > MEDIUM_USER_MAX_INTERACTIONS,
    }


def scenario_strata(scenarios: np.ndarray) -> Dict[str, np.ndarray]:
    """Returns {"scenario:<name>"} -> `[n]` bool, one per distinct scenario (sorted)."""
    scenarios = np.asarray(scenarios, dtype=str)
    return {f"{SCENARIO_PREFIX}{name}": scenarios == name for name in np.unique(scenarios)}


def popularity_buckets(item_popularity: np.ndarray, num_buckets: int) -> np.ndarray:
    """`[num_items]` int bucket of each item; bucket 0 = most popular items.

    Examples:
        >>> popularity_buckets(np.array([1, 9, 5, 0, 7]), 2)
        array([1, 0, 0, 1, 0])
    """
    if int(num_buckets) != num_buckets or num_buckets < 1:
        raise ValueError(f"num_buckets must be a positive integer, got {num_buckets}.")
    order = popularity_order(item_popularity)
    buckets = np.empty(len(order), dtype=np.int64)
    for bucket, items in enumerate(np.array_split(order, num_buckets)):
        buckets[items] = bucket
    return buckets


def _check_popularity(item_popularity):
    item_popularity = np.asarray(item_popularity)
    if item_popularity.ndim != 1:
        raise ValueError(f"item_popularity must be 1-D, got shape {item_popularity.shape}.")
    if not np.issubdtype(item_popularity.dtype, np.number):
        raise ValueError(f"item_popularity must be numeric, got {item_popularity.dtype}.")
    if (item_popularity < 0).any():
        raise ValueError("item_popularity must be non-negative counts.")
    return item_popularity
