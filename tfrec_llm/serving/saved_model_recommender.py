"""Recommendations from an export directory alone (no model dir, no training code).

Uses the latest `retrieval` version (its `serving_default` signature: the
model's default context; history items are excluded) and the titles in its
`assets.extra/item_catalog.tsv`. With `diversity` (MMR lambda in [0, 1]) or
`tail_boost` (beta >= 0) above 0 it asks the `retrieve_reranked` signature
instead (see `serving/reranking.py`). With `explain=True`, each recommended
item is paired with the history item whose removal lowers its score most
(leave-one-out with the `user_encoder` export, see
`explained_recommendation.py`): "recommended because you watched ...". At
most K = min(max_k, catalog size) items can be returned (K is fixed at export).

History ids the model does not know (not in the served catalog: a typo, an
item of another data set) are dropped before the request, with a warning
naming them; a history of unknown ids only gets the no-history answer:
the most popular items (`model.empty_history_answer` "popularity"), or
with "model" the items the user tower rates highest for an empty history;
the default "validation" is whichever of the two `train` measured better
on validation (export_info.json names it; the README's cold-user section). The TF
Serving signature itself reads an unknown id as the unknown item; under
"popularity" a request of unknown ids only is ranked by popularity too.
"""

import logging
from typing import List, Sequence

import numpy as np
import tensorflow as tf

from tfrec_llm.serving.explained_recommendation import explain_rows, leave_one_out_drops, unexplained_rows
from tfrec_llm.serving.catalog.item_catalog_file import read_item_catalog
from tfrec_llm.serving.signatures.item_encoder_module import ITEM_EMBEDDING_OUTPUT, ITEM_IDS_INPUT
from tfrec_llm.serving.recommendation import Recommendation
from tfrec_llm.serving.reranking import check_rerank_arguments
from tfrec_llm.serving.signatures.retrieval_module import ITEM_IDS_OUTPUT, RERANKED_SIGNATURE, SCORES_OUTPUT
from tfrec_llm.serving.signatures.user_encoder_module import USER_EMBEDDING_OUTPUT
from tfrec_llm.serving.export.export_layout import model_versions
from tfrec_llm.serving.export.exporter import ITEM_ENCODER, ITEM_TEXT_ENCODER, RETRIEVAL, USER_ENCODER
from tfrec_llm.serving.saved_model_loading import load_latest_version

SERVING_SIGNATURE = "serving_default"
MAX_LISTED_UNKNOWN_IDS = 10

logger = logging.getLogger(__name__)


class SavedModelRecommender:
    """Loads an export's latest retrieval model once; `recommend` per request.

    Args:
        export_dir: a directory written by `export_models` (and `add_items`).

    Example:
        recommender = SavedModelRecommender("exports")
        for item_id, title, score in recommender.recommend(["50", "181"], k=5):
            print(item_id, title, score)
    """

    def __init__(self, export_dir: str):
        self.export_dir = export_dir
        self.retrieval_path, retrieval = load_latest_version(export_dir, RETRIEVAL)
        self._retrieve = retrieval.signatures[SERVING_SIGNATURE]
        self._retrieve_reranked = retrieval.signatures.get(RERANKED_SIGNATURE)
        item_ids, titles = read_item_catalog(self.retrieval_path)
        self.titles = dict(zip(item_ids.tolist(), titles.tolist()))
        self._encode_items = None
        self._encode_users = None

    def recommend(
        self,
        history: Sequence[str],
        k: int = 10,
        explain: bool = False,
        diversity: float = 0.0,
        tail_boost: float = 0.0,
    ) -> List[tuple]:
        """Top-k `Recommendation`s (or `ExplainedRecommendation`s) for a history, oldest item first.

        `diversity` (MMR lambda in [0, 1]) and `tail_boost` (>= 0) re-rank the
        retrieved candidates (0 and 0: the plain top-k).
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}.")
        check_rerank_arguments(diversity, tail_boost)
        history = self.known_history([str(item_id) for item_id in history])
        request = tf.constant([history], dtype=tf.string, shape=[1, len(history)])
        if diversity or tail_boost:
            outputs = self._reranked(request, k, diversity, tail_boost)
        else:
            outputs = self._retrieve(history=request)
        item_ids = [i.decode("utf-8") for i in outputs[ITEM_IDS_OUTPUT].numpy()[0]]
        scores = outputs[SCORES_OUTPUT].numpy()[0]
        rows = [
            Recommendation(item_id, self.titles.get(item_id, ""), float(score))
            for item_id, score in zip(item_ids, scores)
            if item_id
        ][:k]
        if not explain:
            return rows
        return self._explained(rows, history)

    def known_history(self, history: Sequence[str]) -> List[str]:
        """`history` without the ids the model does not know, which are named in a warning."""
        given = [item_id for item_id in history if item_id]  # "" is padding
        known = [item_id for item_id in given if item_id in self.titles]
        unknown = list(dict.fromkeys(item_id for item_id in given if item_id not in self.titles))
        if unknown:
            listed = ", ".join(unknown[:MAX_LISTED_UNKNOWN_IDS]) + (
                f", ... ({len(unknown)} distinct)" if len(unknown) > MAX_LISTED_UNKNOWN_IDS else ""
            )
            if known:
                logger.warning(
                    "%d of %d history ids are unknown to the model and were ignored: %s",
                    len(given) - len(known),
                    len(given),
                    listed,
                )
            else:
                logger.warning(
                    "No history id is known to the model (%s): this is the no-history answer, "
                    "the same as for an empty history (popularity, or the user tower's answer: export_info.json's "
                    "empty_history_answer).",
                    listed,
                )
        return known

    def _reranked(self, request, k, diversity, tail_boost):
        if self._retrieve_reranked is None:
            raise ValueError(
                f"{self.retrieval_path} has no {RERANKED_SIGNATURE!r} signature (exported before re-ranking "
                "existed): export the model again to use diversity or tail_boost."
            )
        return self._retrieve_reranked(
            history=request,
            k=tf.constant(k, tf.int32),
            diversity=tf.constant(diversity, tf.float32),
            tail_boost=tf.constant(tail_boost, tf.float32),
        )

    def _explained(self, rows, history) -> List[tuple]:
        if not history or not rows:
            return unexplained_rows(rows)
        drops = self.history_drops(history, [row.item_id for row in rows])
        reads_text = bool(model_versions(self.export_dir, ITEM_TEXT_ENCODER))
        return explain_rows(rows, history, drops, self.titles, reads_text)

    def history_drops(self, history: Sequence[str], item_ids: Sequence[str]) -> np.ndarray:
        """float [H, R]: the drop of each item's score when history position p alone is removed."""
        return leave_one_out_drops(self.user_vectors, history, self.item_vectors(list(item_ids)))

    def user_vectors(self, histories: Sequence[Sequence[str]]) -> np.ndarray:
        """float32 [n, d] user embeddings (the `user_encoder` export) of right-padded histories."""
        if self._encode_users is None:
            _, user_encoder = load_latest_version(self.export_dir, USER_ENCODER)
            self._encode_users = user_encoder.signatures[SERVING_SIGNATURE]
        width = max((len(h) for h in histories), default=0)
        matrix = [list(h) + [""] * (width - len(h)) for h in histories]
        outputs = self._encode_users(history=tf.constant(matrix, dtype=tf.string, shape=[len(matrix), width]))
        return outputs[USER_EMBEDDING_OUTPUT].numpy()

    def item_vectors(self, item_ids: Sequence[str]) -> np.ndarray:
        """float32 [n, d] item embeddings (the `item_encoder` export) of catalog item ids."""
        if self._encode_items is None:
            _, item_encoder = load_latest_version(self.export_dir, ITEM_ENCODER)
            self._encode_items = item_encoder.signatures[SERVING_SIGNATURE]
        vectors = self._encode_items(**{ITEM_IDS_INPUT: tf.constant(item_ids, dtype=tf.string, shape=[len(item_ids)])})
        return vectors[ITEM_EMBEDDING_OUTPUT].numpy()


def recommend(
    export_dir: str,
    history: Sequence[str],
    k: int = 10,
    explain: bool = False,
    diversity: float = 0.0,
    tail_boost: float = 0.0,
) -> List[tuple]:
    """Top-k recommendations for `history` from the export alone (see module docstring).

    Returns `Recommendation(item_id, title, score)` rows, or with
    `explain=True` `ExplainedRecommendation(item_id, title, score,
    because_of_item_id, because_of_title, score_drop, contributors, shared_words)` rows.
    """
    return SavedModelRecommender(export_dir).recommend(history, k, explain, diversity, tail_boost)
