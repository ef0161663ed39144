"""Words + history -> catalog items: personal requests and cold users' profiles.

Scores every catalog item with the blend of `personal_blend.py`:
(1 - w) * text vector + w * user vector, dot product with the item
embeddings, plus alpha * z(cosine of the text's and the items' frozen BERT
vectors) when a similarity weight alpha > 0 is given (`fused_scores`), plus
beta * the items' popularity prior when a popularity weight beta > 0 is
given (`with_popularity`); the history's own items are excluded (as
`retrieval` excludes them). Runs in memory (`from_trained_model`: the model's user tower and
item tower's text path) or from an export alone (`from_export`: the
`item_text_encoder` and `user_encoder` models, the latest `retrieval`
catalog and, for alpha and beta, the latest `text_retrieval` model's BERT
table, encoder and popularity prior). The exported `text_retrieval` model's `retrieve_personal`
signature (and, with the popularity weight, `retrieve_profile`) computes the same in one call for TF
Serving.

History ids the catalog does not know are dropped with a warning naming
them (as `recommend --history` does); an empty history is the model's
no-history user (see `personal_blend.py`).
"""

import logging
from typing import TYPE_CHECKING, Callable, List, Optional, Sequence

import numpy as np
import tensorflow as tf

from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX
from tfrec_llm.queries.personal_blend import (
    REQUEST_ALONE_TEXT_SIMILARITY_WEIGHT,
    REQUEST_HISTORY_WEIGHT,
    REQUEST_TEXT_SIMILARITY_WEIGHT,
    blend_vectors,
    check_similarity_weight,
    fused_scores,
    profile_history_weight,
    profile_popularity_weight,
    profile_text_similarity_weight,
    with_popularity,
)
from tfrec_llm.queries.retriever import TextQueryRetriever
from tfrec_llm.serving.catalog.item_popularity import popularity_prior
from tfrec_llm.serving.signatures.item_text_encoder_module import (
    ENCODE_BATCH_SIZE,
    TEXT_FEATURES_OUTPUT,
    TEXT_INPUT,
)
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
        encode_text_features: string [B] texts -> float32 [B, h] frozen BERT
            vectors (None: no text similarity, alpha must be 0).
        item_text_features: float32 [N, h] the catalog items' BERT vectors.
        item_popularity_prior: float32 [N] the catalog items' popularity prior
            (`personal_blend.popularity_prior`; None: popularity weight must be 0).

    Example:
        retriever = PersonalRetriever.from_export("runs/export")
        retriever.search("something funny", ["50", "181"], history_weight=0.3, k=5, similarity_weight=0.05)
    """

    def __init__(
        self,
        text_retriever: TextQueryRetriever,
        encode_histories: Callable[[np.ndarray], np.ndarray],
        encode_text_features: Optional[Callable[[tf.Tensor], np.ndarray]] = None,
        item_text_features: Optional[np.ndarray] = None,
        item_popularity_prior: Optional[np.ndarray] = None,
    ):
        self.text_retriever = text_retriever
        self._encode_histories = encode_histories
        self.catalog: ServingCatalog = text_retriever.catalog
        if (encode_text_features is None) != (item_text_features is None):
            raise ValueError("Pass both encode_text_features and item_text_features, or neither.")
        if item_text_features is not None and len(item_text_features) != self.catalog.num_items:
            raise ValueError(f"{len(item_text_features)} item text feature rows for {self.catalog.num_items} items.")
        self._encode_text_features = encode_text_features
        self.item_text_features = item_text_features
        if item_popularity_prior is not None and np.shape(item_popularity_prior) != (self.catalog.num_items,):
            raise ValueError(
                f"popularity prior of shape {np.shape(item_popularity_prior)} for {self.catalog.num_items} items."
            )
        self.item_popularity_prior = item_popularity_prior
        self._positions = {item_id: i for i, item_id in enumerate(self.catalog.item_ids.tolist())}

    @classmethod
    def from_trained_model(cls, trained: "TrainedModel") -> "PersonalRetriever":
        """In memory: the trained user tower reads the histories in the signatures' default context."""
        from tfrec_llm.serving.catalog.context_lookup import default_scenario_index  # pylint: disable=import-outside-toplevel
        from tfrec_llm.training.model_evaluation import query_embeddings  # pylint: disable=import-outside-toplevel
        from tfrec_llm.serving.export.exporter import item_text_encoder  # pylint: disable=import-outside-toplevel
        from tfrec_llm.serving.signatures.text_retrieval_module import catalog_text_features  # pylint: disable=import-outside-toplevel

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

        features_module = item_text_encoder(trained)
        return cls(
            text_retriever,
            encode,
            lambda texts: features_module.encode_text_features({TEXT_INPUT: texts})[TEXT_FEATURES_OUTPUT].numpy(),
            catalog_text_features(trained.model.item_tower, trained.assets.num_index_rows),
            popularity_prior(trained.assets.item_popularity[FIRST_ITEM_INDEX:]),
        )

    @classmethod
    def from_export(cls, export_dir: str) -> "PersonalRetriever":
        """From an export alone: `item_text_encoder`, `user_encoder`, the latest `retrieval` catalog and
        `text_retrieval`'s BERT table and popularity prior (exports written before them: no text
        similarity, no popularity)."""
        from tfrec_llm.serving.export.exporter import TEXT_RETRIEVAL, USER_ENCODER  # pylint: disable=import-outside-toplevel
        from tfrec_llm.serving.saved_model_loading import load_latest_version  # pylint: disable=import-outside-toplevel
        from tfrec_llm.serving.signatures.user_encoder_module import USER_EMBEDDING_OUTPUT  # pylint: disable=import-outside-toplevel

        _, user_encoder = load_latest_version(export_dir, USER_ENCODER)
        encode = user_encoder.signatures["serving_default"]
        encode_features, item_features, prior = None, None, None
        try:
            _, text_retrieval = load_latest_version(export_dir, TEXT_RETRIEVAL)
        except FileNotFoundError:
            text_retrieval = None
        if text_retrieval is not None and hasattr(text_retrieval, "text_features"):
            item_features = text_retrieval.text_features.numpy()

            def encode_features(texts, loaded=text_retrieval):  # holds the loaded model: its variables stay alive
                return loaded.text_encoder.encode_text_features({TEXT_INPUT: texts})[TEXT_FEATURES_OUTPUT].numpy()

        if text_retrieval is not None and hasattr(text_retrieval, "popularity_prior"):
            prior = text_retrieval.popularity_prior.numpy()
        return cls(
            TextQueryRetriever.from_export(export_dir),
            lambda histories: encode(history=tf.constant(histories, tf.string))[USER_EMBEDDING_OUTPUT].numpy(),
            encode_features,
            item_features,
            prior,
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

    def text_features(self, texts: Sequence[str]) -> np.ndarray:
        """float32 [B, h] the texts' frozen BERT vectors, L2-normalised."""
        if self._encode_text_features is None:
            raise ValueError(
                "This model has no BERT item table (an export written before it): text similarity weight must be 0."
            )
        parts = [
            np.asarray(self._encode_text_features(tf.constant(list(texts[i : i + ENCODE_BATCH_SIZE]), tf.string)))
            for i in range(0, len(texts), ENCODE_BATCH_SIZE)
        ]
        return np.concatenate(parts).astype(np.float32)

    def scores(
        self,
        texts: Sequence[str],
        histories: Sequence[Sequence[str]],
        history_weight: float,
        similarity_weight: float = 0.0,
        popularity_weight: float = 0.0,
    ) -> np.ndarray:
        """float32 [B, N]: blended query . item (+ alpha * z(BERT cosine) + beta * popularity prior), -inf at
        each row's history items."""
        if len(texts) != len(histories):
            raise ValueError(f"{len(texts)} texts for {len(histories)} histories.")
        similarity_weight = check_similarity_weight(similarity_weight)
        known = [self.known_history(history) for history in histories]
        vectors = blend_vectors(self.text_retriever.query_vectors(texts), self.user_vectors(known), history_weight)
        scores = vectors @ self.catalog.item_vectors.T
        if similarity_weight != 0:  # alpha > 0, or EQUAL_SPREAD
            features = self.text_features([str(t).strip() for t in texts])
            scores = fused_scores(scores, features, self.item_text_features, similarity_weight)
        if popularity_weight != 0:
            if self.item_popularity_prior is None:
                raise ValueError(
                    "This model has no popularity prior (an export written before it): popularity weight must be 0."
                )
            scores = with_popularity(scores, self.item_popularity_prior, popularity_weight)
        for row, history in enumerate(known):
            scores[row, [self._positions[i] for i in history]] = -np.inf
        return scores

    def search(
        self,
        text: str,
        history: Sequence[str] = (),
        history_weight: float = 0.0,
        k: int = 10,
        similarity_weight: float = 0.0,
        popularity_weight: float = 0.0,
    ) -> List[Recommendation]:
        """The k best catalog items for one text and history, best first (history items excluded)."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}.")
        scores = self.scores([text], [list(history)], history_weight, similarity_weight, popularity_weight)[0]
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
    similarity_weight: Optional[float] = None,
    popularity_weight: Optional[float] = None,
) -> List[Recommendation]:
    """Top-k items for a request (or, with `profile=True`, a new user's taste profile) and a history.

    The weights default to the measured ones (`personal_blend.py`): for a
    profile, `profile_history_weight`, `profile_text_similarity_weight` and
    `profile_popularity_weight` of the number of known history items; for a
    request (no popularity) with a history,
    `REQUEST_HISTORY_WEIGHT` and `REQUEST_TEXT_SIMILARITY_WEIGHT`; for a
    request alone (no known history), history weight 0 and
    `REQUEST_ALONE_TEXT_SIMILARITY_WEIGHT` (the equal-spread rule), as the
    `text_retrieval` export's `serving_default` serves it.

    Example:
        personal_recommendations("exports", "likes war films and old westerns", ["50"], profile=True)
    """
    retriever = PersonalRetriever.from_export(export_dir)
    known = retriever.known_history(history)  # unknown ids: named in one warning, then dropped
    request_alone = not profile and not known
    if history_weight is None:
        history_weight = (
            profile_history_weight(len(known)) if profile else 0.0 if request_alone else REQUEST_HISTORY_WEIGHT
        )
    if similarity_weight is None:
        if profile:
            similarity_weight = profile_text_similarity_weight(len(known))
        else:
            similarity_weight = (
                REQUEST_ALONE_TEXT_SIMILARITY_WEIGHT if request_alone else REQUEST_TEXT_SIMILARITY_WEIGHT
            )
        if retriever.item_text_features is None:  # an export written before the BERT table: the blend alone
            similarity_weight = 0.0
    if popularity_weight is None:
        popularity_weight = profile_popularity_weight(len(known)) if profile else 0.0
        if retriever.item_popularity_prior is None:  # an export written before the prior
            popularity_weight = 0.0
    return retriever.search(text, known, history_weight, k, similarity_weight, popularity_weight)
