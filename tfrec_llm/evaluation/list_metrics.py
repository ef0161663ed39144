"""Metrics of the recommended top-k lists themselves (not of the targets).

Lists are an `[n, k]` int array of catalog indices, best first, as returned by
`ranking_metrics.top_k_items`; slots holding `EMPTY_SLOT` (-1) were left
empty (the user had excluded almost the whole catalog) and are ignored by
every metric here.

- coverage: distinct recommended items / catalog size.
- tail share: share of filled slots holding a long-tail (or cold) item.
- exposure Gini: Gini coefficient of how often each catalog item is
  recommended, over ALL catalog items (never-recommended items count as 0).
- intra-list diversity: mean over lists of the mean pairwise cosine distance
  (1 - cosine similarity) between the lists' item feature vectors. A zero
  feature vector has cosine similarity 0 with everything (distance 1).
  Lists with fewer than two items are skipped.
- novelty: mean over filled slots of -log2 p(item), with the add-one smoothed
  popularity p(item) = (popularity + 1) / (sum(popularity) + num_items), so
  never-seen items get a finite, high novelty.
"""

from typing import Optional

import numpy as np

from tfrec_llm.evaluation.ranking_metrics import EMPTY_SLOT

DIVERSITY_CHUNK_SIZE = 1024
"""Lists per step when computing diversity, bounding memory for wide features."""


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values: 0 = equal, (n-1)/n = one-hot.

    Uses G = 2 * sum_i(i * x_(i)) / (n * sum(x)) - (n + 1) / n with the values
    sorted ascending and i = 1..n. All-zero values count as perfectly equal (0).

    Examples:
        >>> gini(np.array([0, 0, 0, 1]))
        0.75
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError("gini needs at least one value.")
    if (values < 0).any():
        raise ValueError("gini needs non-negative values.")
    total = values.sum()
    if total == 0:
        return 0.0
    count = values.size
    sorted_values = np.sort(values)
    positions = np.arange(1, count + 1)
    return float(2.0 * np.sum(positions * sorted_values) / (count * total) - (count + 1) / count)


def exposure_counts(top_items: np.ndarray, num_items: int) -> np.ndarray:
    """Returns `[num_items]` counts of how often each item was recommended."""
    recommended = _filled_slots(top_items, num_items)
    return np.bincount(recommended, minlength=num_items)


def catalog_coverage(top_items: np.ndarray, num_items: int) -> float:
    """Distinct recommended items divided by the catalog size."""
    recommended = _filled_slots(top_items, num_items)
    return float(np.unique(recommended).size / num_items)


def tail_share(top_items: np.ndarray, tail_item_mask: np.ndarray) -> Optional[float]:
    """Share of filled slots holding an item flagged by `tail_item_mask`.

    Args:
        top_items: `[n, k]` recommended item indices.
        tail_item_mask: `[num_items]` bool, e.g. tail or cold items.

    Returns:
        The share, or None when no slot is filled.
    """
    tail_item_mask = np.asarray(tail_item_mask, dtype=bool)
    recommended = _filled_slots(top_items, len(tail_item_mask))
    if recommended.size == 0:
        return None
    return float(np.mean(tail_item_mask[recommended]))


def exposure_gini(top_items: np.ndarray, num_items: int) -> float:
    """Gini coefficient of `exposure_counts` over the whole catalog."""
    return gini(exposure_counts(top_items, num_items))


def novelty(top_items: np.ndarray, item_popularity: np.ndarray) -> Optional[float]:
    """Mean -log2 of the smoothed popularity of recommended items (bits).

    p(item) = (popularity + 1) / (sum(popularity) + num_items). None when no
    slot is filled.
    """
    item_popularity = np.asarray(item_popularity, dtype=np.float64)
    recommended = _filled_slots(top_items, len(item_popularity))
    if recommended.size == 0:
        return None
    probabilities = (item_popularity + 1.0) / (item_popularity.sum() + len(item_popularity))
    return float(np.mean(-np.log2(probabilities[recommended])))


def intra_list_diversity(top_items: np.ndarray, item_features: np.ndarray) -> Optional[float]:
    """Mean over lists of the mean pairwise cosine distance of their items.

    Args:
        top_items: `[n, k]` recommended item indices.
        item_features: `[num_items, d]` item vectors (embeddings, attributes).

    Returns:
        The mean distance, or None when no list has two or more items.
    """
    item_features = np.asarray(item_features)
    if item_features.ndim != 2:
        raise ValueError(f"item_features must be 2-D [num_items, d], got shape {item_features.shape}.")
    _filled_slots(top_items, len(item_features))
    float_type = np.result_type(item_features.dtype, np.float32)
    top_items = np.asarray(top_items, dtype=np.int64)
    list_diversities = []
    for start in range(0, len(top_items), DIVERSITY_CHUNK_SIZE):
        chunk = top_items[start : start + DIVERSITY_CHUNK_SIZE]
        filled = chunk != EMPTY_SLOT
        vectors = item_features[np.where(filled, chunk, 0)].astype(float_type)
        norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
        vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=(norms > 0) & filled[..., None])
        similarities = np.einsum("nid,njd->nij", vectors, vectors)
        pair_is_valid = filled[:, :, None] & filled[:, None, :]
        pair_is_valid &= ~np.eye(chunk.shape[1], dtype=bool)[None]
        pair_counts = pair_is_valid.sum(axis=(1, 2))
        distance_sums = np.where(pair_is_valid, 1.0 - similarities, 0.0).sum(axis=(1, 2))
        has_pairs = pair_counts > 0
        list_diversities.append(distance_sums[has_pairs] / pair_counts[has_pairs])
    all_diversities = np.concatenate(list_diversities) if list_diversities else np.zeros(0)
    if all_diversities.size == 0:
        return None
    return float(np.mean(all_diversities))


def _filled_slots(top_items, num_items):
    top_items = np.asarray(top_items)
    if top_items.ndim != 2:
        raise ValueError(f"top_items must be 2-D [n, k], got shape {top_items.shape}.")
    recommended = top_items[top_items != EMPTY_SLOT].astype(np.int64)
    if recommended.size and (recommended.min() < 0 or recommended.max() >= num_items):
        raise ValueError(f"top_items must hold catalog indices in [0, {num_items}) or {EMPTY_SLOT} for an empty slot.")
    return recommended
