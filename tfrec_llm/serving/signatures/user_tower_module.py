"""The trained user tower as a SavedModel function (history vectors -> user embedding).

Exported inside every model that reads histories; `add_items` re-saves the
restored function unchanged when it writes a model version with more items.
"""

from typing import TYPE_CHECKING

import tensorflow as tf

if TYPE_CHECKING:  # serving a SavedModel needs no model code
    from tfrec_llm.models.user_tower import UserTower


class UserTowerModule(tf.Module):
    """`encode(history_vectors, history_mask, scenario, user_features)` -> L2-normalised user embeddings.

    Same computation as `TwoTowerRecommender.user_embeddings`, but fed with
    history item vectors directly, so the item table can live (and grow)
    outside this function.

    Args:
        user_tower: the trained `UserTower` layer (its variables are saved;
            the Keras object itself is not tracked).
        embedding_dim: width d of item and user embeddings.
        num_user_features: F, the number of categorical user features.

    Example:
        tower = UserTowerModule(model.user_tower, 64, 0)
        users = tower.encode(vectors, mask, scenario, tf.zeros([batch, 0], tf.int32))  # [batch, 64]
    """

    def __init__(self, user_tower: "UserTower", embedding_dim: int, num_user_features: int, name: str = "user_tower"):
        super().__init__(name=name)
        object.__setattr__(self, "_user_tower", user_tower)  # untracked Keras layer
        self.user_tower_variables = list(user_tower.variables)
        self.encode = tf.function(
            self._encode,
            input_signature=[
                tf.TensorSpec([None, None, embedding_dim], tf.float32, name="history_vectors"),
                tf.TensorSpec([None, None], tf.bool, name="history_mask"),
                tf.TensorSpec([None], tf.int32, name="scenario"),
                tf.TensorSpec([None, num_user_features], tf.int32, name="user_features"),
            ],
        )

    def _encode(self, history_vectors, history_mask, scenario, user_features):
        """history_vectors [B, L, d], history_mask [B, L] (right-padded), scenario [B], user_features [B, F]."""
        tower = self._user_tower
        features = {name: user_features[:, i] for i, name in enumerate(tower.feature_names)}
        vectors = tower(history_vectors, history_mask, scenario, features, training=False)
        return tf.math.l2_normalize(tf.cast(vectors, tf.float32), axis=-1)
