"""Two-path user tower: one `UserTower` reads the id half of the history, one the text half.

With fusion "paths" (`models/item_tower.py`) an item vector is
[id / |id|, text / |text|] / sqrt(2). This tower splits each history vector
into those halves, runs a `UserTower` over each, and returns
[u_id / |u_id|, u_text / |u_text|] / sqrt(2): a score against an item is the
mean of the id path's cosine and the text path's. Each path is a complete
user tower (sequence encoder, context embeddings, output MLP), so the two
learn as separately trained id-only and text-only models would, yet under
one loss, one export and one set of weights.

Why: on ml-latest-small the gate fusion scored below text alone (test
Recall@10 0.1033 vs 0.1311, validation 0.1328 vs 0.1180); see
benchmarks/RESULTS.md, "Fusion", for what this tower measured against it.
"""

import tensorflow as tf
import tf_keras

from tfrec_llm.models.item_tower import HALF_SCALE
from tfrec_llm.models.user_tower import UserTower


class TwoPathUserTower(tf_keras.layers.Layer):
    """(history [B, L, 2d], mask, scenario, user features) -> user embeddings [B, 2d] (or [B, L, 2d]).

    Args:
        id_tower: the `UserTower` reading the first `half` of each history
            vector (the items' id half).
        text_tower: the `UserTower` reading the rest (the text half).
        half: width d of each half (both towers' output width).

    Example:
        tower = TwoPathUserTower(UserTower(64, 64, 2, {}, name="ids"), UserTower(64, 64, 2, {}, name="text"), 64)
        users = tower(history_vectors, mask, scenario, {})   # history_vectors [B, L, 128] -> [B, 128]
    """

    def __init__(self, id_tower, text_tower, half, **kwargs):
        super().__init__(**kwargs)
        if id_tower.feature_names != text_tower.feature_names:
            raise ValueError("Both paths must read the same user features.")
        self.id_tower = id_tower
        self.text_tower = text_tower
        self.half = int(half)

    # The attributes the trainer, domain transfer and vocabulary growth read.
    @property
    def feature_names(self):
        return self.id_tower.feature_names

    @property
    def path_towers(self):
        """The `UserTower`s whose tables and layers carry over or grow."""
        return [self.id_tower, self.text_tower]

    def scenario_tables(self) -> list:
        return self.id_tower.scenario_tables() + self.text_tower.scenario_tables()

    def call(self, history_vectors, history_mask, scenario, user_features, training=None, all_positions=False):
        """Each path over its half of `history_vectors`; see `UserTower.call`."""
        outputs = [
            tower(part, history_mask, scenario, user_features, training=training, all_positions=all_positions)
            for tower, part in zip(
                self.path_towers, (history_vectors[..., : self.half], history_vectors[..., self.half :])
            )
        ]
        halves = [tf.math.l2_normalize(tf.cast(output, tf.float32), axis=-1) for output in outputs]
        return tf.concat(halves, axis=-1) * HALF_SCALE

    def get_config(self):
        config = super().get_config()
        config.update(
            {"id_tower": self.id_tower.get_config(), "text_tower": self.text_tower.get_config(), "half": self.half}
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        id_tower = UserTower.from_config(config.pop("id_tower"))
        text_tower = UserTower.from_config(config.pop("text_tower"))
        return cls(id_tower, text_tower, **config)
