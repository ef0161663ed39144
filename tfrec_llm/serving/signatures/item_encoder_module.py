"""The exported `item_encoder` model: item ids -> item embeddings (table lookup).

The embeddings are the precomputed item-tower outputs (L2-normalised), the
same vectors `retrieval` scores against. Unknown ids get the unknown-item
embedding and "" the padding embedding.
"""

from typing import List

import numpy as np
import tensorflow as tf

from tfrec_llm.serving.catalog.item_lookup import ItemLookup
from tfrec_llm.serving.export.warmup_request import UNKNOWN_EXAMPLE_ID, WarmupRequest

MODEL_NAME = "item_encoder"
ITEM_IDS_INPUT = "item_ids"
ITEM_EMBEDDING_OUTPUT = "item_embedding"


class ItemEncoderModule(tf.Module):
    """Signature `serving_default`: `item_ids` string [B] -> `item_embedding` float32 [B, d].

    Args:
        items: the `ItemLookup`.

    Example:
        module = ItemEncoderModule(items)
        tf.saved_model.save(module, path, signatures=module.signatures())
    """

    model_name = MODEL_NAME

    def __init__(self, items: ItemLookup):
        super().__init__(name=MODEL_NAME)
        self.items = items
        self.encode = tf.function(self._encode)

    def signatures(self) -> dict:
        spec = {ITEM_IDS_INPUT: tf.TensorSpec([None], tf.string, name=ITEM_IDS_INPUT)}
        return {"serving_default": self.encode.get_concrete_function(spec)}

    def _encode(self, inputs):
        """Inputs: `item_ids` string [B]. Outputs: `item_embedding` float32 [B, d]."""
        return {ITEM_EMBEDDING_OUTPUT: self.items.vectors(self.items.indices(inputs[ITEM_IDS_INPUT]))}

    def warmup_requests(self) -> List[WarmupRequest]:
        ids = self.items.item_ids.numpy()[:2].astype(str)
        return [WarmupRequest("serving_default", {ITEM_IDS_INPUT: np.array([ids[0], ids[-1], UNKNOWN_EXAMPLE_ID, ""])})]
