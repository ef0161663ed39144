"""The exported `ranking` model: history (+ context) and candidates -> scores.

`scores` is the ranking head's output (predicted rating for rating data,
click logit for click data); `affinity` is the retrieval dot product of the
user and candidate embeddings. Unknown candidate ids are scored with the
unknown-item embedding, "" candidates with the padding embedding (ignore
those scores). History items are not excluded here: the caller chose the
candidates.
"""

from typing import List, Union

import numpy as np
import tensorflow as tf

from tfrec_llm.serving.catalog.history_encoder import HISTORY_INPUT, HistoryEncoder
from tfrec_llm.serving.export.warmup_request import UNKNOWN_EXAMPLE_ID, WarmupRequest
from tfrec_llm.serving.saved_model_loading import LoadedSavedModel
from tfrec_llm.serving.signatures.ranking_head_module import RankingHeadModule

MODEL_NAME = "ranking"
CONTEXT_SIGNATURE = "rank_with_context"
CANDIDATES_INPUT = "candidates"
SCORES_OUTPUT = "scores"
AFFINITY_OUTPUT = "affinity"


class RankingModule(tf.Module):
    """Signatures `serving_default` and `rank_with_context` (see module docstring).

    Args:
        history_encoder: a `HistoryEncoder`.
        ranking_head: a `RankingHeadModule` (or its restored SavedModel object).

    Example:
        module = RankingModule(history_encoder, RankingHeadModule(model, 64))
        tf.saved_model.save(module, path, signatures=module.signatures())
    """

    model_name = MODEL_NAME

    def __init__(self, history_encoder: HistoryEncoder, ranking_head: Union[RankingHeadModule, LoadedSavedModel]):
        super().__init__(name=MODEL_NAME)
        self.history_encoder = history_encoder
        self.ranking_head = ranking_head
        self.rank = tf.function(self._rank)
        self.rank_with_context = tf.function(self._rank_with_context)

    def signatures(self) -> dict:
        encoder = self.history_encoder
        inputs = {
            HISTORY_INPUT: encoder.history_spec(),
            CANDIDATES_INPUT: tf.TensorSpec([None, None], tf.string, name=CANDIDATES_INPUT),
        }
        return {
            "serving_default": self.rank.get_concrete_function(inputs),
            CONTEXT_SIGNATURE: self.rank_with_context.get_concrete_function(dict(inputs, **encoder.context_specs())),
        }

    def _rank(self, inputs):
        """Scores candidates for histories, in the model's default context.

        Inputs: `history` string [B, H] item ids ("" = padding);
        `candidates` string [B, C] item ids.
        Outputs: `scores` float32 [B, C] ranking-head output;
        `affinity` float32 [B, C] user-candidate dot product.
        """
        history = self.history_encoder.items.indices(inputs[HISTORY_INPUT])
        users = self.history_encoder.user_vectors(history, *self.history_encoder.default_context(tf.shape(history)[0]))
        return self._score(users, inputs[CANDIDATES_INPUT])

    def _rank_with_context(self, inputs):
        """As `serving_default`, plus `scenario` and `user_<name>` string [B] inputs."""
        history = self.history_encoder.items.indices(inputs[HISTORY_INPUT])
        users = self.history_encoder.user_vectors(history, *self.history_encoder.context_of(inputs))
        return self._score(users, inputs[CANDIDATES_INPUT])

    def _score(self, users, candidates):
        items = self.history_encoder.items
        candidate_vectors = items.vectors(items.indices(candidates))
        user_vectors = tf.broadcast_to(users[:, tf.newaxis, :], tf.shape(candidate_vectors))
        return {
            SCORES_OUTPUT: self.ranking_head.score(user_vectors, candidate_vectors),
            AFFINITY_OUTPUT: tf.reduce_sum(user_vectors * candidate_vectors, axis=-1),
        }

    def warmup_requests(self) -> List[WarmupRequest]:
        ids = self.history_encoder.items.item_ids.numpy()[:3].astype(str)
        history = np.array([[ids[0], ""], ["", ""]])
        candidates = np.array([[ids[-1], ids[0], UNKNOWN_EXAMPLE_ID], [ids[0], ids[-1], ids[0]]])
        context = self.history_encoder.example_context(batch_size=2)
        context.update({HISTORY_INPUT: history, CANDIDATES_INPUT: candidates})
        return [
            WarmupRequest("serving_default", {HISTORY_INPUT: history, CANDIDATES_INPUT: candidates}),
            WarmupRequest(CONTEXT_SIGNATURE, context),
        ]
