"""A causal self-attention sequence encoder (SASRec-style) for the user tower.

Reads right-padded item embeddings [B, L, d] and returns one state per
position [B, L, units]; position t attends to positions 0..t only, so the
state at t never sees a later item (the per-position loss relies on this).
Pre-layer-norm Transformer blocks with learned absolute positions, as in
SASRec (Kang & McAuley 2018); a drop-in alternative to an LSTM with
`return_sequences=True`. Dropout is `StatelessDropout` (resumed runs draw the
same masks), on the input, the residual branches and, with
`attention_dropout > 0`, the attention weights.
"""

import tensorflow as tf
import tf_keras

from tfrec_llm.models.stateless_dropout import StatelessDropout

DROPOUT_SEED = 20261202


# Layers ----------------------------------------------------------------------


class _StatelessDropoutAttention(tf_keras.layers.MultiHeadAttention):
    """Keras multi-head attention whose attention-weight dropout is a `StatelessDropout`."""

    def __init__(self, num_heads, key_dim, weight_dropout, seed, **kwargs):
        super().__init__(num_heads, key_dim, **kwargs)
        self.weight_dropout = weight_dropout
        self.weight_dropout_seed = seed

    def _build_attention(self, rank):
        super()._build_attention(rank)
        if self.weight_dropout > 0:  # else Keras' rate-0 Dropout (no variables: old checkpoints still match)
            self._dropout_layer = StatelessDropout(self.weight_dropout, self.weight_dropout_seed, name="weight_dropout")


class _TransformerBlock(tf_keras.layers.Layer):
    """Pre-norm self-attention + feed-forward, both residual."""

    def __init__(self, units, num_heads, dropout, seed, attention_dropout=0.0, feed_forward_units=None, **kwargs):
        super().__init__(**kwargs)
        self.attention_norm = tf_keras.layers.LayerNormalization(epsilon=1e-6, name="attention_norm")
        self.attention = _StatelessDropoutAttention(
            num_heads, max(units // num_heads, 1), attention_dropout, seed + 5, name="attention"
        )
        self.feed_forward_norm = tf_keras.layers.LayerNormalization(epsilon=1e-6, name="feed_forward_norm")
        self.feed_forward_in = tf_keras.layers.Dense(
            feed_forward_units or units, activation="gelu", name="feed_forward_in"
        )
        self.feed_forward_out = tf_keras.layers.Dense(units, name="feed_forward_out")
        self.dropouts = [StatelessDropout(dropout, seed + i, name=f"dropout_{i}") for i in range(3)]

    def call(self, x, attention_mask, training=None):
        h = self.attention_norm(x)
        attended = self.attention(h, h, attention_mask=attention_mask, training=training)
        x = x + self.dropouts[0](attended, training=training)
        h = self.dropouts[1](self.feed_forward_in(self.feed_forward_norm(x)), training=training)
        return x + self.dropouts[2](self.feed_forward_out(h), training=training)


# Model -----------------------------------------------------------------------


class CausalAttentionEncoder(tf_keras.layers.Layer):
    """(item vectors [B, L, d], mask [B, L]) -> per-position states [B, L, units].

    Args:
        units: width of the states.
        max_length: the longest sequence (learned position embeddings).
        num_blocks: Transformer blocks.
        num_heads: attention heads per block.
        dropout: dropout on the input and the residual branches.
        attention_dropout: dropout on the attention weights (0 = none).
        feed_forward_multiplier: the feed-forward inner width, in units
            (SASRec/RecBole: 4).

    Example:
        encoder = CausalAttentionEncoder(units=64, max_length=50, attention_dropout=0.5, feed_forward_multiplier=4)
        states = encoder(item_vectors, mask)  # [B, 50, 64]
    """

    def __init__(
        self,
        units,
        max_length,
        num_blocks=2,
        num_heads=2,
        dropout=0.1,
        attention_dropout=0.0,
        feed_forward_multiplier=1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not 0.0 <= attention_dropout < 1.0:
            raise ValueError(f"attention_dropout must be in [0, 1), got {attention_dropout!r}.")
        if int(feed_forward_multiplier) != feed_forward_multiplier or feed_forward_multiplier < 1:
            raise ValueError(f"feed_forward_multiplier must be an integer >= 1, got {feed_forward_multiplier!r}.")
        self.units = units
        self.max_length = max_length
        self.num_blocks = num_blocks
        self.num_heads = num_heads
        self.dropout_rate = dropout
        self.attention_dropout = attention_dropout
        self.feed_forward_multiplier = int(feed_forward_multiplier)
        self.input_projection = tf_keras.layers.Dense(units, name="input_projection")
        self.position_embedding = tf_keras.layers.Embedding(max_length, units, name="position_embedding")
        self.input_dropout = StatelessDropout(dropout, DROPOUT_SEED, name="input_dropout")
        self.blocks = [
            _TransformerBlock(
                units,
                num_heads,
                dropout,
                DROPOUT_SEED + 10 * (i + 1),
                attention_dropout,
                units * self.feed_forward_multiplier,
                name=f"block_{i}",
            )
            for i in range(num_blocks)
        ]
        self.output_norm = tf_keras.layers.LayerNormalization(epsilon=1e-6, name="output_norm")

    def call(self, vectors, mask, training=None):
        length = tf.shape(vectors)[1]
        tf.debugging.assert_less_equal(length, self.max_length, message="history longer than the encoder's max_length")
        keep = tf.cast(mask, self.compute_dtype)[:, :, tf.newaxis]
        x = self.input_projection(vectors) + self.position_embedding(tf.range(length))[tf.newaxis]
        x = self.input_dropout(x, training=training) * keep
        causal = tf.linalg.band_part(tf.ones([length, length], tf.bool), -1, 0)  # query t sees keys <= t
        attention_mask = tf.logical_and(causal[tf.newaxis], tf.cast(mask, tf.bool)[:, tf.newaxis, :])
        for block in self.blocks:
            x = block(x, attention_mask, training=training) * keep
        return self.output_norm(x)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "max_length": self.max_length,
                "num_blocks": self.num_blocks,
                "num_heads": self.num_heads,
                "dropout": self.dropout_rate,
                "attention_dropout": self.attention_dropout,
                "feed_forward_multiplier": self.feed_forward_multiplier,
            }
        )
        return config
