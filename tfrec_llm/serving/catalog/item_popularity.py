"""The catalog items' popularity prior: log(1 + training count) / log(1 + max count), in [0, 1].

A per-item score that adds popularity to a blend at score level
(`queries/personal_blend.with_popularity`; the `text_retrieval` export's
`retrieve_profile`). Items added after training (`add-items`) have no
training interactions: prior 0.
"""

import numpy as np


def popularity_prior(counts: np.ndarray) -> np.ndarray:
    """float32 [N]: log(1 + count) / log(1 + max count) per item, in [0, 1] (all zero counts -> 0).

    Example:
        popularity_prior(np.array([0, 1, 3]))  # [0.0, 0.5, 1.0]
    """
    counts = np.asarray(counts, np.float64)
    if counts.ndim != 1 or (counts < 0).any() or not np.isfinite(counts).all():
        raise ValueError(f"popularity counts must be a 1-D array of counts >= 0, got shape {counts.shape}.")
    top = np.log1p(counts.max()) if counts.size else 0.0
    return (np.log1p(counts) / top if top > 0 else np.zeros_like(counts)).astype(np.float32)
