"""Metrics of natural-language request retrieval: ranked catalog items vs relevant sets.

A request ("something scary with ghosts") is relevant to every catalog item
carrying one of its attributes (genre, topic). Each scorer gives every
(request, item) pair a score; items are ranked by score with ties broken
pessimistically (a relevant item tied with an irrelevant one ranks after
it), so a scorer that gives everything the same score earns nothing.

Reported, averaged over requests: precision@k (share of relevant items in
the top k), MRR (reciprocal rank of the first relevant item) and the chance
level of precision (share of relevant items in the catalog: what a random
ranking earns in expectation).
"""

from typing import Dict, Sequence

import numpy as np

PRECISION_KS = (10, 100)


def ranked_relevance(scores: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """bool [Q, N]: `relevant` reordered by descending score, ties pessimistic."""
    scores = np.asarray(scores, dtype=np.float64)
    relevant = np.asarray(relevant, dtype=bool)
    if scores.shape != relevant.shape or scores.ndim != 2:
        raise ValueError(
            f"scores and relevant must both be [requests, items]; got {scores.shape} and {relevant.shape}."
        )
    if not np.isfinite(scores).all():
        raise ValueError("scores must be finite.")
    # lexsort: last key first; within equal scores irrelevant (False) items come first.
    order = (
        np.stack([np.lexsort((row_relevant, -row_scores)) for row_scores, row_relevant in zip(scores, relevant)])
        if len(scores)
        else np.zeros(scores.shape, int)
    )
    return np.take_along_axis(relevant, order, axis=1)


def text_query_metrics(scores: np.ndarray, relevant: np.ndarray, ks: Sequence[int] = PRECISION_KS) -> Dict[str, float]:
    """{"precision@k": ..., "mrr": ..., "chance_precision": ..., "n": requests}, means over requests.

    Args:
        scores: float [Q, N] scores of every catalog item for each request.
        relevant: bool [Q, N] relevance; every request needs a relevant item.
        ks: cut-offs of precision (each at most N).
    """
    ranked = ranked_relevance(scores, relevant)
    num_requests, num_items = ranked.shape
    if num_requests == 0:
        raise ValueError("No requests to evaluate.")
    if not ranked.any(axis=1).all():
        raise ValueError("Every request needs at least one relevant catalog item.")
    metrics = {}
    for k in ks:
        if not 1 <= k <= num_items:
            raise ValueError(f"precision@{k} needs 1 <= k <= {num_items} items.")
        metrics[f"precision@{k}"] = float(ranked[:, :k].mean())
    first_hit = np.argmax(ranked, axis=1)
    metrics["mrr"] = float(np.mean(1.0 / (first_hit + 1)))
    metrics["chance_precision"] = float(np.asarray(relevant, bool).mean())
    metrics["n"] = int(num_requests)
    return metrics
