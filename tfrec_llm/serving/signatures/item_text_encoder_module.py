"""The exported `item_text_encoder` model: raw item text -> item embedding.

Serves items that have text but no trained id (new or cold items): the
text is tokenised in-graph with the model's KerasHub `BertTokenizer` and
`StartEndPacker` (one segment; never `MultiSegmentPacker`, whose
`RoundRobinTrim` op stock TF Serving lacks), read by BERT (mean pooling)
and the item tower's text projection, plus whatever the item tower adds
for an item in the out-of-vocabulary id slot (`oov_vector`; with fusion
"paths", a zero id half before the unit text half instead, or with
`model.cold_item_ids` "from_text" the id half its text maps to), then
L2-normalised: exactly `TwoTowerRecommender.item_embeddings` of an item
with that text and the OOV id slot.

Serving it needs the TF Text tokenizer ops (load `tensorflow_text` first,
or a TF Serving build that includes them); `assets.extra/required_ops.txt`
lists every op it uses. Pass the same text the model was trained on: the
item's text fields joined by ". " (see `ItemCatalog.texts`).
"""

from typing import TYPE_CHECKING, List

import numpy as np
import tensorflow as tf

from tfrec_llm.models.cold_id_map import mapped_id_vectors
from tfrec_llm.serving.export.warmup_request import WarmupRequest
from tfrec_llm.serving.signatures.item_encoder_module import ITEM_EMBEDDING_OUTPUT

if TYPE_CHECKING:  # serving a SavedModel needs none of these
    import keras_hub
    import tf_keras

    from tfrec_llm.models.text.keras_hub_bridge_layer import KerasHubBridgeLayer

MODEL_NAME = "item_text_encoder"
TEXT_INPUT = "text"
TEXT_FEATURES_OUTPUT = "text_features"
# Texts per call when a client encodes many texts (new items, requests).
ENCODE_BATCH_SIZE = 256
EXAMPLE_TEXTS = ("A space opera. Sci-Fi", "", "Amour. Drama|Romance")


class ItemTextEncoderModule(tf.Module):
    """Signature `serving_default`: `text` string [B] -> `item_embedding` float32 [B, d].

    Args:
        tokenizer: the KerasHub `BertTokenizer` the model was trained with.
        packer: a KerasHub `StartEndPacker` ([CLS] ... [SEP], padded).
        text_encoder: the `KerasHubBridgeLayer` (token ids -> pooled vector)
            with the trained (frozen or fine-tuned) BERT weights.
        text_projection: the item tower's text projection layer.
        oov_vector: float32 [d] the item tower's id part for OOV-slot items
            (see `saved_model_exporter.oov_id_vector`).
        id_half_width: 0, or with fusion "paths" the width of the zero id
            half put before the (normalised) text vector.
        cold_id_map: optional float32 [h, id_half_width], fusion "paths":
            the id half is the unit pooled vector times this map, normalised
            (`models/cold_id_map.py`), instead of zeros.

    Example:
        module = ItemTextEncoderModule(encoder.tokenizer, encoder.packer(32), encoder.bridge_layer(),
                                       model.item_tower.text_projection, oov_vector)
        module.encode({"text": tf.constant(["A space opera"])})["item_embedding"]  # [1, d]
    """

    model_name = MODEL_NAME
    needs_text_ops = True  # TF Text tokenizer ops: validated with tensorflow_text loaded

    def __init__(
        self,
        tokenizer: "keras_hub.tokenizers.BertTokenizer",
        packer: "keras_hub.layers.StartEndPacker",
        text_encoder: "KerasHubBridgeLayer",
        text_projection: "tf_keras.layers.Layer",
        oov_vector: np.ndarray,
        id_half_width: int = 0,
        cold_id_map: np.ndarray = None,
    ):
        super().__init__(name=MODEL_NAME)
        # Untracked Keras objects; their variables are tracked below.
        object.__setattr__(self, "_tokenizer", tokenizer)
        object.__setattr__(self, "_packer", packer)
        object.__setattr__(self, "_text_encoder", text_encoder)
        object.__setattr__(self, "_text_projection", text_projection)
        self.text_encoder_variables = list(text_encoder.weights)
        self.text_projection_variables = list(text_projection.variables)
        self.id_half_width = int(id_half_width)
        self.oov_vector = tf.Variable(np.asarray(oov_vector, np.float32), trainable=False, name="oov_vector")
        self.cold_id_map = None
        if cold_id_map is not None:
            self.cold_id_map = tf.Variable(np.asarray(cold_id_map, np.float32), trainable=False, name="cold_id_map")
        self.encode = tf.function(self._encode)
        self.encode_text_features = tf.function(self._encode_text_features)

    def signatures(self) -> dict:
        spec = {TEXT_INPUT: tf.TensorSpec([None], tf.string, name=TEXT_INPUT)}
        return {"serving_default": self.encode.get_concrete_function(spec)}

    def _encode(self, inputs):
        """Inputs: `text` string [B] raw item texts. Outputs: `item_embedding` float32 [B, d], L2-normalised."""
        pooled = self._pooled(inputs)
        text_vectors = tf.cast(self._text_projection(pooled, training=False), tf.float32)
        if self.id_half_width:  # fusion "paths": [0 or the mapped id / |id|, text / |text|]
            if self.cold_id_map is None:
                id_half = tf.zeros([tf.shape(text_vectors)[0], self.id_half_width], tf.float32)
            else:
                id_half = tf.math.l2_normalize(mapped_id_vectors(pooled, self.cold_id_map), axis=-1)
            vectors = tf.concat([id_half, tf.math.l2_normalize(text_vectors, axis=-1)], axis=-1)
        else:
            vectors = text_vectors + self.oov_vector
        return {ITEM_EMBEDDING_OUTPUT: tf.math.l2_normalize(vectors, axis=-1)}

    def _encode_text_features(self, inputs):
        """Inputs: `text` string [B]. Outputs: `text_features` float32 [B, h], BERT's mean-pooled vectors
        L2-normalised, before the projection (the frozen encoder's own similarity space; used by
        `text_retrieval`'s `retrieve_personal`, not a signature of this model)."""
        return {TEXT_FEATURES_OUTPUT: tf.math.l2_normalize(tf.cast(self._pooled(inputs), tf.float32), axis=-1)}

    def _pooled(self, inputs):
        """BERT's mean-pooled vectors [B, h] of the `text` input: tokenized and packed in-graph."""
        return self._text_encoder(self._packer(self._tokenizer(inputs[TEXT_INPUT])), training=False)

    def warmup_requests(self) -> List[WarmupRequest]:
        return [WarmupRequest("serving_default", {TEXT_INPUT: np.array(EXAMPLE_TEXTS)})]
