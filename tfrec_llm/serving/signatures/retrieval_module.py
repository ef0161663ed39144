"""The exported `retrieval` model: history (+ context) -> top-K catalog items.

Scoring is one matrix product of the user embedding with the precomputed
item-embedding table followed by `tf.math.top_k` (no BERT, core TF ops
only). A SavedModel fixes k per concrete function (TFRS#298), so the top
K = min(max_k, catalog size) items are computed once and the `k` input of
`retrieve_with_context` only slices them.

`retrieve_reranked` re-ranks those K candidates with maximal marginal
relevance and a tail-exposure boost (`serving/reranking.py`), with the
request's `diversity` (lambda in [0, 1]) and `tail_boost` (beta >= 0)
inputs; its scores are still the dot products, its order the re-ranked one.
Per-item tailness is a variable of the module: 1 for the evaluator's tail
(items outside the head holding 80% of training interactions, and items
added later with add-items), 0 for the head.

With `empty_history_scores` (`model.empty_history_answer` "popularity":
the items' popularity prior), a request whose history holds no known
catalog item (empty, padding or unknown ids only, among the `max_history`
the user tower reads) is ranked by those scores instead of its user
vector's dot products, in every signature; its `scores` are theirs. The
module then holds them as the variable `empty_history_scores`.

Items of the request history are excluded from the results (their scores
are set to -inf before top-k), as in the offline evaluation. When fewer
than K items remain, the trailing slots hold item id "" and score -inf.
"""

from typing import Dict, List, Optional, Union

import numpy as np
import tensorflow as tf

from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX
from tfrec_llm.serving.catalog.history_encoder import HISTORY_INPUT, HistoryEncoder, compact_histories
from tfrec_llm.serving.catalog.item_lookup import ItemLookup
from tfrec_llm.serving.export.warmup_request import UNKNOWN_EXAMPLE_ID, WarmupRequest
from tfrec_llm.serving.reranking import EMPTY_POSITION, rerank_positions

MODEL_NAME = "retrieval"
CONTEXT_SIGNATURE = "retrieve_with_context"
RERANKED_SIGNATURE = "retrieve_reranked"
K_INPUT = "k"
DIVERSITY_INPUT = "diversity"
TAIL_BOOST_INPUT = "tail_boost"
ITEM_IDS_OUTPUT = "item_ids"
SCORES_OUTPUT = "scores"


def exclude_history_items(scores: tf.Tensor, history_indices: tf.Tensor) -> tf.Tensor:
    """`scores` [B, N] with -inf at the catalog items of each row's history."""
    hits = tf.where(history_indices >= FIRST_ITEM_INDEX)
    columns = tf.cast(tf.gather_nd(history_indices, hits) - FIRST_ITEM_INDEX, tf.int64)
    positions = tf.stack([hits[:, 0], columns], axis=1)
    blocked = tf.fill(tf.shape(positions)[:1], tf.constant(-np.inf, scores.dtype))
    return tf.tensor_scatter_nd_update(scores, positions, blocked)


def top_catalog_items(
    scores: tf.Tensor, items: ItemLookup, top_k: int, k: Union[int, tf.Tensor]
) -> Dict[str, tf.Tensor]:
    """The `top_k` best of `scores` [B, N] as `item_ids`/`scores` outputs sliced to `k` (k <= top_k).

    `top_k` is fixed per SavedModel (TFRS#298); excluded items (score -inf)
    that still reach it get the id "".
    """
    top_scores, positions = tf.math.top_k(scores, k=top_k)
    item_ids = tf.where(tf.math.is_finite(top_scores), tf.gather(items.item_ids, positions), "")
    return {ITEM_IDS_OUTPUT: item_ids[:, :k], SCORES_OUTPUT: top_scores[:, :k]}


class RetrievalModule(tf.Module):
    """Signatures `serving_default`, `retrieve_with_context` and `retrieve_reranked` (see module docstring).

    Args:
        history_encoder: a `HistoryEncoder` (its item table is the catalog).
        max_k: most results a request can get (K = min(max_k, catalog size)).
        tailness: float32 [N] per catalog item, 1 = tail, 0 = head (see
            `reranking.tailness_from_popularity`); default all 0 (the tail
            boost then changes nothing).
        empty_history_scores: float32 [N] per catalog item, the scores of a
            request without a known history item (see module docstring);
            None: such a request is scored by its user vector.

    Example:
        module = RetrievalModule(history_encoder, max_k=100)
        tf.saved_model.save(module, path, signatures=module.signatures())
    """

    model_name = MODEL_NAME

    def __init__(
        self,
        history_encoder: HistoryEncoder,
        max_k: int,
        tailness: Optional[np.ndarray] = None,
        empty_history_scores: Optional[np.ndarray] = None,
    ):
        super().__init__(name=MODEL_NAME)
        if max_k < 1:
            raise ValueError(f"max_k must be >= 1, got {max_k}.")
        num_items = history_encoder.items.num_items
        tailness = np.zeros(num_items, np.float32) if tailness is None else np.asarray(tailness, np.float32)
        if tailness.shape != (num_items,):
            raise ValueError(f"tailness must be [{num_items}] (one per catalog item), got {list(tailness.shape)}.")
        self.history_encoder = history_encoder
        self.top_k = min(int(max_k), num_items)
        self.tailness = tf.Variable(tailness, trainable=False, name="tailness")
        if empty_history_scores is not None:
            empty_history_scores = np.asarray(empty_history_scores, np.float32)
            if empty_history_scores.shape != (num_items,) or not np.isfinite(empty_history_scores).all():
                raise ValueError(
                    f"empty_history_scores must be [{num_items}] finite scores (one per catalog item), "
                    f"got shape {list(empty_history_scores.shape)}."
                )
            self.empty_history_scores = tf.Variable(empty_history_scores, trainable=False, name="empty_history_scores")
        else:
            self.empty_history_scores = None
        self.retrieve = tf.function(self._retrieve)
        self.retrieve_with_context = tf.function(self._retrieve_with_context)
        self.retrieve_reranked = tf.function(self._retrieve_reranked)

    def signatures(self) -> dict:
        encoder = self.history_encoder
        context = dict(encoder.context_specs(), **{K_INPUT: tf.TensorSpec([], tf.int32, name=K_INPUT)})
        return {
            "serving_default": self.retrieve.get_concrete_function({HISTORY_INPUT: encoder.history_spec()}),
            CONTEXT_SIGNATURE: self.retrieve_with_context.get_concrete_function(
                dict({HISTORY_INPUT: encoder.history_spec()}, **context)
            ),
            RERANKED_SIGNATURE: self.retrieve_reranked.get_concrete_function(
                {
                    HISTORY_INPUT: encoder.history_spec(),
                    K_INPUT: tf.TensorSpec([], tf.int32, name=K_INPUT),
                    DIVERSITY_INPUT: tf.TensorSpec([], tf.float32, name=DIVERSITY_INPUT),
                    TAIL_BOOST_INPUT: tf.TensorSpec([], tf.float32, name=TAIL_BOOST_INPUT),
                }
            ),
        }

    def _retrieve(self, inputs):
        """Top-K items for histories, in the model's default context.

        Inputs: `history` string [B, H] item ids, oldest first, "" = padding.
        Outputs: `item_ids` string [B, K] and `scores` float32 [B, K]
        (user-item dot products), best first, history items excluded.
        """
        history = self.history_encoder.items.indices(inputs[HISTORY_INPUT])
        users = self.history_encoder.user_vectors(history, *self.history_encoder.default_context(tf.shape(history)[0]))
        return self._top_items(users, history, self.top_k)

    def _retrieve_with_context(self, inputs):
        """Top-k items for histories in a given context.

        Inputs: `history` string [B, H]; `scenario` string [B] ("" or unseen
        = unknown); `user_<name>` string [B] per user feature of the model;
        `k` int32 scalar, clipped to [0, K].
        Outputs: `item_ids` string [B, k], `scores` float32 [B, k].
        """
        history = self.history_encoder.items.indices(inputs[HISTORY_INPUT])
        users = self.history_encoder.user_vectors(history, *self.history_encoder.context_of(inputs))
        return self._top_items(users, history, tf.clip_by_value(inputs[K_INPUT], 0, self.top_k))

    def _retrieve_reranked(self, inputs):
        """The top-K candidates of `serving_default`, re-ranked; the best k of them.

        Inputs: `history` string [B, H]; `k` int32 scalar, clipped to [0, K];
        `diversity` float32 scalar in [0, 1] and `tail_boost` float32 scalar
        >= 0 (otherwise the request fails with InvalidArgument naming them).
        Outputs: `item_ids` string [B, k], `scores` float32 [B, k] (the
        dot products, in re-ranked order; "" and -inf for empty slots).
        """
        encoder = self.history_encoder
        history = encoder.items.indices(inputs[HISTORY_INPUT])
        users = encoder.user_vectors(history, *encoder.default_context(tf.shape(history)[0]))
        scores = self._scores(users, history)
        top_scores, candidates = tf.math.top_k(scores, k=self.top_k)
        order = rerank_positions(
            top_scores,
            tf.gather(encoder.items.item_vectors.value(), candidates),
            tf.gather(self.tailness.value(), candidates),
            tf.clip_by_value(inputs[K_INPUT], 0, self.top_k),
            inputs[DIVERSITY_INPUT],
            inputs[TAIL_BOOST_INPUT],
        )
        filled = order != EMPTY_POSITION
        chosen = tf.gather(candidates, tf.maximum(order, 0), batch_dims=1)
        chosen_scores = tf.where(filled, tf.gather(top_scores, tf.maximum(order, 0), batch_dims=1), -np.inf)
        item_ids = tf.where(tf.math.is_finite(chosen_scores), tf.gather(encoder.items.item_ids, chosen), "")
        return {ITEM_IDS_OUTPUT: item_ids, SCORES_OUTPUT: chosen_scores}

    def _top_items(self, users, history, k):
        return top_catalog_items(self._scores(users, history), self.history_encoder.items, self.top_k, k)

    def _scores(self, users, history):
        """[B, N] user-item dot products (or the empty-history scores), history items at -inf."""
        scores = tf.matmul(users, self.history_encoder.items.item_vectors, transpose_b=True)
        if self.empty_history_scores is not None:
            read = compact_histories(history, self.history_encoder.max_history)
            has_history = tf.reduce_any(read >= FIRST_ITEM_INDEX, axis=1, keepdims=True)
            scores = tf.where(has_history, scores, self.empty_history_scores[tf.newaxis, :])
        return exclude_history_items(scores, history)

    def warmup_requests(self) -> List[WarmupRequest]:
        """Requests covering a normal, an empty and an unknown-item history, and the context signature."""
        ids = self.history_encoder.items.item_ids.numpy()[:2].astype(str)
        first, second = ids[0], ids[-1]
        history = np.array([[first, second, ""], ["", "", ""], [UNKNOWN_EXAMPLE_ID, "", first]])
        context = self.history_encoder.example_context(batch_size=2)
        context[HISTORY_INPUT] = np.array([[first, second], ["", ""]])
        context[K_INPUT] = np.array(min(3, self.top_k), np.int32)
        reranked = {
            HISTORY_INPUT: history,
            K_INPUT: np.array(min(3, self.top_k), np.int32),
            DIVERSITY_INPUT: np.array(0.5, np.float32),
            TAIL_BOOST_INPUT: np.array(0.2, np.float32),
        }
        return [
            WarmupRequest("serving_default", {HISTORY_INPUT: history}),
            WarmupRequest(CONTEXT_SIGNATURE, context),
            WarmupRequest(RERANKED_SIGNATURE, reranked),
        ]
