"""The one bridge between KerasHub (Keras 3) and TFRS (tf_keras, Keras 2).

A Keras 3 backbone nested in a tf_keras model is invisible to tf_keras:
its variables are `keras.Variable`s, which tf_keras neither collects (the
joint model silently trains without BERT) nor accepts in its optimizer
(`'Variable' object has no attribute '_unique_id'`). This layer therefore
hides the backbone object from tf_keras' auto-tracking and exposes the
backbone's underlying `tf.Variable`s (`v.value`) instead: those are what the
outer model, its optimizer, `tf.train.Checkpoint` and `tf.saved_model` see.

All of `backbone.variables` is exposed, not just `.weights`: Keras 3 keeps
dropout seed-generator state in variables outside `.weights`, and a traced
function that captures an untracked variable cannot be exported.
"""

import tensorflow as tf
import tf_keras


def mean_pool(sequence_output, padding_mask):
    """Mean of token vectors over non-padding positions (sentence-transformers pooling)."""
    mask = tf.cast(padding_mask, sequence_output.dtype)[..., tf.newaxis]
    total = tf.reduce_sum(sequence_output * mask, axis=1)
    return total / tf.maximum(tf.reduce_sum(mask, axis=1), tf.cast(1.0, sequence_output.dtype))


class KerasHubBridgeLayer(tf_keras.layers.Layer):
    """Runs a KerasHub BERT backbone inside tf_keras models: token ids -> pooled vector.

    Args:
        backbone: a `keras_hub.models.BertBackbone` (Keras 3), possibly with
            LoRA enabled (`backbone.enable_lora(rank)`): only the variables
            the backbone marks trainable are trainable here.
        pad_token_id: token id of padding in the token-id inputs.

    The layer's own `trainable` flag freezes the whole backbone.

    Example:
        backbone = keras_hub.models.BertBackbone(vocabulary_size=100,
            num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=32,
            max_sequence_length=8)
        layer = KerasHubBridgeLayer(backbone)
        vectors = layer(tf.constant([[2, 7, 3, 0]]))  # [1, 16]
    """

    def __init__(self, backbone, pad_token_id: int = 0, **kwargs):
        super().__init__(**kwargs)
        # Bypass tf_keras __setattr__ tracking: the Keras 3 object must not be
        # walked by tf_keras; its tf.Variables are registered below instead.
        object.__setattr__(self, "_backbone", backbone)
        self.pad_token_id = pad_token_id
        self._backbone_variables = [v.value for v in backbone.variables]
        self._backbone_trainable_refs = {v.value.ref() for v in backbone.trainable_weights}

    @property
    def backbone(self):
        return self._backbone

    @property
    def output_dim(self) -> int:
        return self._backbone.hidden_dim

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return [v for v in self._backbone_variables if v.ref() in self._backbone_trainable_refs]

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return list(self._backbone_variables)
        return [v for v in self._backbone_variables if v.ref() not in self._backbone_trainable_refs]

    @property
    def weights(self):
        return self.trainable_weights + self.non_trainable_weights

    def call(self, token_ids, training=None):
        token_ids = tf.cast(token_ids, tf.int32)
        padding_mask = tf.not_equal(token_ids, self.pad_token_id)
        outputs = self._backbone(
            {
                "token_ids": token_ids,
                "segment_ids": tf.zeros_like(token_ids),
                "padding_mask": tf.cast(padding_mask, tf.int32),
            },
            training=bool(training) and self.trainable,
        )
        return mean_pool(outputs["sequence_output"], padding_mask)

    def get_config(self):
        raise NotImplementedError(
            "KerasHubBridgeLayer is rebuilt from the backbone config saved beside the "
            "checkpoint (see TextEncoder.save), not from a Keras config."
        )
