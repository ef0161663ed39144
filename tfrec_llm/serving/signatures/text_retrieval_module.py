"""The exported `text_retrieval` model: a natural-language request -> top-K catalog items.

One call for TF Serving: the request is embedded by the `item_text_encoder`
computation (in-graph tokenizer, BERT, the item tower's text path with the
out-of-vocabulary id part; see `item_text_encoder_module.py`) and scored
against the precomputed item table with one matrix product and
`tf.math.top_k`, as `TextQueryRetriever` scores it. Like
`item_text_encoder`, it needs the TF Text tokenizer ops (TF Text 2.12 has
them; `RoundRobinTrim` is never used). K = min(max_k, catalog size) is fixed
at export (TFRS#298); the `k` input of `retrieve_top_k` slices it.
"""

from typing import List, Union

import numpy as np
import tensorflow as tf

from tfrec_llm.serving.catalog.item_lookup import ItemLookup
from tfrec_llm.serving.saved_model_loading import LoadedSavedModel
from tfrec_llm.serving.signatures.item_text_encoder_module import (
    ITEM_EMBEDDING_OUTPUT,
    TEXT_INPUT,
    ItemTextEncoderModule,
)
from tfrec_llm.serving.signatures.retrieval_module import K_INPUT, top_catalog_items
from tfrec_llm.serving.export.warmup_request import WarmupRequest

MODEL_NAME = "text_retrieval"
TOP_K_SIGNATURE = "retrieve_top_k"
QUERY_INPUT = "query"
EXAMPLE_QUERIES = ("a funny film for the whole family", "", "space travel")


class TextRetrievalModule(tf.Module):
    """Signatures `serving_default` (`query` string [B]) and `retrieve_top_k` (+ `k` int32 scalar)
    -> `item_ids` string [B, k], `scores` float32 [B, k], best first.

    Args:
        text_encoder: an `ItemTextEncoderModule` (or its restored SavedModel):
            `encode({"text": ...})["item_embedding"]`.
        items: the `ItemLookup` of the catalog.
        max_k: most results a request can get.

    Example:
        module = TextRetrievalModule(item_text_encoder(trained), ItemLookup(catalog, scratch), max_k=100)
        module.retrieve({"query": tf.constant(["a scary film"])})["item_ids"]  # [1, K]
    """

    model_name = MODEL_NAME
    needs_text_ops = True

    def __init__(self, text_encoder: Union[ItemTextEncoderModule, LoadedSavedModel], items: ItemLookup, max_k: int):
        super().__init__(name=MODEL_NAME)
        if max_k < 1:
            raise ValueError(f"max_k must be >= 1, got {max_k}.")
        self.text_encoder = text_encoder
        self.items = items
        self.top_k = min(int(max_k), items.num_items)
        self.retrieve = tf.function(self._retrieve)
        self.retrieve_top_k = tf.function(self._retrieve_top_k)

    def signatures(self) -> dict:
        query = tf.TensorSpec([None], tf.string, name=QUERY_INPUT)
        k = tf.TensorSpec([], tf.int32, name=K_INPUT)
        return {
            "serving_default": self.retrieve.get_concrete_function({QUERY_INPUT: query}),
            TOP_K_SIGNATURE: self.retrieve_top_k.get_concrete_function({QUERY_INPUT: query, K_INPUT: k}),
        }

    def _retrieve(self, inputs):
        """Inputs: `query` string [B]. Outputs: `item_ids` string [B, K], `scores` float32 [B, K]."""
        return self._top_items(inputs[QUERY_INPUT], self.top_k)

    def _retrieve_top_k(self, inputs):
        """Inputs: `query` string [B], `k` int32 scalar clipped to [0, K]. Outputs as `serving_default`."""
        return self._top_items(inputs[QUERY_INPUT], tf.clip_by_value(inputs[K_INPUT], 0, self.top_k))

    def _top_items(self, queries, k):
        vectors = self.text_encoder.encode({TEXT_INPUT: queries})[ITEM_EMBEDDING_OUTPUT]
        scores = tf.matmul(vectors, self.items.item_vectors, transpose_b=True)
        return top_catalog_items(scores, self.items, self.top_k, k)

    def warmup_requests(self) -> List[WarmupRequest]:
        return [
            WarmupRequest("serving_default", {QUERY_INPUT: np.array(EXAMPLE_QUERIES)}),
            WarmupRequest(
                TOP_K_SIGNATURE,
                {QUERY_INPUT: np.array(EXAMPLE_QUERIES[:1]), K_INPUT: np.array(min(3, self.top_k), np.int32)},
            ),
        ]
