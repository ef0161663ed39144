"""The joint TFRS model: retrieval + ranking + item-attribute tasks.

Follows `tfrs.models.Model`'s thin contract: `compute_loss(features)` only
combines the three tasks (each a TFRS task layer) with configurable weights.
Per batch, the item tower runs once on the distinct items of histories and
targets; user embeddings come from the LSTM over those item embeddings.

Features (a dict of batched tensors, see `SequenceExamples.features()`):
`history` int32 [B, L] (right-padded item indices), `target` int32 [B],
`label` float32 [B], `scenario` int32 [B], `user_<name>` int32 [B].
"""

import numpy as np
import tensorflow as tf
import tensorflow_recommenders as tfrs
import tf_keras

from tfrec_llm.data.item_vocabulary import PAD_INDEX
from tfrec_llm.experiment_config import ModelConfig


PER_EXAMPLE = tf_keras.losses.Reduction.NONE


class TwoTowerRecommender(tfrs.models.Model):
    """Two-tower retrieval and ranking with a text-reading item tower.

    Args:
        item_tower: an `ItemTower`.
        user_tower: a `UserTower`.
        config: the `ModelConfig` (task weights, temperature, logQ).
        label_kind: "rating" (MSE ranking) or "click" (logistic ranking).
        item_attributes: optional float32 [V, A] multi-hot attributes per
            item index, the auxiliary task's targets (predicted from text).
        item_sampling_probability: float32 [V] in-batch sampling probability
            of each item (training popularity share), for logQ correction.

    Example:
        model = TwoTowerRecommender(item_tower, user_tower, ModelConfig(), "rating",
                                    attributes, popularity / popularity.sum())
        model.compile(tf_keras.optimizers.Adam(1e-3))
        model.fit(dataset.batch(256), epochs=3)
    """

    def __init__(self, item_tower, user_tower, config: ModelConfig, label_kind="rating",
                 item_attributes=None, item_sampling_probability=None, **kwargs):
        super().__init__(**kwargs)
        self.item_tower = item_tower
        self.user_tower = user_tower
        self.config = config
        self.label_kind = label_kind
        # Every task returns per-example losses (reduction NONE), averaged over
        # the GLOBAL batch in compute_loss: correct under tf.distribute, where
        # Keras rejects AUTO reduction and replicas' gradients are summed.
        self.retrieval_task = tfrs.tasks.Retrieval(
            loss=tf_keras.losses.CategoricalCrossentropy(from_logits=True, reduction=PER_EXAMPLE),
            temperature=config.temperature,
                                                   remove_accidental_hits=True, name="retrieval")
        self.ranking_head = tf_keras.Sequential(
            [tf_keras.layers.Dense(units, activation="relu") for units in config.ranking_hidden_units]
            + [tf_keras.layers.Dense(1)], name="ranking_head")
        if label_kind == "rating":
            ranking_loss = tf_keras.losses.MeanSquaredError(reduction=PER_EXAMPLE)
            ranking_metrics = [tf_keras.metrics.RootMeanSquaredError(name="rating_rmse")]
        else:
            ranking_loss = tf_keras.losses.BinaryCrossentropy(from_logits=True, reduction=PER_EXAMPLE)
            ranking_metrics = [tf_keras.metrics.AUC(from_logits=True, name="click_auc")]
        self.ranking_task = tfrs.tasks.Ranking(loss=ranking_loss, metrics=ranking_metrics, name="ranking")
        self.uses_attributes = (item_attributes is not None and config.attribute_weight > 0
                                and item_tower.use_text)
        if self.uses_attributes:
            self.item_attributes = tf.Variable(np.asarray(item_attributes, np.float32), trainable=False,
                                               name="item_attributes")
            self.attribute_head = tf_keras.layers.Dense(self.item_attributes.shape[1], name="attribute_head")
            self.attribute_task = tfrs.tasks.Ranking(
                loss=tf_keras.losses.BinaryCrossentropy(from_logits=True, reduction=PER_EXAMPLE),
                name="attributes")
        self.uses_logq = config.logq_correction and item_sampling_probability is not None
        if self.uses_logq:
            self.item_sampling_probability = tf.Variable(
                np.asarray(item_sampling_probability, np.float32), trainable=False, name="item_sampling_probability")

    # Towers ----------------------------------------------------------------

    def item_embeddings(self, item_indices, training=None):
        """L2-normalised item embeddings of any-shaped `item_indices`."""
        return tf.math.l2_normalize(tf.cast(self.item_tower(item_indices, training=training), tf.float32), axis=-1)

    def user_embeddings(self, features, item_vectors_of, training=None):
        """L2-normalised user embeddings; `item_vectors_of(indices)` gives history item vectors."""
        history = tf.cast(features["history"], tf.int32)
        user_features = {name: features[f"user_{name}"] for name in self.user_tower.feature_names}
        vectors = self.user_tower(item_vectors_of(history), tf.not_equal(history, PAD_INDEX),
                                  features["scenario"], user_features, training=training)
        return tf.math.l2_normalize(tf.cast(vectors, tf.float32), axis=-1)

    def rating_logits(self, user_vectors, item_vectors):
        """Ranking-head output for aligned user and item embeddings ([..., d] each), float32."""
        logits = self.ranking_head(tf.concat([user_vectors, item_vectors], axis=-1))
        return tf.cast(tf.squeeze(logits, axis=-1), tf.float32)

    def _batch_embeddings(self, features, training):
        history = tf.cast(features["history"], tf.int32)
        target = tf.cast(features["target"], tf.int32)
        unique, position = tf.unique(tf.concat([tf.reshape(history, [-1]), target], axis=0))
        unique_vectors, unique_text = self.item_tower.embed(unique, training=training)
        unique_vectors = tf.math.l2_normalize(tf.cast(unique_vectors, tf.float32), axis=-1)
        history_size = tf.size(history)

        def history_vectors(_):
            return tf.reshape(tf.gather(unique_vectors, position[:history_size]),
                              tf.concat([tf.shape(history), [-1]], axis=0))

        users = self.user_embeddings(features, history_vectors, training=training)
        items = tf.gather(unique_vectors, position[history_size:])
        target_text = None if unique_text is None else tf.gather(unique_text, position[history_size:])
        return users, items, target_text

    def call(self, features, training=False):
        users, items, _ = self._batch_embeddings(features, training)
        return {"user_embedding": users, "item_embedding": items,
                "rating": self.rating_logits(users, items)}

    # Loss --------------------------------------------------------------------

    def compute_loss(self, features, training=False):
        """Weighted sum of the tasks' losses, each a mean over the global batch."""
        users, items, target_text = self._batch_embeddings(features, training)
        target = tf.cast(features["target"], tf.int32)
        config = self.config
        per_example = tf.zeros_like(target, dtype=tf.float32)
        if config.retrieval_weight > 0:
            sampling = tf.gather(self.item_sampling_probability, target) if self.uses_logq else None
            per_example += config.retrieval_weight * self.retrieval_task(
                users, items, compute_metrics=False, candidate_ids=target,
                candidate_sampling_probability=sampling)
        if config.ranking_weight > 0:
            labels = tf.cast(features["label"], tf.float32)[:, tf.newaxis]
            per_example += config.ranking_weight * self.ranking_task(
                labels=labels, predictions=self.rating_logits(users, items)[:, tf.newaxis],
                compute_metrics=bool(training))
        if self.uses_attributes:
            per_example += config.attribute_weight * self.attribute_task(
                labels=tf.gather(self.item_attributes, target),
                predictions=tf.cast(self.attribute_head(target_text), tf.float32), compute_metrics=False)
        if tf.distribute.has_strategy() and tf.distribute.in_cross_replica_context():
            return tf.reduce_mean(per_example)  # a whole-batch call outside strategy.run (e.g. building)
        return tf.nn.compute_average_loss(per_example)
