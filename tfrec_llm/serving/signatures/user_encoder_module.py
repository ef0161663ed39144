"""The exported `user_encoder` model: history (+ context) -> user embedding.

For serving stacks that run their own nearest-neighbour index over the
`item_encoder` embeddings (same space: scores are dot products).
"""

from typing import List

import numpy as np
import tensorflow as tf

from tfrec_llm.serving.catalog.history_encoder import HISTORY_INPUT, HistoryEncoder
from tfrec_llm.serving.export.warmup_request import WarmupRequest

MODEL_NAME = "user_encoder"
CONTEXT_SIGNATURE = "encode_with_context"
USER_EMBEDDING_OUTPUT = "user_embedding"


class UserEncoderModule(tf.Module):
    """Signatures `serving_default` and `encode_with_context`.

    Args:
        history_encoder: a `HistoryEncoder`.

    Example:
        module = UserEncoderModule(history_encoder)
        tf.saved_model.save(module, path, signatures=module.signatures())
    """

    model_name = MODEL_NAME

    def __init__(self, history_encoder: HistoryEncoder):
        super().__init__(name=MODEL_NAME)
        self.history_encoder = history_encoder
        self.encode = tf.function(self._encode)
        self.encode_with_context = tf.function(self._encode_with_context)

    def signatures(self) -> dict:
        encoder = self.history_encoder
        inputs = {HISTORY_INPUT: encoder.history_spec()}
        return {
            "serving_default": self.encode.get_concrete_function(inputs),
            CONTEXT_SIGNATURE: self.encode_with_context.get_concrete_function(dict(inputs, **encoder.context_specs())),
        }

    def _encode(self, inputs):
        """Inputs: `history` string [B, H] ("" = padding). Outputs: `user_embedding` float32 [B, d], L2-normalised."""
        history = self.history_encoder.items.indices(inputs[HISTORY_INPUT])
        context = self.history_encoder.default_context(tf.shape(history)[0])
        return {USER_EMBEDDING_OUTPUT: self.history_encoder.user_vectors(history, *context)}

    def _encode_with_context(self, inputs):
        """As `serving_default`, plus `scenario` and `user_<name>` string [B] inputs."""
        history = self.history_encoder.items.indices(inputs[HISTORY_INPUT])
        return {
            USER_EMBEDDING_OUTPUT: self.history_encoder.user_vectors(history, *self.history_encoder.context_of(inputs))
        }

    def warmup_requests(self) -> List[WarmupRequest]:
        ids = self.history_encoder.items.item_ids.numpy()[:2].astype(str)
        history = np.array([[ids[0], ids[-1]], ["", ""]])
        context = self.history_encoder.example_context(batch_size=2)
        context[HISTORY_INPUT] = history
        return [WarmupRequest("serving_default", {HISTORY_INPUT: history}), WarmupRequest(CONTEXT_SIGNATURE, context)]
