"""Summary statistics of an `InteractionData`: size, sparsity and long tail.

`describe(data)` returns a plain dict (JSON-friendly), `format_statistics`
renders it as an aligned two-column text table.

Choices, so numbers are comparable across sources:

- Item statistics (`top20_item_share`, `item_popularity_gini`,
  `head_item_count_80`, `share_items_le5`) are computed over the catalog
  items, items without any interaction counting as 0 (plus any interacted
  item missing from the catalog). A catalog full of never-seen items thus
  reads as a longer tail, which is what a recommender faces.
- The top 20% of items is `floor(0.2 * number of items)` items (at least 1).
- User statistics are over the users that have at least one interaction.
- `density` = interactions / (users x catalog items).

On MovieLens 100k this gives a top-20% share of 0.646, a Gini of 0.629,
536 items holding 80% of the ratings and 22.8% of items with <= 5 ratings.
"""

from typing import Dict, Iterable, Optional

import numpy as np

from tfrec_llm.data.interaction_data import InteractionData
from tfrec_llm.evaluation.list_metrics import gini
from tfrec_llm.evaluation.strata import DEFAULT_HEAD_SHARE, head_item_count

TOP_ITEM_FRACTION = 0.2
SPARSE_COUNT = 5
_MISSING = float("nan")


def describe(data: InteractionData, cold_item_ids: Optional[Iterable[str]] = None) -> dict:
    """Statistics of `data`; see the module docstring for the definitions.

    Args:
        data: the data source.
        cold_item_ids: optional ids of cold-start items (e.g. released after
            the time cut); adds `num_cold_items` and
            `cold_item_interactions`.

    Returns:
        A dict with name, label_kind, columns (which file column became
        user id, item id, timestamp or "file order", label, scenario, text
        and attributes; only for sources with configurable columns, i.e.
        `data.report.columns` is not empty), num_users, num_items (catalog),
        num_items_with_interactions, num_interactions, density,
        top20_item_share, item_popularity_gini, head_item_count_80,
        share_users_le5, share_items_le5, median_interactions_per_user,
        num_scenarios, interactions_per_scenario (scenario -> count), the
        cold-item entries if asked, and rating_min/rating_mean/rating_max
        (label_kind "rating") or click_rate (label_kind "click").
    """
    interactions = data.interactions
    item_counts = _item_counts(data)
    _, user_counts = np.unique(interactions.user_ids, return_counts=True)
    scenarios, scenario_counts = np.unique(interactions.scenarios, return_counts=True)
    num_users = len(user_counts)
    num_items = len(item_counts)
    stats = {
        "name": data.name,
        "label_kind": data.label_kind,
        "columns": dict(data.report.columns),
        "num_users": num_users,
        "num_items": num_items,
        "num_items_with_interactions": int(np.count_nonzero(item_counts)),
        "num_interactions": len(interactions),
        "density": _ratio(len(interactions), num_users * num_items),
        "top20_item_share": top_item_share(item_counts, TOP_ITEM_FRACTION),
        "item_popularity_gini": gini(item_counts) if num_items else 0.0,
        "head_item_count_80": head_item_count(item_counts, DEFAULT_HEAD_SHARE),
        "share_users_le5": _ratio(np.count_nonzero(user_counts <= SPARSE_COUNT), num_users),
        "share_items_le5": _ratio(np.count_nonzero(item_counts <= SPARSE_COUNT), num_items),
        "median_interactions_per_user": float(np.median(user_counts)) if num_users else _MISSING,
        "num_scenarios": len(scenarios),
        "interactions_per_scenario": {str(name): int(count) for name, count in zip(scenarios, scenario_counts)},
    }
    if not stats["columns"]:
        del stats["columns"]
    if cold_item_ids is not None:
        cold = np.unique(np.asarray(list(cold_item_ids), dtype=str))
        stats["num_cold_items"] = len(cold)
        stats["cold_item_interactions"] = int(np.count_nonzero(np.isin(interactions.item_ids, cold)))
    stats.update(_label_statistics(data))
    return stats


def format_statistics(stats: dict) -> str:
    """An aligned text table: names left, values right; dicts get one row per key."""
    rows = []
    for name, value in stats.items():
        if isinstance(value, dict):
            rows.extend((f"{name}[{key}]", _format_value(v)) for key, v in value.items())
        else:
            rows.append((name, _format_value(value)))
    if not rows:
        return ""
    name_width = max(len(name) for name, _ in rows)
    value_width = max(len(value) for _, value in rows)
    return "\n".join(f"{name:<{name_width}}  {value:>{value_width}}" for name, value in rows)


def top_item_share(item_counts: np.ndarray, fraction: float) -> float:
    """Share of interactions held by the `floor(fraction * n)` (>= 1) most popular items."""
    total = item_counts.sum()
    if total == 0:
        return 0.0
    top = max(1, int(len(item_counts) * fraction))
    return float(np.sort(item_counts)[::-1][:top].sum() / total)


def _item_counts(data: InteractionData) -> np.ndarray:
    """Interactions per item over catalog items plus any interacted item."""
    interacted, counts = np.unique(data.interactions.item_ids, return_counts=True)
    items = np.union1d(data.catalog.item_ids, interacted)
    item_counts = np.zeros(len(items), dtype=np.int64)
    item_counts[np.searchsorted(items, interacted)] = counts
    return item_counts


def _label_statistics(data: InteractionData) -> Dict[str, float]:
    labels = data.interactions.labels
    if data.label_kind == "click":
        return {"click_rate": float(labels.mean()) if len(labels) else _MISSING}
    if len(labels) == 0:
        return {"rating_min": _MISSING, "rating_mean": _MISSING, "rating_max": _MISSING}
    return {
        "rating_min": float(labels.min()),
        "rating_mean": float(labels.mean(dtype=np.float64)),
        "rating_max": float(labels.max()),
    }


def _ratio(numerator: int, denominator: int) -> float:
    return float(numerator / denominator) if denominator else 0.0


def _format_value(value) -> str:
    if isinstance(value, (bool, np.bool_)) or isinstance(value, str):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return f"{value:,}"
    if isinstance(value, (float, np.floating)):
        return "n/a" if np.isnan(value) else f"{value:.4g}"
    return str(value)
