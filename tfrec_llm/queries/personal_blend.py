"""One blend for words + history: a request or a taste profile, personalised by what the user had.

The text ("something funny", or a cold user's profile "likes war films and
old westerns") is embedded like a request (`TextQueryRetriever`: the item
tower's text path, an item so described); the history by the user tower.
Both are L2-normalised vectors in the item space, so one weighted sum
scores the catalog with one matrix product:

    query = (1 - w) * text_vector + w * user_vector(history)

w = 0 is the plain request; w = 1 the history alone. An empty history is
read as the user tower reads it everywhere (the `retrieval` model's
no-history answer): the model's prior for someone it knows nothing about,
which its training made close to popularity. That is the popularity part of
the blend, and the documented fallback of an empty history: with w > 0 the
text is blended with that prior; pass w = 0 for the text alone.

The default weights were measured on ml-100k with MiniLM (README,
"Cold users and personal requests"), chosen on the validation targets:
- `PROFILE_HISTORY_WEIGHTS[n]`: a profile with n = 0, 1, 2, 3+ interactions
  (`benchmarks/bench_cold_users.py`: the best validation Recall@10 over
  w = 0, 0.1, ..., 1). With one interaction or more the measured weight is
  (close to) 1: on ml-100k a genre profile adds nothing the user tower does
  not get from one item, so the profile mostly serves users with none;
- `REQUEST_HISTORY_WEIGHT`: a request with a history, the largest weight
  whose request precision@10 stays within 10% of the request alone while
  the share of the user's own held-out items rises
  (`benchmarks/bench_personal_requests.py`).
"""

from typing import Dict

import numpy as np

PROFILE_HISTORY_WEIGHTS: Dict[int, float] = {0: 0.6, 1: 1.0, 2: 0.9, 3: 1.0}
REQUEST_HISTORY_WEIGHT = 0.5


def profile_history_weight(num_history_items: int) -> float:
    """The measured weight of the history for a profile plus `num_history_items` interactions."""
    if num_history_items < 0:
        raise ValueError(f"num_history_items must be >= 0, got {num_history_items}.")
    return PROFILE_HISTORY_WEIGHTS[min(num_history_items, max(PROFILE_HISTORY_WEIGHTS))]


def check_history_weight(history_weight: float) -> float:
    """`history_weight` as a float in [0, 1], or a ValueError naming it."""
    weight = float(history_weight)
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"history weight must be in [0, 1], got {history_weight}.")
    return weight


def blend_vectors(text_vectors: np.ndarray, user_vectors: np.ndarray, history_weight: float) -> np.ndarray:
    """float32 [B, d]: (1 - w) * text_vectors + w * user_vectors (both [B, d]).

    Example:
        blend_vectors(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]), 0.25)  # [[0.75, 0.25]]
    """
    weight = check_history_weight(history_weight)
    text_vectors = np.asarray(text_vectors, np.float32)
    user_vectors = np.asarray(user_vectors, np.float32)
    if text_vectors.shape != user_vectors.shape:
        raise ValueError(f"text and user vectors differ in shape: {text_vectors.shape} vs {user_vectors.shape}.")
    return ((1.0 - weight) * text_vectors + weight * user_vectors).astype(np.float32)
