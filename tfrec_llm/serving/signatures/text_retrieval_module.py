"""The exported `text_retrieval` model: a natural-language request -> top-K catalog items.

One call for TF Serving: the request is embedded by the `item_text_encoder`
computation (in-graph tokenizer, BERT, the item tower's text path with the
out-of-vocabulary id part; see `item_text_encoder_module.py`) and scored
against the precomputed item table with one matrix product and
`tf.math.top_k`, as `TextQueryRetriever` scores it. Like
`item_text_encoder`, it needs the TF Text tokenizer ops (TF Text 2.12 has
them; `RoundRobinTrim` is never used). K = min(max_k, catalog size) is fixed
at export (TFRS#298); the `k` input of `retrieve_top_k` slices it.

`retrieve_personal` adds who is asking: a `history` (as `retrieval` reads
it) and a `history_weight` w; the request vector becomes
(1 - w) * request + w * user embedding (`queries/personal_blend.py`), the
history's items are excluded, and w = 0 answers the plain request. An
empty history is the user tower's no-history user (the model's prior, close
to popularity), as in `retrieval`. `PersonalRetriever` computes the same in
the library. With `text_features` (the frozen encoder's L2-normalised BERT
vectors of the catalog items, a second table beside the item embeddings)
it also takes `text_similarity_weight` alpha and adds
alpha * z(cos(BERT(request), BERT(item text))) to every score (z: per-row
standardisation over the catalog; `personal_blend.fused_scores`); alpha = 0
is the blend alone, a negative alpha the equal-spread rule (alpha = the
standard deviation of that request's own scores). With that table
`serving_default` and `retrieve_top_k` serve a request alone by the
equal-spread rule (`personal_blend.REQUEST_ALONE_TEXT_SIMILARITY_WEIGHT`, which beats BERT
alone and the model's embedding alone on the request benchmark); without
it (exports of models whose text is fine-tuned have none) they serve the
model's embedding. With `popularity_prior` (`catalog.item_popularity.popularity_prior`
of the training counts) a third signature, `retrieve_profile`, takes the
inputs of `retrieve_personal` plus `popularity_weight` beta and adds
beta * prior_i to item i's score: a cold user's profile blend
(`recommend --profile`); `retrieve_personal` keeps its inputs. `add-items`
appends the new items' BERT vectors and a prior of 0 (no training
interactions).
"""

from typing import List, Optional, Union

import numpy as np
import tensorflow as tf

from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX
from tfrec_llm.serving.catalog.history_encoder import HISTORY_INPUT, HistoryEncoder
from tfrec_llm.serving.catalog.item_lookup import ItemLookup
from tfrec_llm.serving.saved_model_loading import LoadedSavedModel
from tfrec_llm.serving.signatures.item_text_encoder_module import (
    ITEM_EMBEDDING_OUTPUT,
    TEXT_FEATURES_OUTPUT,
    TEXT_INPUT,
    ItemTextEncoderModule,
)
from tfrec_llm.serving.signatures.retrieval_module import K_INPUT, exclude_history_items, top_catalog_items
from tfrec_llm.serving.export.warmup_request import WarmupRequest
from tfrec_llm.unit_vectors import unit_rows

MODEL_NAME = "text_retrieval"
TOP_K_SIGNATURE = "retrieve_top_k"
PERSONAL_SIGNATURE = "retrieve_personal"
PROFILE_SIGNATURE = "retrieve_profile"
HISTORY_WEIGHT_INPUT = "history_weight"
SIMILARITY_WEIGHT_INPUT = "text_similarity_weight"
POPULARITY_WEIGHT_INPUT = "popularity_weight"
QUERY_INPUT = "query"
EQUAL_SPREAD = -1.0  # a negative alpha: the equal-spread rule (as `queries.personal_blend.EQUAL_SPREAD`)
EXAMPLE_QUERIES = ("a funny film for the whole family", "", "space travel")


class TextRetrievalModule(tf.Module):
    """Signatures `serving_default` (`query` string [B]), `retrieve_top_k` (+ `k` int32 scalar) and,
    with a history encoder, `retrieve_personal` (+ `history` string [B, H], `history_weight` float32
    scalar and, with `text_features`, `text_similarity_weight` float32 scalar) and, with a history
    encoder and `popularity_prior`, `retrieve_profile` (those + `popularity_weight` float32 scalar)
    -> `item_ids` string [B, k], `scores` float32 [B, k], best first.

    Args:
        text_encoder: an `ItemTextEncoderModule` (or its restored SavedModel):
            `encode({"text": ...})["item_embedding"]`.
        items: the `ItemLookup` of the catalog.
        max_k: most results a request can get.
        history_encoder: the `HistoryEncoder` over `items` (None: no
            `retrieve_personal`, as in exports written before it).
        text_features: float32 [N, h] BERT vectors of the catalog items, row i
            = catalog item i (None: no `text_similarity_weight` input).
        popularity_prior: float32 [N] the items' popularity prior
            (`catalog.item_popularity.popularity_prior`; None: no `retrieve_profile`).

    Example:
        module = TextRetrievalModule(item_text_encoder(trained), ItemLookup(catalog, scratch), max_k=100)
        module.retrieve({"query": tf.constant(["a scary film"])})["item_ids"]  # [1, K]
    """

    model_name = MODEL_NAME
    needs_text_ops = True

    def __init__(
        self,
        text_encoder: Union[ItemTextEncoderModule, LoadedSavedModel],
        items: ItemLookup,
        max_k: int,
        history_encoder: Optional[HistoryEncoder] = None,
        text_features: Optional[np.ndarray] = None,
        popularity_prior: Optional[np.ndarray] = None,
    ):
        super().__init__(name=MODEL_NAME)
        if max_k < 1:
            raise ValueError(f"max_k must be >= 1, got {max_k}.")
        self.text_encoder = text_encoder
        self.items = items
        self.top_k = min(int(max_k), items.num_items)
        self.retrieve = tf.function(self._retrieve)
        self.retrieve_top_k = tf.function(self._retrieve_top_k)
        if history_encoder is not None:
            self.history_encoder = history_encoder
            self.retrieve_personal = tf.function(self._retrieve_personal)
            self.retrieve_profile = tf.function(self._retrieve_profile)
        if text_features is not None:
            text_features = np.asarray(text_features, np.float32)
            if text_features.shape[0] != items.num_items:
                raise ValueError(f"{text_features.shape[0]} text feature rows for {items.num_items} items.")
            self.text_features = tf.Variable(unit_rows(text_features), trainable=False, name="text_features")
        if popularity_prior is not None:
            popularity_prior = np.asarray(popularity_prior, np.float32)
            if popularity_prior.shape != (items.num_items,):
                raise ValueError(f"popularity prior of shape {popularity_prior.shape} for {items.num_items} items.")
            self.popularity_prior = tf.Variable(popularity_prior, trainable=False, name="popularity_prior")

    def signatures(self) -> dict:
        query = tf.TensorSpec([None], tf.string, name=QUERY_INPUT)
        k = tf.TensorSpec([], tf.int32, name=K_INPUT)
        signatures = {
            "serving_default": self.retrieve.get_concrete_function({QUERY_INPUT: query}),
            TOP_K_SIGNATURE: self.retrieve_top_k.get_concrete_function({QUERY_INPUT: query, K_INPUT: k}),
        }
        if hasattr(self, "history_encoder"):
            inputs = {
                QUERY_INPUT: query,
                HISTORY_INPUT: self.history_encoder.history_spec(),
                HISTORY_WEIGHT_INPUT: tf.TensorSpec([], tf.float32, name=HISTORY_WEIGHT_INPUT),
                K_INPUT: k,
            }
            if hasattr(self, "text_features"):
                inputs[SIMILARITY_WEIGHT_INPUT] = tf.TensorSpec([], tf.float32, name=SIMILARITY_WEIGHT_INPUT)
            signatures[PERSONAL_SIGNATURE] = self.retrieve_personal.get_concrete_function(inputs)
            if hasattr(self, "popularity_prior"):
                inputs[POPULARITY_WEIGHT_INPUT] = tf.TensorSpec([], tf.float32, name=POPULARITY_WEIGHT_INPUT)
                signatures[PROFILE_SIGNATURE] = self.retrieve_profile.get_concrete_function(inputs)
        return signatures

    def _retrieve(self, inputs):
        """Inputs: `query` string [B]. Outputs: `item_ids` string [B, K], `scores` float32 [B, K]."""
        return self._top_items(inputs[QUERY_INPUT], self.top_k)

    def _retrieve_top_k(self, inputs):
        """Inputs: `query` string [B], `k` int32 scalar clipped to [0, K]. Outputs as `serving_default`."""
        return self._top_items(inputs[QUERY_INPUT], tf.clip_by_value(inputs[K_INPUT], 0, self.top_k))

    def _retrieve_personal(self, inputs):
        """Inputs: `query` string [B]; `history` string [B, H] ("" = padding); `history_weight` float32
        scalar w, clipped to [0, 1]; `k` as `retrieve_top_k`; with text features,
        `text_similarity_weight` alpha float32 scalar (negative: the equal-spread rule). Scores
        (1 - w) * request + w * user embedding against the catalog, plus alpha * z(BERT cosine), history
        items excluded. Outputs as `serving_default`."""
        return self._personal(inputs, popularity_weight=None)

    def _retrieve_profile(self, inputs):
        """Inputs as `retrieve_personal` plus `popularity_weight` beta float32 scalar, clipped to >= 0:
        beta * the popularity prior is added to every score. Outputs as `serving_default`."""
        return self._personal(inputs, tf.maximum(inputs[POPULARITY_WEIGHT_INPUT], 0.0))

    def _personal(self, inputs, popularity_weight):
        weight = tf.clip_by_value(inputs[HISTORY_WEIGHT_INPUT], 0.0, 1.0)
        requests = self.text_encoder.encode({TEXT_INPUT: inputs[QUERY_INPUT]})[ITEM_EMBEDDING_OUTPUT]
        encoder = self.history_encoder
        history = encoder.items.indices(inputs[HISTORY_INPUT])
        users = encoder.user_vectors(history, *encoder.default_context(tf.shape(history)[0]))
        vectors = (1.0 - weight) * requests + weight * users
        scores = tf.matmul(vectors, self.items.item_vectors, transpose_b=True)
        if hasattr(self, "text_features"):
            scores = self._with_text_similarity(scores, inputs[QUERY_INPUT], inputs[SIMILARITY_WEIGHT_INPUT])
        if popularity_weight is not None:
            scores += popularity_weight * self.popularity_prior[tf.newaxis, :]
        scores = exclude_history_items(scores, history)
        return top_catalog_items(scores, self.items, self.top_k, tf.clip_by_value(inputs[K_INPUT], 0, self.top_k))

    def _top_items(self, queries, k):
        vectors = self.text_encoder.encode({TEXT_INPUT: queries})[ITEM_EMBEDDING_OUTPUT]
        scores = tf.matmul(vectors, self.items.item_vectors, transpose_b=True)
        if hasattr(self, "text_features"):
            scores = self._with_text_similarity(scores, queries, tf.constant(EQUAL_SPREAD))
        return top_catalog_items(scores, self.items, self.top_k, k)

    def _with_text_similarity(self, scores, queries, alpha):
        """scores [B, N] + alpha * z(BERT cosine); alpha < 0: each row's alpha is that row's std of `scores`."""
        features = self.text_encoder.encode_text_features({TEXT_INPUT: queries})[TEXT_FEATURES_OUTPUT]
        cosines = tf.matmul(features, self.text_features, transpose_b=True)
        centred = cosines - tf.reduce_mean(cosines, axis=1, keepdims=True)
        spread = tf.math.reduce_std(cosines, axis=1, keepdims=True)
        row_alpha = tf.where(alpha < 0.0, tf.math.reduce_std(scores, axis=1, keepdims=True), alpha)
        return scores + row_alpha * centred / tf.where(spread > 0.0, spread, tf.ones_like(spread))

    def warmup_requests(self) -> List[WarmupRequest]:
        k = np.array(min(3, self.top_k), np.int32)
        requests = [
            WarmupRequest("serving_default", {QUERY_INPUT: np.array(EXAMPLE_QUERIES)}),
            WarmupRequest(TOP_K_SIGNATURE, {QUERY_INPUT: np.array(EXAMPLE_QUERIES[:1]), K_INPUT: k}),
        ]
        if hasattr(self, "history_encoder"):
            first = self.items.item_ids.numpy()[:1].astype(str)[0]
            history = np.array([[first, ""], ["", ""], ["", ""]])  # a history, an empty one, an empty request
            inputs = {QUERY_INPUT: np.array(EXAMPLE_QUERIES), HISTORY_INPUT: history, K_INPUT: k}
            inputs[HISTORY_WEIGHT_INPUT] = np.float32(0.3)
            if hasattr(self, "text_features"):
                inputs[SIMILARITY_WEIGHT_INPUT] = np.float32(0.1)
            requests.append(WarmupRequest(PERSONAL_SIGNATURE, inputs))
            if hasattr(self, "popularity_prior"):
                requests.append(WarmupRequest(PROFILE_SIGNATURE, {**inputs, POPULARITY_WEIGHT_INPUT: np.float32(1.0)}))
        return requests


def catalog_text_features(item_tower, num_index_rows: int, batch_size: int = 1024) -> np.ndarray:
    """float32 [N, h] BERT vectors of the catalog items (index rows 2..), as the item tower reads them."""
    rows = [np.zeros((0, 0), np.float32)]
    for start in range(FIRST_ITEM_INDEX, num_index_rows, batch_size):
        indices = tf.range(start, min(start + batch_size, num_index_rows))
        rows.append(tf.cast(item_tower.raw_text_vectors(indices, training=False), tf.float32).numpy())
    return np.concatenate(rows[1:]) if len(rows) > 1 else rows[0]
