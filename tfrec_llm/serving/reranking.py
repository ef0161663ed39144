"""Re-ranking of retrieved candidates for diversity and long-tail exposure, in TF core ops.

Greedy maximal marginal relevance (MMR) with a tail-exposure boost. Over C
candidates (e.g. the retrieval top-K), step t picks the unpicked candidate
with the highest

    (1 - diversity) * relevance(i) - diversity * max_{j picked} cos(v_i, v_j)
    relevance(i) = (score(i) - min score) / (max score - min score) + tail_boost * tailness(i)

where scores are the retrieval dot products (min-max scaled over the row's
candidates, so relevance and cosine similarity share a [0, 1]-like scale),
v are the item embeddings and tailness(i) is 1 for a tail item and 0 for a
head item, as the evaluator splits them (`tailness_from_popularity`: head =
the fewest most popular items holding 80% of training interactions,
`evaluation.strata.head_item_mask`; items never seen in training, e.g. those
added with add-items, are tail). A boost therefore lifts exactly the items
whose exposure the tail share counts, never a moderately popular head item. diversity = 0 and tail_boost = 0 keep the
candidates' order: the plain top-k. Candidates with a non-finite score
(excluded history items) are never picked; when fewer than k remain, the
trailing positions are `EMPTY_POSITION`.

The same function (`rerank_positions`) runs eagerly in the library
(`rerank`) and in-graph in the `retrieval` export's `retrieve_reranked`
signature, where diversity and tail boost are request inputs.

Example:
    positions = rerank(scores, vectors, tailness, k=10, diversity=0.3, tail_boost=0.2)
"""

import numbers
from typing import Union

import numpy as np
import tensorflow as tf

from tfrec_llm.evaluation.strata import DEFAULT_HEAD_SHARE, head_item_mask

EMPTY_POSITION = -1
Number = Union[float, tf.Tensor]


def tailness_from_popularity(popularity: np.ndarray, head_share: float = DEFAULT_HEAD_SHARE) -> np.ndarray:
    """float32 [N]: 0 for head items (the evaluator's `head_item_mask`), 1 for every other item.

    Args:
        popularity: [N] training interaction counts per catalog item.
        head_share: share of training interactions the head holds (the evaluator's default 0.8).

    Example:
        tailness_from_popularity(np.array([10, 50, 30, 5, 5, 0]))  # [1, 0, 0, 1, 1, 1]
    """
    counts = np.asarray(popularity, dtype=np.float64)
    if counts.ndim != 1 or (counts < 0).any():
        raise ValueError(f"popularity must be 1-D non-negative counts, got shape {counts.shape}.")
    return (~head_item_mask(counts, head_share)).astype(np.float32)


def check_rerank_arguments(diversity: float, tail_boost: float) -> None:
    """Raises ValueError unless 0 <= diversity <= 1 and tail_boost is finite and >= 0."""
    if not (_is_number(diversity) and 0.0 <= float(diversity) <= 1.0):
        raise ValueError(f"diversity (MMR lambda) must be a number in [0, 1] (0 = pure relevance), got {diversity!r}.")
    if not (_is_number(tail_boost) and np.isfinite(tail_boost) and float(tail_boost) >= 0.0):
        raise ValueError(f"tail_boost must be a finite number >= 0 (0 = no boost), got {tail_boost!r}.")


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def rerank_positions(
    scores: tf.Tensor,
    vectors: tf.Tensor,
    tailness: tf.Tensor,
    k: Union[int, tf.Tensor],
    diversity: Number,
    tail_boost: Number,
) -> tf.Tensor:
    """int32 [B, k'] positions into the C candidates, in re-ranked order (k' = min(k, C)).

    Args:
        scores: float32 [B, C] candidate scores (-inf = never pick).
        vectors: float32 [B, C, d] candidate item embeddings.
        tailness: float32 [B, C] candidate tailness (1 = tail item, 0 = head item).
        k: how many to pick.
        diversity: scalar in [0, 1] (checked in-graph: InvalidArgument otherwise).
        tail_boost: scalar >= 0 (checked in-graph).
    """
    scores = tf.convert_to_tensor(scores, tf.float32)
    diversity = tf.cast(diversity, tf.float32)
    tail_boost = tf.cast(tail_boost, tf.float32)
    checks = [
        tf.debugging.assert_greater_equal(diversity, 0.0, message="diversity must be in [0, 1]"),
        tf.debugging.assert_less_equal(diversity, 1.0, message="diversity must be in [0, 1]"),
        tf.debugging.assert_greater_equal(tail_boost, 0.0, message="tail_boost must be >= 0"),
        tf.debugging.assert_less(tail_boost, np.float32(np.inf), message="tail_boost must be finite"),
    ]
    with tf.control_dependencies(checks):
        finite = tf.math.is_finite(scores)
    low = tf.reduce_min(tf.where(finite, scores, np.inf), axis=1, keepdims=True)
    high = tf.reduce_max(tf.where(finite, scores, -np.inf), axis=1, keepdims=True)
    spread = tf.where(high > low, high - low, tf.ones_like(high))
    scaled = tf.where(finite, (scores - tf.where(finite, low, 0.0)) / spread, 0.0)
    relevance = (1.0 - diversity) * (scaled + tail_boost * tf.cast(tailness, tf.float32))
    unit = tf.math.l2_normalize(tf.cast(vectors, tf.float32), axis=-1)
    penalties = diversity * tf.matmul(unit, unit, transpose_b=True)  # [B, C, C]: lambda * cosine
    count = tf.shape(scores)[1]
    steps = tf.minimum(tf.cast(k, tf.int32), count)

    # Few ops per step (a batch-1 request runs k of them): picked and excluded candidates sit at -inf.
    def step(t, available, penalty, picks):
        pick = tf.argmax(available - penalty, axis=1, output_type=tf.int32)
        available = tf.where(tf.one_hot(pick, count, True, False, dtype=tf.bool), -np.inf, available)
        penalty = tf.maximum(penalty, tf.gather(penalties, pick, batch_dims=1))
        return t + 1, available, penalty, picks.write(t, pick)

    picks = tf.TensorArray(tf.int32, size=steps, element_shape=tf.TensorShape([None]))
    start = (tf.constant(0), tf.where(finite, relevance, -np.inf), -diversity * tf.ones_like(scores), picks)
    _, _, _, picks = tf.while_loop(lambda t, *_: t < steps, step, start)
    picks = tf.transpose(tf.reshape(picks.stack(), [steps, tf.shape(scores)[0]]))
    # Picks come best-first among the open candidates, so a row's first (number of finite scores) are real.
    filled = tf.range(steps)[tf.newaxis, :] < tf.reduce_sum(tf.cast(finite, tf.int32), axis=1, keepdims=True)
    return tf.where(filled, picks, EMPTY_POSITION)


def rerank(
    scores: np.ndarray,
    vectors: np.ndarray,
    tailness: np.ndarray,
    k: int,
    diversity: float = 0.0,
    tail_boost: float = 0.0,
) -> np.ndarray:
    """Library entry: `rerank_positions` on NumPy inputs, arguments checked first; int32 [B, min(k, C)]."""
    check_rerank_arguments(diversity, tail_boost)
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}.")
    return rerank_positions(scores, vectors, tailness, int(k), float(diversity), float(tail_boost)).numpy()
