"""The joint TFRS model: retrieval + ranking + item-attribute tasks.

Follows `tfrs.models.Model`'s thin contract: `compute_loss(features)` only
combines the three tasks (each a task layer) with configurable weights.
Two kinds of training batch:

- every position (`SequenceExamples`' sibling `TrainingSequences`):
  `sequence` int32 [B, L] items read, `next_items` int32 [B, L] the item
  that followed each position (0 = none), `next_labels` float32 [B, L],
  `scenario` int32 [B, L], `user_<name>` int32 [B]. The user tower runs
  once per sequence and is scored at every position (each position sees
  only the items up to it);
- last position (`SequenceExamples.features()`): `history` int32 [B, L],
  `target` int32 [B], `label` float32 [B], `scenario` int32 [B],
  `user_<name>` int32 [B]: one target per row.

Retrieval negatives are either the whole catalog (`FullCatalogSoftmax`
over every item seen in training) or the other targets of the batch (TFRS
`Retrieval`, optionally logQ-corrected; under tf.distribute the targets of
every replica's part of the global batch). Inference (`call`,
`user_embeddings`) always reads `history` batches.
"""

import numpy as np
import tensorflow as tf
import tensorflow_recommenders as tfrs
import tf_keras

from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX, OOV_SLOT, PAD_INDEX
from tfrec_llm.experiment_config import ModelConfig
from tfrec_llm.models.cross_replica import num_replicas, replica_sum, with_other_replicas_candidates
from tfrec_llm.models.full_catalog_softmax import FullCatalogSoftmax
from tfrec_llm.models.item_tower import HALF_SCALE


PER_EXAMPLE = tf_keras.losses.Reduction.NONE
GEOMETRY_ITEMS = 256  # distinct targets per batch compared pairwise by the text-geometry loss


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
        static_shapes: score every position of per-position batches, padding
            weighted 0, so every tensor's shape is known when tracing (TPUs,
            XLA); needs full-catalog negatives (in-batch ones use tf.unique).

    Example:
        model = TwoTowerRecommender(item_tower, user_tower, ModelConfig(), "rating",
                                    attributes, popularity / popularity.sum())
        model.compile(tf_keras.optimizers.Adam(1e-3))
        model.fit(dataset.batch(256), epochs=3)
    """

    def __init__(
        self,
        item_tower,
        user_tower,
        config: ModelConfig,
        label_kind="rating",
        item_attributes=None,
        item_sampling_probability=None,
        static_shapes=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.item_tower = item_tower
        self.user_tower = user_tower
        if config.negatives not in ("full_catalog", "in_batch"):
            raise ValueError(
                f"config.negatives must be resolved to 'full_catalog' or 'in_batch' "
                f"(ExperimentConfig.negatives), got {config.negatives!r}."
            )
        if static_shapes and config.negatives != "full_catalog":
            raise ValueError(
                "Static shapes (train.strategy='tpu') need model.negatives='full_catalog': "
                f"in-batch negatives gather the batch's distinct items, a dynamic shape (got {config.negatives!r})."
            )
        if static_shapes and config.text_geometry_weight > 0:
            raise ValueError(
                "Static shapes (train.strategy='tpu') need model.text_geometry_weight=0: the text-geometry "
                f"loss compares the batch's distinct target items, a dynamic shape (got {config.text_geometry_weight})."
            )
        self.static_shapes = static_shapes
        self.config = config
        self.label_kind = label_kind
        # Every task returns per-example losses (reduction NONE), averaged over
        # the GLOBAL batch in compute_loss: correct under tf.distribute, where
        # Keras rejects AUTO reduction and replicas' gradients are summed.
        self.retrieval_task = tfrs.tasks.Retrieval(
            loss=tf_keras.losses.CategoricalCrossentropy(from_logits=True, reduction=PER_EXAMPLE),
            temperature=config.temperature,
            remove_accidental_hits=True,
            name="retrieval",
        )
        self.full_catalog_task = FullCatalogSoftmax(config.temperature, name="full_catalog_retrieval")
        self.ranking_head = tf_keras.Sequential(
            [tf_keras.layers.Dense(units, activation="relu") for units in config.ranking_hidden_units]
            + [tf_keras.layers.Dense(1)],
            name="ranking_head",
        )
        if label_kind == "rating":
            ranking_loss = tf_keras.losses.MeanSquaredError(reduction=PER_EXAMPLE)
            ranking_metrics = [tf_keras.metrics.RootMeanSquaredError(name="rating_rmse")]
        else:
            ranking_loss = tf_keras.losses.BinaryCrossentropy(from_logits=True, reduction=PER_EXAMPLE)
            ranking_metrics = [tf_keras.metrics.AUC(from_logits=True, name="click_auc")]
        self.ranking_task = tfrs.tasks.Ranking(loss=ranking_loss, metrics=ranking_metrics, name="ranking")
        self.uses_attributes = item_attributes is not None and config.attribute_weight > 0 and item_tower.use_text
        if self.uses_attributes:
            self.item_attributes = tf.Variable(
                np.asarray(item_attributes, np.float32), trainable=False, name="item_attributes"
            )
            self.attribute_head = tf_keras.layers.Dense(self.item_attributes.shape[1], name="attribute_head")
            self.attribute_task = tfrs.tasks.Ranking(
                loss=tf_keras.losses.BinaryCrossentropy(from_logits=True, reduction=PER_EXAMPLE), name="attributes"
            )
        self.uses_logq = config.logq_correction and item_sampling_probability is not None
        if self.uses_logq:
            self.item_sampling_probability = tf.Variable(
                np.asarray(item_sampling_probability, np.float32), trainable=False, name="item_sampling_probability"
            )

    # Towers ----------------------------------------------------------------

    def item_embeddings(self, item_indices, training=None):
        """L2-normalised item embeddings of any-shaped `item_indices`."""
        return tf.math.l2_normalize(tf.cast(self.item_tower(item_indices, training=training), tf.float32), axis=-1)

    def user_embeddings(self, features, item_vectors_of, training=None):
        """L2-normalised user embeddings; `item_vectors_of(indices)` gives history item vectors."""
        history = tf.cast(features["history"], tf.int32)
        user_features = {name: features[f"user_{name}"] for name in self.user_tower.feature_names}
        vectors = self.user_tower(
            item_vectors_of(history),
            tf.not_equal(history, PAD_INDEX),
            features["scenario"],
            user_features,
            training=training,
        )
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
            return tf.reshape(
                tf.gather(unique_vectors, position[:history_size]), tf.concat([tf.shape(history), [-1]], axis=0)
            )

        users = self.user_embeddings(features, history_vectors, training=training)
        items = tf.gather(unique_vectors, position[history_size:])
        target_text = None if unique_text is None else tf.gather(unique_text, position[history_size:])
        return users, items, target_text

    def call(self, features, training=False):
        users, items, _ = self._batch_embeddings(features, training)
        return {"user_embedding": users, "item_embedding": items, "rating": self.rating_logits(users, items)}

    # Loss --------------------------------------------------------------------

    def train_step(self, inputs):
        """TFRS's train step, but through `optimizer.minimize`: a `LossScaleOptimizer` scales the loss.

        TFRS calls `tape.gradient` itself, so float16 towers would get unscaled
        (underflowing) gradients; `minimize` lets a loss-scale optimizer scale
        the loss and unscale the gradients (a plain optimizer does neither).
        """
        with tf.GradientTape() as tape:
            loss = self.compute_loss(inputs, training=True)
            regularization_loss = tf.reduce_sum([tf.reduce_sum(part) for part in self.losses])
            total_loss = loss + regularization_loss
        self.optimizer.minimize(total_loss, self.trainable_variables, tape=tape)
        metrics = {metric.name: metric.result() for metric in self.metrics}
        metrics.update({"loss": loss, "regularization_loss": regularization_loss, "total_loss": total_loss})
        return metrics

    def compute_loss(self, features, training=False):
        """Weighted sum of the tasks' losses, each a mean over the global batch."""
        if "sequence" in features:
            per_example = self._every_position_loss(features, training)
        else:
            per_example = self._last_position_loss(features, training)
        if tf.distribute.has_strategy() and tf.distribute.in_cross_replica_context():
            return tf.reduce_mean(per_example)  # a whole-batch call outside strategy.run (e.g. building)
        return tf.nn.compute_average_loss(per_example)

    def _catalog_table(self, training):
        """(L2-normalised embeddings, projected text or None) of every item index."""
        vectors, text = self.item_tower.embed(tf.range(tf.shape(self.item_tower.id_slots)[0]), training=training)
        return tf.math.l2_normalize(tf.cast(vectors, tf.float32), axis=-1), text

    def _last_position_loss(self, features, training):
        target = tf.cast(features["target"], tf.int32)
        if self.config.negatives == "full_catalog":
            table, text_table = self._catalog_table(training)
            users = self.user_embeddings(features, lambda indices: tf.gather(table, indices), training=training)
            items = tf.gather(table, target)
            target_text = None if text_table is None else tf.gather(text_table, target)
        else:
            table = text_table = None
            users, items, target_text = self._batch_embeddings(features, training)
        return self._task_losses(users, items, target, target_text, features["label"], table, training)

    def _every_position_loss(self, features, training):
        sequence = tf.cast(features["sequence"], tf.int32)
        next_items, next_labels = tf.cast(features["next_items"], tf.int32), features["next_labels"]
        with_first = "first_items" in features  # empty-history targets, scored as a position before position 0
        if with_first:
            next_items = tf.concat([tf.cast(features["first_items"], tf.int32)[:, tf.newaxis], next_items], axis=1)
            next_labels = tf.concat([features["first_labels"][:, tf.newaxis], next_labels], axis=1)
        if self.config.negatives == "full_catalog":
            table, text_table = self._catalog_table(training)
            history_vectors = tf.gather(table, sequence)
            padding_vector = table[PAD_INDEX]
        else:
            table = text_table = None
            flat = [[PAD_INDEX], tf.reshape(sequence, [-1]), tf.reshape(next_items, [-1])]
            unique, position = tf.unique(tf.concat(flat, 0))
            unique_vectors, unique_text = self.item_tower.embed(unique, training=training)
            unique_vectors = tf.math.l2_normalize(tf.cast(unique_vectors, tf.float32), axis=-1)
            padding_vector = unique_vectors[position[0]]
            history_end = 1 + tf.size(sequence)
            history_vectors = tf.reshape(
                tf.gather(unique_vectors, position[1:history_end]), tf.concat([tf.shape(sequence), [-1]], axis=0)
            )
        user_features = {name: features[f"user_{name}"] for name in self.user_tower.feature_names}
        users = self.user_tower(
            history_vectors,
            tf.not_equal(sequence, PAD_INDEX),
            features["scenario"],
            user_features,
            training=training,
            all_positions=True,
        )
        users = tf.math.l2_normalize(tf.cast(users, tf.float32), axis=-1)
        if with_first:
            first_users = self._empty_history_users(padding_vector, features["first_scenario"], user_features, training)
            users = tf.concat([first_users[:, tf.newaxis], users], axis=1)
        if self.static_shapes:
            return self._every_position_static(users, next_items, next_labels, table, text_table, training)
        where = tf.where(tf.not_equal(next_items, PAD_INDEX))  # [N, 2]: (row, position) of every target
        targets = tf.gather_nd(next_items, where)
        if table is not None:
            items = tf.gather(table, targets)
            target_text = None if text_table is None else tf.gather(text_table, targets)
        else:
            flat_position = position[history_end:]
            flat_targets = tf.reshape(tf.range(tf.size(next_items)), tf.shape(next_items))
            picked = tf.gather(flat_position, tf.gather_nd(flat_targets, where))
            items = tf.gather(unique_vectors, picked)
            target_text = None if unique_text is None else tf.gather(unique_text, picked)
        per_target = self._task_losses(
            tf.gather_nd(users, where),
            items,
            targets,
            target_text,
            tf.gather_nd(next_labels, where),
            table,
            training,
        )
        rows = tf.shape(sequence)[0]
        # Each target counts equally: rows carry their targets' losses, scaled so that the mean over
        # the global batch's rows is the mean over its targets (a per-target cross-entropy). Under
        # tf.distribute the global batch has rows * replicas rows and the targets of every replica.
        global_targets = replica_sum(tf.cast(tf.shape(targets)[0], tf.float32))
        scale = tf.cast(rows * num_replicas(), tf.float32) / tf.maximum(global_targets, 1.0)
        return tf.math.unsorted_segment_sum(per_target, tf.cast(where[:, 0], tf.int32), rows) * scale

    def _empty_history_users(self, padding_vector, scenario, user_features, training):
        """L2-normalised user embeddings [B, d] from an empty history, as served (the padding item read once)."""
        rows = tf.shape(scenario)[0]
        history = tf.tile(tf.cast(padding_vector, tf.float32)[tf.newaxis, tf.newaxis, :], [rows, 1, 1])
        users = self.user_tower(history, tf.zeros([rows, 1], tf.bool), scenario, user_features, training=training)
        return tf.math.l2_normalize(tf.cast(users, tf.float32), axis=-1)

    def _every_position_static(self, users, next_items, next_labels, table, text_table, training):
        """`_every_position_loss` over all B * L positions (static shapes), positions without a target weighted 0."""
        weights = tf.reshape(tf.cast(tf.not_equal(next_items, PAD_INDEX), tf.float32), [-1])
        # Padding positions score some item index, then weigh nothing.
        targets = tf.reshape(tf.where(tf.not_equal(next_items, PAD_INDEX), next_items, FIRST_ITEM_INDEX), [-1])
        per_target = self._task_losses(
            tf.reshape(users, [-1, users.shape[-1]]),
            tf.gather(table, targets),
            targets,
            None if text_table is None else tf.gather(text_table, targets),
            tf.reshape(next_labels, [-1]),
            table,
            training,
            weights,
        )
        rows = tf.shape(next_items)[0]
        scale = tf.cast(rows * num_replicas(), tf.float32) / tf.maximum(replica_sum(tf.reduce_sum(weights)), 1.0)
        return tf.reduce_sum(tf.reshape(per_target * weights, tf.shape(next_items)), axis=1) * scale

    def _text_geometry_loss(self, targets, target_text):
        """The item tower's text-geometry loss over (at most GEOMETRY_ITEMS) distinct targets of the batch."""
        unique, position = tf.unique(targets)
        first = tf.math.unsorted_segment_min(tf.range(tf.size(targets)), position, tf.size(unique))[:GEOMETRY_ITEMS]
        return self.item_tower.text_geometry_loss(tf.gather(targets, first), tf.gather(target_text, first))

    def _retrieval_loss(self, users, items, targets, table):
        """Per-target retrieval loss [N]: a softmax over `table` (full catalog) or over the batch's targets."""
        if table is not None:
            candidates = tf.greater(self.item_tower.id_slots, OOV_SLOT)  # items seen in training
            return self.full_catalog_task(users, table, targets, candidates)
        sampling = tf.gather(self.item_sampling_probability, targets) if self.uses_logq else None
        # Negatives: the targets of the global batch, every replica's (cross_replica.py).
        candidates, candidate_ids, sampling = with_other_replicas_candidates(items, targets, sampling)
        return self.retrieval_task(
            users,
            candidates,
            compute_metrics=False,
            candidate_ids=candidate_ids,
            candidate_sampling_probability=sampling,
        )

    def _task_losses(self, users, items, targets, target_text, labels, table, training, weights=None):
        """Per-target weighted task losses [N] for aligned user and target-item embeddings.

        `weights` [N] (0 = padding) only keep padding out of the ranking metrics.
        """
        config = self.config
        per_target = tf.zeros_like(targets, dtype=tf.float32)
        if config.retrieval_weight > 0:
            share = config.path_loss_share if self.item_tower.paths else 0.0
            # At share 1 the joint softmax weighs nothing: not computed (a [N, V] matmul per step).
            retrieval = 0.0 if share == 1.0 else (1.0 - share) * self._retrieval_loss(users, items, targets, table)
            if share > 0:  # each path's own softmax over its cosines (each half is a unit vector x HALF_SCALE)
                half = users.shape[-1] // 2
                path_losses = [
                    self._retrieval_loss(
                        users[:, part] / HALF_SCALE,
                        items[:, part] / HALF_SCALE,
                        targets,
                        None if table is None else table[:, part] / HALF_SCALE,
                    )
                    for part in (slice(None, half), slice(half, None))
                ]
                retrieval += share * 0.5 * tf.add_n(path_losses)
            per_target += config.retrieval_weight * retrieval
        if config.ranking_weight > 0:
            per_target += config.ranking_weight * self.ranking_task(
                labels=tf.cast(labels, tf.float32)[:, tf.newaxis],
                predictions=self.rating_logits(users, items)[:, tf.newaxis],
                sample_weight=None if weights is None else weights[:, tf.newaxis],
                compute_metrics=bool(training),
            )
        if config.text_geometry_weight > 0 and target_text is not None:
            per_target += config.text_geometry_weight * self._text_geometry_loss(targets, target_text)
        if config.id_text_prior_weight > 0:  # every item under the full-catalog softmax, else the batch's targets
            prior_items = None if table is not None else targets
            per_target += config.id_text_prior_weight * self.item_tower.id_text_prior_loss(prior_items)
        if self.uses_attributes:
            per_target += config.attribute_weight * self.attribute_task(
                labels=tf.gather(self.item_attributes, targets),
                predictions=tf.cast(self.attribute_head(target_text), tf.float32),
                compute_metrics=False,
            )
        return per_target
