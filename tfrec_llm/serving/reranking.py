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
signature, where diversity and tail boost are request inputs. At batch 1
its cost is the number of graph ops, so a step is a handful of small ops
(no C x C similarity matrix, no batched matmul), the first steps carry no
loop ops and the two argument checks are single Assert ops.

Example:
    positions = rerank(scores, vectors, tailness, k=10, diversity=0.3, tail_boost=0.2)
"""

import numbers
from typing import Union

import numpy as np
import tensorflow as tf

from tfrec_llm.evaluation.strata import DEFAULT_HEAD_SHARE, head_item_mask

EMPTY_POSITION = -1
UNROLLED_STEPS = 10  # greedy steps written out in-graph when k is a request input
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
    unrolled_steps: int = UNROLLED_STEPS,
) -> tf.Tensor:
    """int32 [B, k'] positions into the C candidates, in re-ranked order (k' = min(k, C)).

    The greedy steps are written out one after another (no loop ops, the
    cheapest graph at batch 1) when k is a Python int; for a tensor k (a
    request input of the export) the first `unrolled_steps` are, and a
    `tf.while_loop` runs only the steps beyond them (a request asking for
    more). Greedy picks do not depend on later ones, so the extra unrolled
    picks of a smaller k are simply cut off.

    Args:
        scores: float32 [B, C] candidate scores (-inf = never pick).
        vectors: float32 [B, C, d] candidate item embeddings.
        tailness: float32 [B, C] candidate tailness (1 = tail item, 0 = head item).
        k: how many to pick (int or int32 scalar tensor).
        diversity: scalar in [0, 1] (checked in-graph: InvalidArgument otherwise).
        tail_boost: scalar >= 0 (checked in-graph).
        unrolled_steps: steps written out when k is a tensor.

    Example:
        positions = rerank_positions(scores, vectors, tailness, 10, 0.3, 0.2)
    """
    scores = tf.convert_to_tensor(scores, tf.float32)
    diversity = tf.cast(diversity, tf.float32)
    tail_boost = tf.cast(tail_boost, tf.float32)
    with tf.control_dependencies(_argument_checks(diversity, tail_boost)):
        finite = tf.math.is_finite(scores)
    low = tf.reduce_min(tf.where(finite, scores, np.inf), axis=1, keepdims=True)
    high = tf.reduce_max(tf.where(finite, scores, -np.inf), axis=1, keepdims=True)
    spread = tf.where(high > low, high - low, tf.ones_like(high))
    scaled = tf.where(finite, (scores - tf.where(finite, low, 0.0)) / spread, 0.0)
    relevance = (1.0 - diversity) * (scaled + tail_boost * tf.cast(tailness, tf.float32))
    unit = tf.math.l2_normalize(tf.cast(vectors, tf.float32), axis=-1)
    greedy = _Greedy(tf.where(finite, relevance, -np.inf), unit, diversity)
    static_k, static_count = tf.get_static_value(k), scores.shape[1]
    if static_k is not None and static_count is not None:
        steps = max(min(int(static_k), static_count), 0)
        picks, _ = greedy.unrolled(greedy.start(diversity), steps)
    else:
        steps = tf.minimum(tf.cast(k, tf.int32), tf.shape(scores)[1])
        picks = greedy.unrolled_then_looped(greedy.start(diversity), unrolled_steps, steps)
    # Picks come best-first among the open candidates, so a row's first (number of finite scores) are real.
    filled = tf.range(steps)[tf.newaxis, :] < tf.reduce_sum(tf.cast(finite, tf.int32), axis=1, keepdims=True)
    return tf.where(filled, picks, EMPTY_POSITION)


def _argument_checks(diversity: tf.Tensor, tail_boost: tf.Tensor) -> list:
    """One Assert op per argument (string data only, so no cond around it), naming the argument and value."""
    diversity_ok = tf.logical_and(diversity >= 0.0, diversity <= 1.0)  # false for NaN too
    tail_boost_ok = tf.logical_and(tail_boost >= 0.0, tail_boost < np.inf)
    return [
        tf.debugging.Assert(diversity_ok, ["diversity must be in [0, 1], got", tf.strings.as_string(diversity)]),
        tf.debugging.Assert(
            tail_boost_ok, ["tail_boost must be >= 0 and finite, got", tf.strings.as_string(tail_boost)]
        ),
    ]


class _Greedy:
    """Greedy MMR steps on `gain` [B, C] = relevance - max(lambda * cosine to the picks so far), -inf once picked.

    rel - max(a, b) == min(rel - a, rel - b) in floating point (rounding is
    monotone), so one state tensor carries both. A step takes the pick's
    cosines to the C candidates as one elementwise product and sum: no
    C x C matrix (k rows are all that is read, and a batched matmul costs
    more than the whole loop at batch 1).
    """

    def __init__(self, open_relevance: tf.Tensor, unit: tf.Tensor, diversity: tf.Tensor):
        self.open_relevance = open_relevance  # [B, C], -inf for excluded candidates
        self.unit = unit  # [B, C, d] unit-length candidate embeddings
        self.scaled_unit = (diversity * unit)[:, :, tf.newaxis, :]  # [B, C, 1, d]: a gathered pick broadcasts
        self.count = open_relevance.shape[1] or tf.shape(open_relevance)[1]

    def start(self, diversity: tf.Tensor) -> tf.Tensor:
        return self.open_relevance - (-diversity)  # the penalty before any pick: lambda * (cosine -1)

    def pick(self, gain: tf.Tensor) -> tf.Tensor:
        return tf.argmax(gain, axis=1, output_type=tf.int32)

    def update(self, gain: tf.Tensor, pick: tf.Tensor) -> tf.Tensor:
        picked = tf.gather(self.scaled_unit, pick, batch_dims=1)  # [B, 1, d]
        penalty = tf.reduce_sum(self.unit * picked, axis=-1)  # [B, C]: lambda * cosine to the pick
        taken = tf.one_hot(pick, self.count, np.inf, 0.0)  # the pick itself drops to -inf
        return tf.minimum(gain, self.open_relevance - (penalty + taken))

    def unrolled(self, gain: tf.Tensor, steps: int, update_last: bool = False):
        """(int32 [B, steps] picks, gain after them: updated for the last pick only if `update_last`)."""
        picks = []
        for step in range(steps):
            picks.append(self.pick(gain))
            if step + 1 < steps or update_last:
                gain = self.update(gain, picks[-1])
        if not picks:
            return tf.zeros([tf.shape(gain)[0], 0], tf.int32), gain
        return tf.stack(picks, axis=1), gain

    def unrolled_then_looped(self, gain: tf.Tensor, unrolled_steps: int, steps: tf.Tensor) -> tf.Tensor:
        """int32 [B, steps]: `unrolled_steps` written out, a while loop (run only if needed) for the rest."""
        first, gain = self.unrolled(gain, unrolled_steps, update_last=True)
        rest = tf.cond(
            steps > unrolled_steps,
            lambda: self.looped(gain, steps - unrolled_steps),
            lambda: tf.zeros([tf.shape(gain)[0], 0], tf.int32),
        )
        return tf.concat([first, rest], axis=1)[:, :steps]

    def looped(self, gain: tf.Tensor, steps: tf.Tensor) -> tf.Tensor:
        def step(t, gain, picks):
            pick = self.pick(gain)
            return t + 1, self.update(gain, pick), picks.write(t, pick)

        picks = tf.TensorArray(tf.int32, size=steps, element_shape=tf.TensorShape([None]))
        _, _, picks = tf.while_loop(lambda t, *_: t < steps, step, (tf.constant(0), gain, picks))
        return tf.transpose(tf.reshape(picks.stack(), [steps, tf.shape(gain)[0]]))


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
