"""The exported `retrieval` model: history (+ context) -> top-K catalog items.

Scoring is one matrix product of the user embedding with the precomputed
item-embedding table followed by `tf.math.top_k` (no BERT, core TF ops
only). A SavedModel fixes k per concrete function (TFRS#298), so the top
K = min(max_k, catalog size) items are computed once and the `k` input of
`retrieve_with_context` only slices them.

Items of the request history are excluded from the results (their scores
are set to -inf before top-k), as in the offline evaluation. When fewer
than K items remain, the trailing slots hold item id "" and score -inf.
"""

from typing import Dict, List, Union

import numpy as np
import tensorflow as tf

from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX
from tfrec_llm.serving.catalog.history_encoder import HISTORY_INPUT, HistoryEncoder
from tfrec_llm.serving.catalog.item_lookup import ItemLookup
from tfrec_llm.serving.export.warmup_request import UNKNOWN_EXAMPLE_ID, WarmupRequest

MODEL_NAME = "retrieval"
CONTEXT_SIGNATURE = "retrieve_with_context"
K_INPUT = "k"
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
    """Signatures `serving_default` and `retrieve_with_context` (see module docstring).

    Args:
        history_encoder: a `HistoryEncoder` (its item table is the catalog).
        max_k: most results a request can get (K = min(max_k, catalog size)).

    Example:
        module = RetrievalModule(history_encoder, max_k=100)
        tf.saved_model.save(module, path, signatures=module.signatures())
    """

    model_name = MODEL_NAME

    def __init__(self, history_encoder: HistoryEncoder, max_k: int):
        super().__init__(name=MODEL_NAME)
        if max_k < 1:
            raise ValueError(f"max_k must be >= 1, got {max_k}.")
        self.history_encoder = history_encoder
        self.top_k = min(int(max_k), history_encoder.items.num_items)
        self.retrieve = tf.function(self._retrieve)
        self.retrieve_with_context = tf.function(self._retrieve_with_context)

    def signatures(self) -> dict:
        encoder = self.history_encoder
        context = dict(encoder.context_specs(), **{K_INPUT: tf.TensorSpec([], tf.int32, name=K_INPUT)})
        return {
            "serving_default": self.retrieve.get_concrete_function({HISTORY_INPUT: encoder.history_spec()}),
            CONTEXT_SIGNATURE: self.retrieve_with_context.get_concrete_function(
                dict({HISTORY_INPUT: encoder.history_spec()}, **context)
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

    def _top_items(self, users, history, k):
        items = self.history_encoder.items
        scores = exclude_history_items(tf.matmul(users, items.item_vectors, transpose_b=True), history)
        return top_catalog_items(scores, items, self.top_k, k)

    def warmup_requests(self) -> List[WarmupRequest]:
        """Requests covering a normal, an empty and an unknown-item history, and the context signature."""
        ids = self.history_encoder.items.item_ids.numpy()[:2].astype(str)
        first, second = ids[0], ids[-1]
        history = np.array([[first, second, ""], ["", "", ""], [UNKNOWN_EXAMPLE_ID, "", first]])
        context = self.history_encoder.example_context(batch_size=2)
        context[HISTORY_INPUT] = np.array([[first, second], ["", ""]])
        context[K_INPUT] = np.array(min(3, self.top_k), np.int32)
        return [WarmupRequest("serving_default", {HISTORY_INPUT: history}), WarmupRequest(CONTEXT_SIGNATURE, context)]
