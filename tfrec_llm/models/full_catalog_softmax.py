"""A retrieval task whose negatives are the whole catalog.

Like `tfrs.tasks.Retrieval` (a task is a layer that returns a loss), but the
softmax runs over every candidate item instead of the other items of the
batch: no sampling bias, no popularity correction to tune, and every item
is pushed away from every query each step. It costs a [N, V] logit matrix
per batch, so it fits catalogs up to some ten thousand items on a CPU
(`model.negatives = "in_batch"` beyond that, or when BERT is fine-tuned).
"""

import tensorflow as tf
import tf_keras

MASKED_LOGIT = -1e9


class FullCatalogSoftmax(tf_keras.layers.Layer):
    """(queries [N, d], candidates [V, d], targets [N], candidate mask [V]) -> per-example loss [N].

    Args:
        temperature: logits are dot products divided by this.

    Example:
        task = FullCatalogSoftmax(temperature=0.1)
        loss = task(user_vectors, item_table, target_indices, item_table_is_candidate)
    """

    def __init__(self, temperature=1.0, **kwargs):
        super().__init__(**kwargs)
        self.temperature = temperature

    def call(self, queries, candidates, targets, candidate_mask):
        logits = tf.matmul(tf.cast(queries, tf.float32), tf.cast(candidates, tf.float32), transpose_b=True)
        logits = tf.where(candidate_mask[tf.newaxis, :], logits / self.temperature, MASKED_LOGIT)
        return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(targets, tf.int32), logits=logits)

    def get_config(self):
        config = super().get_config()
        config.update({"temperature": self.temperature})
        return config
