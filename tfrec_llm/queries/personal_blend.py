"""One blend for words + history: a request or a taste profile, personalised by what the user had.

The text ("something funny", or a cold user's profile "likes war films and
old westerns") is embedded like a request (`TextQueryRetriever`: the item
tower's text path, an item so described); the history by the user tower.
Both are L2-normalised vectors in the item space, so one weighted sum
scores the catalog with one matrix product:

    query = (1 - w) * text_vector + w * user_vector(history)

w = 0 is the plain request; w = 1 the history alone. The frozen text
encoder's own similarity can be added at score level (`fused_scores`):

    score(i) = query . v_i + alpha * z(cos(BERT(text), BERT(text_i)))

with z the per-row standardisation over the catalog (BERT = the model's
frozen text encoder, mean-pooled, before the item tower's projection);
alpha = 0 is the blend alone. A negative alpha (`EQUAL_SPREAD`) asks for
the equal-spread rule, per request: alpha = the standard deviation of that
request's own model scores over the catalog, so the BERT term has the model
term's spread and the two rank as z(model) + z(BERT). It reads no label and
needs no tuning; it is how a request alone is served by default. An empty history is
read as the user tower reads it everywhere (the `retrieval` model's
no-history answer): the model's prior for someone it knows nothing about.
That prior is not popularity (untrained unless `model.empty_history_targets`;
ml-100k, MiniLM: Recall@10 0.046 against popularity's 0.086), so a profile
blend can add popularity itself at score level (`with_popularity`):

    score(i) = query . v_i + alpha * z(BERT cosine) + beta * prior_i

with prior_i = log(1 + count_i) / log(1 + max count), the item's training
interactions (`serving/catalog/item_popularity.popularity_prior`; 0 for items added after
training).

The default weights were measured on ml-100k with MiniLM (README,
"Cold users and personal requests"; `benchmarks/bench_cold_users.py` on
the default model of seeds 0, 1 and 2), chosen on the validation targets,
never on test: per seed, the best validation Recall@10 over every w of
0, 0.1, ..., 0.7, 0.8, 0.82, ..., 1 with every beta of
`POPULARITY_PRIOR_WEIGHTS` (alpha = 0), then the best alpha of
`SIMILARITY_WEIGHTS` given them; the defaults are the medians of the three
seeds' choices:
- `PROFILE_HISTORY_WEIGHTS[n]` (w), `PROFILE_TEXT_SIMILARITY_WEIGHTS[n]`
  (alpha) and `PROFILE_POPULARITY_WEIGHTS[n]` (beta): a profile with
  n = 0, 1, 2, 3+ interactions. With none, popularity carries the list and
  the profile reorders it (w 0.2 / 0.82 / 0.1, beta 10 / 10 / 20): test
  Recall@10 0.0891 / 0.0827 / 0.0891 against popularity's 0.0859 and the
  blend without popularity's 0.0424 / 0.0403 / 0.0255. With one
  interaction or more the history carries it (w 0.82-0.96) and popularity
  adds nothing measurable (beta 0-0.5; test within 1-5 users of beta = 0);
- `REQUEST_HISTORY_WEIGHT`: a request with a history, the largest weight
  whose request precision@10 stays within 10% of the request alone while
  the share of the user's own held-out items rises
  (`benchmarks/bench_personal_requests.py`);
- `REQUEST_TEXT_SIMILARITY_WEIGHT`: 0, so a request with a history is
  served as that benchmark measured it;
- `REQUEST_ALONE_TEXT_SIMILARITY_WEIGHT`: `EQUAL_SPREAD` for a request
  without a history (`recommend --query`, `text_retrieval`'s
  `serving_default`): on `benchmarks/queries/movielens-100k.json` it lifts
  precision@10 from 0.356 (the model's embedding alone) to 0.767 (BERT
  alone 0.739; `tfrec-llm bench-queries`, scorer `model+text_encoder`).
"""

import math
from typing import Dict

import numpy as np

from tfrec_llm.unit_vectors import unit_rows

PROFILE_HISTORY_WEIGHTS: Dict[int, float] = {0: 0.2, 1: 0.94, 2: 0.88, 3: 0.84}
PROFILE_TEXT_SIMILARITY_WEIGHTS: Dict[int, float] = {0: 0.0, 1: 0.01, 2: 0.0, 3: 0.0}
REQUEST_HISTORY_WEIGHT = 0.5
REQUEST_TEXT_SIMILARITY_WEIGHT = 0.0
EQUAL_SPREAD = -1.0  # any negative text similarity weight: alpha = each request's own model-score std
REQUEST_ALONE_TEXT_SIMILARITY_WEIGHT = EQUAL_SPREAD
SIMILARITY_WEIGHTS = (0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2)
PROFILE_POPULARITY_WEIGHTS: Dict[int, float] = {0: 10.0, 1: 0.05, 2: 0.0, 3: 0.1}
POPULARITY_PRIOR_WEIGHTS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0)


def profile_history_weight(num_history_items: int) -> float:
    """The measured weight of the history for a profile plus `num_history_items` interactions."""
    if num_history_items < 0:
        raise ValueError(f"num_history_items must be >= 0, got {num_history_items}.")
    return PROFILE_HISTORY_WEIGHTS[min(num_history_items, max(PROFILE_HISTORY_WEIGHTS))]


def profile_text_similarity_weight(num_history_items: int) -> float:
    """The measured alpha of BERT's similarity for a profile plus `num_history_items` interactions."""
    if num_history_items < 0:
        raise ValueError(f"num_history_items must be >= 0, got {num_history_items}.")
    return PROFILE_TEXT_SIMILARITY_WEIGHTS[min(num_history_items, max(PROFILE_TEXT_SIMILARITY_WEIGHTS))]


def profile_popularity_weight(num_history_items: int) -> float:
    """The measured beta of the popularity prior for a profile plus `num_history_items` interactions."""
    if num_history_items < 0:
        raise ValueError(f"num_history_items must be >= 0, got {num_history_items}.")
    return PROFILE_POPULARITY_WEIGHTS[min(num_history_items, max(PROFILE_POPULARITY_WEIGHTS))]


def check_popularity_weight(popularity_weight: float) -> float:
    """`popularity_weight` (beta) as a finite float >= 0, or a ValueError naming it."""
    weight = float(popularity_weight)
    if not math.isfinite(weight) or weight < 0:
        raise ValueError(f"popularity weight must be a finite number >= 0, got {popularity_weight}.")
    return weight


def with_popularity(scores: np.ndarray, prior: np.ndarray, popularity_weight: float) -> np.ndarray:
    """float32 [B, N]: scores + beta * prior (prior [N]: `serving.catalog.item_popularity.popularity_prior`).

    Example:
        with_popularity(np.zeros((1, 2)), np.array([0.0, 1.0]), 0.5)  # [[0.0, 0.5]]
    """
    weight = check_popularity_weight(popularity_weight)
    scores = np.asarray(scores, np.float32)
    return scores if weight == 0 else (scores + weight * np.asarray(prior, np.float32)[None, :]).astype(np.float32)


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


def check_similarity_weight(similarity_weight: float) -> float:
    """`similarity_weight` (alpha) as a float (negative: `EQUAL_SPREAD`), or a ValueError naming it."""
    weight = float(similarity_weight)
    if math.isnan(weight) or math.isinf(weight):
        raise ValueError(f"text similarity weight must be a finite number, got {similarity_weight}.")
    return EQUAL_SPREAD if weight < 0 else weight


def standardized_rows(scores: np.ndarray) -> np.ndarray:
    """float32 [B, N]: each row minus its mean, over its standard deviation (a constant row -> 0)."""
    scores = np.asarray(scores, np.float32)
    centred = scores - scores.mean(axis=1, keepdims=True)
    spread = centred.std(axis=1, keepdims=True)
    return (centred / np.where(spread > 0, spread, 1.0)).astype(np.float32)


def fused_scores(
    model_scores: np.ndarray, text_features: np.ndarray, item_text_features: np.ndarray, similarity_weight: float
) -> np.ndarray:
    """float32 [B, N]: model_scores + alpha * z(cos(text_features, item_text_features)).

    Args:
        model_scores: [B, N] blended query . item embeddings.
        text_features: [B, h] BERT vectors of the texts (any norm).
        item_text_features: [N, h] BERT vectors of the catalog items (any norm).
        similarity_weight: alpha >= 0; 0 returns `model_scores` unchanged;
            negative (`EQUAL_SPREAD`): each row's alpha is that row's
            standard deviation of `model_scores`.

    Example:
        fused_scores(np.zeros((1, 2)), np.array([[1.0, 0.0]]), np.eye(2), 0.5)  # [[0.5, -0.5]]
        fused_scores(np.array([[0.0, 2.0]]), np.array([[1.0, 0.0]]), np.eye(2), EQUAL_SPREAD)  # [[1.0, 1.0]]
    """
    if check_similarity_weight(similarity_weight) == 0.0:
        return np.asarray(model_scores, np.float32)
    cosines = unit_rows(text_features) @ unit_rows(item_text_features).T
    return fused_cosine_scores(model_scores, cosines, similarity_weight)


def fused_cosine_scores(model_scores: np.ndarray, cosines: np.ndarray, similarity_weight: float) -> np.ndarray:
    """float32 [B, N]: model_scores + alpha * z(cosines), the cosines already computed ([B, N]).

    alpha < 0 (`EQUAL_SPREAD`): each row's alpha is that row's std of `model_scores`.
    """
    weight = check_similarity_weight(similarity_weight)
    model_scores = np.asarray(model_scores, np.float32)
    if weight == EQUAL_SPREAD:
        weight = model_scores.std(axis=1, keepdims=True)
    return (model_scores + weight * standardized_rows(cosines)).astype(np.float32)


def fused_query_vectors(
    query_vectors: np.ndarray,
    item_vectors: np.ndarray,
    text_features: np.ndarray,
    item_text_features: np.ndarray,
    similarity_weight: float,
):
    """(queries [B, d + h], items [N, d + h]) whose dot products rank as `fused_scores` does.

    z's row mean shifts every item of a row alike, so
    query . v_i + alpha * cos_i / std_row(cos) orders each row as the fused
    score: the evaluator can rank it with one matrix product.
    """
    weight = check_similarity_weight(similarity_weight)
    if weight == EQUAL_SPREAD:
        raise ValueError("fused_query_vectors takes alpha >= 0; the equal-spread rule needs the scores (fused_scores).")
    features, item_features = unit_rows(text_features), unit_rows(item_text_features)
    spread = (features @ item_features.T).std(axis=1, keepdims=True)
    queries = np.concatenate([query_vectors, weight * features / np.where(spread > 0, spread, 1.0)], axis=1)
    return queries.astype(np.float32), np.concatenate([item_vectors, item_features], axis=1).astype(np.float32)


def equal_spread_weight(model_scores: np.ndarray) -> float:
    """alpha giving alpha * z(BERT cosine) the spread of the model's own scores: the median row std.

    A rule that reads no relevance label (issue 13's requests): with it the
    fused score weighs the two standardised scores about equally.
    """
    return float(np.median(np.asarray(model_scores, np.float64).std(axis=1)))
