"""Dropout whose masks a resumed run draws again exactly.

Keras' `Dropout` draws from a random generator whose state no checkpoint
holds, so a run killed and resumed by `BackupAndRestore` drops other units
than an uninterrupted one and ends elsewhere. This layer draws its mask
statelessly from (seed, a checkpointed call counter), as the item tower's
id dropout does.
"""

import tensorflow as tf
import tf_keras


class StatelessDropout(tf_keras.layers.Layer):
    """Inverted dropout with masks keyed on (seed, calls so far).

    Args:
        rate: probability of dropping a unit in training.
        seed: distinguishes this layer's masks from other layers'.

    Example:
        dropout = StatelessDropout(0.1, seed=7)
        y = dropout(x, training=True)
    """

    def __init__(self, rate, seed, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.seed = seed
        self.calls = tf.Variable(
            0, dtype=tf.int64, trainable=False, name="calls", aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA
        )

    def call(self, inputs, training=None):
        if not training or self.rate <= 0:
            return inputs
        step = self.calls.assign_add(1)
        keep = tf.random.stateless_uniform(tf.shape(inputs), seed=tf.stack([tf.constant(self.seed, tf.int64), step]))
        return tf.where(keep >= self.rate, inputs / (1.0 - self.rate), tf.zeros_like(inputs))

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config
