"""Words + history -> catalog items: personal requests and cold users' profiles.

Scores every catalog item with the blend of `personal_blend.py`:
(1 - w) * text vector + w * user vector, dot product with the item
embeddings; the history's own items are excluded (as `retrieval` excludes
them). Runs in memory (`from_trained_model`: the model's user tower and
item tower's text path) or from an export alone (`from_export`: the
`item_text_encoder` and `user_encoder` models and the latest `retrieval`
catalog). The exported `text_retrieval` model's `retrieve_personal`
signature computes the same in one call for TF Serving.

History ids the catalog does not know are dropped with a warning naming
them (as `recommend --history` does); an empty history is the model's
no-history user (see `personal_blend.py`).
"""

import logging
from typing import TYPE_CHECKING, Callable, List, Optional, Sequence

import numpy as np
import tensorflow as tf

from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX
from tfrec_llm.queries.personal_blend import REQUEST_HISTORY_WEIGHT, blend_vectors, profile_history_weight
from tfrec_llm.queries.retriever import TextQueryRetriever
from tfrec_llm.serving.catalog.serving_catalog import ServingCatalog
from tfrec_llm.serving.recommendation import Recommendation

if TYPE_CHECKING:  # the training stack is imported only when a trained model is passed
    from tfrec_llm.training.trained_model import TrainedModel

logger = logging.getLogger(__name__)

MAX_LISTED_UNKNOWN_IDS = 10


class PersonalRetriever:
    """Scores every catalog item for (text, history) pairs.

    Args:
        text_retriever: a `TextQueryRetriever` (request embeddings and the catalog).
        encode_histories: string [B, H] item ids ("" = padding) -> float32
            [B, d] L2-normalised user embeddings in the default context.

    Example:
        retriever = PersonalRetriever.from_export("runs/export")
        retriever.search("something funny", ["50", "181"], history_weight=0.3, k=5)
    """

    def __init__(self, text_retriever: TextQueryRetriever, encode_histories: Callable[[np.ndarray], np.ndarray]):
        self.text_retriever = text_retriever
        self._encode_histories = encode_histories
        self.catalog: ServingCatalog = text_retriever.catalog
        self._positions = {item_id: i for i, item_id in enumerate(self.catalog.item_ids.tolist())}

    @classmethod
    def from_trained_model(cls, trained: "TrainedModel") -> "PersonalRetriever":
        """In memory: the trained user tower reads the histories in the signatures' default context."""
        from tfrec_llm.serving.catalog.context_lookup import default_scenario_index  # pylint: disable=import-outside-toplevel
        from tfrec_llm.training.model_evaluation import query_embeddings  # pylint: disable=import-outside-toplevel

        text_retriever = TextQueryRetriever.from_trained_model(trained)
        catalog = text_retriever.catalog
        table = np.concatenate([catalog.reserved_vectors, catalog.item_vectors])
        positions = {item_id: i for i, item_id in enumerate(catalog.item_ids.tolist())}
        max_history = trained.config.data.max_history
        feature_names = list(trained.assets.user_feature_values)
        scenario = default_scenario_index(trained.assets.scenario_values)

        def encode(histories: np.ndarray) -> np.ndarray:
            indices = np.zeros((len(histories), max_history), np.int32)
            for row, history in enumerate(histories):
                known = [positions[i] + FIRST_ITEM_INDEX for i in history if i][-max_history:]
                indices[row, : len(known)] = known
            features = {"history": indices, "scenario": np.full(len(histories), scenario, np.int32)}
            features.update({f"user_{name}": np.zeros(len(histories), np.int32) for name in feature_names})
            return query_embeddings(trained.model, features, table)

        return cls(text_retriever, encode)

    @classmethod
    def from_export(cls, export_dir: str) -> "PersonalRetriever":
        """From an export alone: `item_text_encoder`, `user_encoder` and the latest `retrieval` catalog."""
        from tfrec_llm.serving.export.exporter import USER_ENCODER  # pylint: disable=import-outside-toplevel
        from tfrec_llm.serving.saved_model_loading import load_latest_version  # pylint: disable=import-outside-toplevel
        from tfrec_llm.serving.signatures.user_encoder_module import USER_EMBEDDING_OUTPUT  # pylint: disable=import-outside-toplevel

        _, user_encoder = load_latest_version(export_dir, USER_ENCODER)
        encode = user_encoder.signatures["serving_default"]
        return cls(
            TextQueryRetriever.from_export(export_dir),
            lambda histories: encode(history=tf.constant(histories, tf.string))[USER_EMBEDDING_OUTPUT].numpy(),
        )

    def known_history(self, history: Sequence[str]) -> List[str]:
        """`history` without "" and without the ids the catalog lacks (named in a warning)."""
        given = [str(item_id) for item_id in history if str(item_id)]
        unknown = list(dict.fromkeys(i for i in given if i not in self._positions))
        if unknown:
            listed = ", ".join(unknown[:MAX_LISTED_UNKNOWN_IDS])
            logger.warning(
                "%d of %d history ids are unknown to the model and were ignored: %s",
                sum(i not in self._positions for i in given),
                len(given),
                listed,
            )
        return [i for i in given if i in self._positions]

    def user_vectors(self, known_histories: Sequence[Sequence[str]]) -> np.ndarray:
        """float32 [B, d] user embeddings of histories of known ids ("" allowed as padding)."""
        kept = [[i for i in history if i] for history in known_histories]
        width = max([len(h) for h in kept] + [1])
        padded = np.array([h + [""] * (width - len(h)) for h in kept], dtype=object).astype(str)
        return np.asarray(self._encode_histories(padded.reshape(len(kept), width)), np.float32)

    def scores(self, texts: Sequence[str], histories: Sequence[Sequence[str]], history_weight: float) -> np.ndarray:
        """float32 [B, N]: blended query . item, -inf at each row's history items."""
        if len(texts) != len(histories):
            raise ValueError(f"{len(texts)} texts for {len(histories)} histories.")
        known = [self.known_history(history) for history in histories]
        vectors = blend_vectors(self.text_retriever.query_vectors(texts), self.user_vectors(known), history_weight)
        scores = vectors @ self.catalog.item_vectors.T
        for row, history in enumerate(known):
            scores[row, [self._positions[i] for i in history]] = -np.inf
        return scores

    def search(
        self, text: str, history: Sequence[str] = (), history_weight: float = 0.0, k: int = 10
    ) -> List[Recommendation]:
        """The k best catalog items for one text and history, best first (history items excluded)."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}.")
        scores = self.scores([text], [list(history)], history_weight)[0]
        order = np.argsort(-scores, kind="stable")
        order = order[np.isfinite(scores[order])][:k]
        return [
            Recommendation(str(self.catalog.item_ids[i]), str(self.catalog.item_titles[i]), float(scores[i]))
            for i in order
        ]


def personal_recommendations(
    export_dir: str,
    text: str,
    history: Sequence[str] = (),
    k: int = 10,
    history_weight: Optional[float] = None,
    profile: bool = False,
) -> List[Recommendation]:
    """Top-k items for a request (or, with `profile=True`, a new user's taste profile) and a history.

    The weight defaults to the measured one (`personal_blend.py`): for a
    profile, `profile_history_weight` of the number of known history items;
    for a request, `REQUEST_HISTORY_WEIGHT`.

    Example:
        personal_recommendations("exports", "likes war films and old westerns", ["50"], profile=True)
    """
    retriever = PersonalRetriever.from_export(export_dir)
    known = retriever.known_history(history)  # unknown ids: named in one warning, then dropped
    if history_weight is None:
        history_weight = profile_history_weight(len(known)) if profile else REQUEST_HISTORY_WEIGHT
    return retriever.search(text, known, history_weight, k)
