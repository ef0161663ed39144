"""User tower: a sequence encoder over the user's history of item embeddings + context.

The history arrives as item embeddings from the (shared) item tower, with a
mask of real positions (right-padded). The first position is always read,
so an empty history reads the padding item's learned embedding: a learned
"no history" state instead of an undefined output (and no zero-length
sequences, which cuDNN rejects).

The sequence encoder ("lstm", the default, or "attention": causal
self-attention, SASRec-style) gives one state per position. Each state is
concatenated with the item read at that position (a skip connection: next
items follow the last one most closely), the scenario and the user-feature
embeddings, and an output MLP maps it to the user embedding (with
`scenario_heads="star"` its final layer's weights are multiplied by the
scenario's own, see `models/scenario_heads.py`). Inference uses
the state at the last real position; per-position training
(`all_positions=True`) uses every position, each seeing only items up to it.

Context dropout (training only) replaces scenario and user features by the
"unknown" index 0, so the state a request without context is served with
(TF Serving clients that send no features) is trained, not a row training
never saw.
"""

import numpy as np
import tensorflow as tf
import tf_keras

from tfrec_llm.models.causal_attention_encoder import CausalAttentionEncoder
from tfrec_llm.models.scenario_heads import ScenarioStarHeads
from tfrec_llm.models.stateless_dropout import StatelessDropout

CONTEXT_EMBEDDING_DIM = 16
SEQUENCE_ENCODERS = ("lstm", "attention")
SCENARIO_HEADS = ("none", "star")
CONTEXT_DROPOUT_SEED = 20261201
INPUT_DROPOUT_SEED = 20261203


class UserTower(tf_keras.layers.Layer):
    """(history embeddings, mask, scenario, user features) -> user embedding(s).

    Args:
        embedding_dim: output width (equal to the item tower's).
        lstm_units: width of the sequence encoder's states.
        num_scenarios: size of the scenario vocabulary (0 = unknown).
        user_feature_sizes: feature name -> vocabulary size (0 = unknown).
        sequence_encoder: "lstm" or "attention".
        max_history: longest history (needed by "attention").
        dropout: dropout on the history item vectors and the encoder.
        context_dropout: training-time probability of replacing each
            context feature (scenario, user features) by "unknown".
        num_blocks, num_heads: shape of the "attention" encoder.
        attention_dropout: the "attention" encoder's dropout on its input,
            residual branches and attention weights; None = `dropout` on
            input and residuals, attention weights not dropped.
        feed_forward_multiplier: the "attention" encoder's feed-forward
            inner width, in `lstm_units`.
        feature_slots: optional feature name -> int32 [vocabulary size]
            embedding row of each category index (hashed ids, see
            `models.id_hashing`); the embedding then has max + 1 rows.
        scenario_heads: "none" (one output MLP for every scenario) or "star"
            (its final layer's weights are shared ⊙ per-scenario, initialised
            so that every scenario starts as the shared layer).

    Example:
        tower = UserTower(64, 64, num_scenarios=3, user_feature_sizes={})
        users = tower(history_vectors, history_mask, scenario, {})          # [B, 64]
        per_position = tower(vectors, mask, scenario_per_position, {}, all_positions=True)  # [B, L, 64]
    """

    def __init__(
        self,
        embedding_dim,
        lstm_units,
        num_scenarios,
        user_feature_sizes,
        sequence_encoder="lstm",
        max_history=None,
        dropout=0.0,
        context_dropout=0.0,
        num_blocks=2,
        num_heads=2,
        attention_dropout=None,
        feed_forward_multiplier=1,
        feature_slots=None,
        scenario_heads="none",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if sequence_encoder not in SEQUENCE_ENCODERS:
            raise ValueError(f"sequence_encoder must be one of {SEQUENCE_ENCODERS}, got {sequence_encoder!r}.")
        if sequence_encoder == "attention" and not max_history:
            raise ValueError("The attention encoder needs max_history (its position embeddings).")
        if scenario_heads not in SCENARIO_HEADS:
            raise ValueError(f"scenario_heads must be one of {SCENARIO_HEADS}, got {scenario_heads!r}.")
        self.scenario_heads_kind = scenario_heads
        self.embedding_dim = embedding_dim
        self.lstm_units = lstm_units
        self.num_scenarios = num_scenarios
        self.user_feature_sizes = dict(user_feature_sizes)
        self.sequence_encoder = sequence_encoder
        self.max_history = max_history
        self.dropout_rate = dropout
        self.context_dropout = context_dropout
        self.num_blocks = num_blocks
        self.num_heads = num_heads
        self.attention_dropout = attention_dropout
        self.feed_forward_multiplier = feed_forward_multiplier
        if sequence_encoder == "lstm":
            self.encoder = tf_keras.layers.LSTM(lstm_units, return_sequences=True, name="history_lstm")
        else:
            self.encoder = CausalAttentionEncoder(
                lstm_units,
                max_history,
                num_blocks,
                num_heads,
                dropout=dropout if attention_dropout is None else attention_dropout,
                attention_dropout=attention_dropout or 0.0,
                feed_forward_multiplier=feed_forward_multiplier,
                name="history_attention",
            )
        self.input_dropout = StatelessDropout(dropout, INPUT_DROPOUT_SEED, name="input_dropout")
        self.scenario_embedding = tf_keras.layers.Embedding(
            num_scenarios, CONTEXT_EMBEDDING_DIM, name="scenario_embedding"
        )
        self.feature_names = sorted(user_feature_sizes)
        self.feature_slots = None
        rows = dict(user_feature_sizes)
        if feature_slots:
            self.feature_slots = [
                tf.Variable(np.asarray(feature_slots[name], np.int32), trainable=False, name=f"user_{name}_slots")
                for name in self.feature_names
            ]
            rows = {name: int(np.max(feature_slots[name])) + 1 for name in self.feature_names}
        self.feature_embeddings = [
            tf_keras.layers.Embedding(rows[name], CONTEXT_EMBEDDING_DIM, name=f"user_{name}_embedding")
            for name in self.feature_names
        ]
        self.output_mlp = tf_keras.Sequential(
            [
                tf_keras.layers.Dense(2 * embedding_dim, activation="gelu"),
                tf_keras.layers.Dense(embedding_dim),
            ],
            name="user_output_mlp",
        )
        # "star": the MLP's final Dense holds the shared weights, the heads each scenario's own.
        self.scenario_heads = None
        if scenario_heads == "star":
            self.scenario_heads = ScenarioStarHeads(embedding_dim, num_scenarios, name="scenario_heads")
        # Stateless context dropout keyed on this checkpointed counter: resumed runs drop the same.
        self.context_dropout_step = tf.Variable(
            0,
            dtype=tf.int64,
            trainable=False,
            name="context_dropout_step",
            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
        )

    def call(self, history_vectors, history_mask, scenario, user_features, training=None, all_positions=False):
        """User embeddings [B, d], or [B, L, d] with `all_positions` (scenario then [B, L])."""
        first_position = tf.one_hot(0, tf.shape(history_mask)[1], on_value=True, off_value=False, dtype=tf.bool)
        mask = tf.logical_or(tf.cast(history_mask, tf.bool), first_position[tf.newaxis, :])
        history_vectors = self.input_dropout(history_vectors, training=training)
        if self.sequence_encoder == "lstm":
            states = self.encoder(history_vectors, mask=mask, training=training)
        else:
            states = self.encoder(history_vectors, mask, training=training)
        context, scenario = self._context(scenario, user_features, training)
        if all_positions:
            length = tf.shape(states)[1]
            context = [c if c.shape.rank == 3 else tf.repeat(c[:, tf.newaxis], length, axis=1) for c in context]
            return self._project(
                tf.concat([states, tf.cast(history_vectors, states.dtype)] + context, axis=-1), scenario, training
            )
        last = tf.maximum(tf.reduce_sum(tf.cast(history_mask, tf.int32), axis=1), 1) - 1
        parts = [
            tf.gather(states, last, batch_dims=1),
            tf.cast(tf.gather(history_vectors, last, batch_dims=1), states.dtype),
        ]
        return self._project(tf.concat(parts + context, axis=-1), scenario, training)

    def _project(self, joined, scenario, training):
        """The output MLP; with scenario heads, its final layer is the (context-dropped) scenario's head."""
        if self.scenario_heads is None:
            return self.output_mlp(joined, training=training)
        if not self.output_mlp.built:  # its final layer is not called but read: build every layer
            self.output_mlp.build(joined.shape)
        hidden, final = joined, self.output_mlp.layers[-1]
        for layer in self.output_mlp.layers[:-1]:
            hidden = layer(hidden, training=training)
        return self.scenario_heads(hidden, scenario, final.kernel, final.bias)

    @property
    def path_towers(self):
        """The `UserTower`s whose tables and layers carry over or grow: this one (see `TwoPathUserTower`)."""
        return [self]

    def scenario_tables(self) -> list:
        """Variables indexed by scenario row (axis 0): the scenario embedding and the heads' own weights."""
        heads = [] if self.scenario_heads is None else self.scenario_heads.scenario_variables()
        return [self.scenario_embedding.embeddings] + heads

    def _context(self, scenario, user_features, training):
        """(context embeddings, the scenario indices read: after context dropout)."""
        values = [scenario] + [user_features[name] for name in self.feature_names]
        if self.feature_slots is not None:
            values = [scenario] + [tf.gather(slots, v) for slots, v in zip(self.feature_slots, values[1:])]
        if training and self.context_dropout > 0:
            step = self.context_dropout_step.assign_add(1)
            dropped = []
            for i, value in enumerate(values):
                seed = tf.stack([tf.constant(CONTEXT_DROPOUT_SEED + i, tf.int64), step])
                drop = tf.random.stateless_uniform(tf.shape(value), seed=seed) < self.context_dropout
                dropped.append(tf.where(drop, tf.zeros_like(value), value))
            values = dropped
        embeddings = [self.scenario_embedding] + self.feature_embeddings
        return [embedding(value) for embedding, value in zip(embeddings, values)], values[0]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "embedding_dim": self.embedding_dim,
                "lstm_units": self.lstm_units,
                "num_scenarios": self.num_scenarios,
                "user_feature_sizes": dict(self.user_feature_sizes),
                "sequence_encoder": self.sequence_encoder,
                "max_history": self.max_history,
                "dropout": self.dropout_rate,
                "context_dropout": self.context_dropout,
                "num_blocks": self.num_blocks,
                "num_heads": self.num_heads,
                "attention_dropout": self.attention_dropout,
                "feed_forward_multiplier": self.feed_forward_multiplier,
                "scenario_heads": self.scenario_heads_kind,
                "feature_slots": None
                if self.feature_slots is None
                else {n: v.numpy().tolist() for n, v in zip(self.feature_names, self.feature_slots)},
            }
        )
        return config
