"""The trained ranking head as a SavedModel function (user, item embeddings -> score)."""

from typing import TYPE_CHECKING

import tensorflow as tf

if TYPE_CHECKING:  # serving a SavedModel needs no model code
    from tfrec_llm.models.two_tower_recommender import TwoTowerRecommender


class RankingHeadModule(tf.Module):
    """`score(user_vectors, item_vectors)` -> ranking-head output (predicted rating or click logit).

    Args:
        model: the trained `TwoTowerRecommender` (`rating_logits` is called;
            only the ranking head's variables are saved).
        embedding_dim: width d of the embeddings.

    Example:
        head = RankingHeadModule(model, 64)
        scores = head.score(users, items)  # [B, C] from [B, C, d] and [B, C, d]
    """

    def __init__(self, model: "TwoTowerRecommender", embedding_dim: int, name: str = "ranking_head"):
        super().__init__(name=name)
        object.__setattr__(self, "_model", model)  # untracked Keras model
        self.ranking_head_variables = list(model.ranking_head.variables)
        self.score = tf.function(
            self._score,
            input_signature=[
                tf.TensorSpec([None, None, embedding_dim], tf.float32, name="user_vectors"),
                tf.TensorSpec([None, None, embedding_dim], tf.float32, name="item_vectors"),
            ],
        )

    def _score(self, user_vectors, item_vectors):
        return tf.cast(self._model.rating_logits(user_vectors, item_vectors), tf.float32)
