"""Natural-language requests -> catalog items, through the item tower's text path.

A request ("a scary film with ghosts") is embedded exactly as the item
tower embeds an item that has that text and no trained id, i.e. as a
cold-start item: BERT, the text projection and the out-of-vocabulary id
part, L2-normalised. That is the `item_text_encoder` computation, and the
retriever runs it either in memory (`from_trained_model`) or from the
exported SavedModel (`from_export`, which needs no training code). An
item's score is the dot product of its embedding with the request's: the
catalog items the model places next to an item so described.

The request must be in the language of the item texts (the text fields
joined by ". "); `tfrec-llm bench-queries` measures how well
requests written as a person would write them find their items.
"""

from typing import TYPE_CHECKING, Callable, List, Optional, Sequence

import numpy as np
import tensorflow as tf

from tfrec_llm.serving.signatures.item_text_encoder_module import ENCODE_BATCH_SIZE, ITEM_EMBEDDING_OUTPUT, TEXT_INPUT
from tfrec_llm.serving.recommendation import Recommendation
from tfrec_llm.serving.catalog.serving_catalog import ServingCatalog

if TYPE_CHECKING:  # the training stack is imported only when a trained model is passed
    from tfrec_llm.training.trained_model import TrainedModel


class TextQueryRetriever:
    """Scores every catalog item for natural-language requests.

    Args:
        encode_texts: string [B] tensor -> float32 [B, d] L2-normalised
            embeddings (the `item_text_encoder` signature or module).
        catalog: the items to search, with their embeddings.

    Example:
        retriever = TextQueryRetriever.from_export("runs/export")
        for item_id, title, score in retriever.search("a funny cartoon for children", k=5):
            print(item_id, title, score)
    """

    def __init__(self, encode_texts: Callable[[tf.Tensor], tf.Tensor], catalog: ServingCatalog):
        self._encode_texts = encode_texts
        self.catalog = catalog

    @classmethod
    def from_trained_model(
        cls, trained: "TrainedModel", catalog: Optional[ServingCatalog] = None
    ) -> "TextQueryRetriever":
        """In memory, from a `TrainedModel` (the model must read item text)."""
        from tfrec_llm.serving.export.exporter import item_text_encoder, serving_catalog  # pylint: disable=import-outside-toplevel

        module = item_text_encoder(trained)
        return cls(
            lambda texts: module.encode({TEXT_INPUT: texts})[ITEM_EMBEDDING_OUTPUT],
            serving_catalog(trained) if catalog is None else catalog,
        )

    @classmethod
    def from_export(cls, export_dir: str) -> "TextQueryRetriever":
        """From an export alone: the latest `item_text_encoder` and the latest `retrieval` catalog
        (so items added with `add-items` are found too)."""
        from tfrec_llm.serving.catalog.catalog_growth import exported_catalog  # pylint: disable=import-outside-toplevel
        from tfrec_llm.serving.export.exporter import ITEM_TEXT_ENCODER, RETRIEVAL  # pylint: disable=import-outside-toplevel
        from tfrec_llm.serving.saved_model_loading import load_latest_version  # pylint: disable=import-outside-toplevel

        retrieval_path, retrieval = load_latest_version(export_dir, RETRIEVAL)
        try:
            _, encoder = load_latest_version(export_dir, ITEM_TEXT_ENCODER)
        except FileNotFoundError as error:
            raise FileNotFoundError(
                f"{error} Text requests need {ITEM_TEXT_ENCODER}, which is exported only for models trained with text."
            ) from error
        encode = encoder.signatures["serving_default"]
        return cls(
            lambda texts: encode(**{TEXT_INPUT: texts})[ITEM_EMBEDDING_OUTPUT],
            exported_catalog(retrieval, retrieval_path),
        )

    def query_vectors(self, queries: Sequence[str]) -> np.ndarray:
        """float32 [Q, d] embeddings of the requests."""
        queries = _checked_queries(queries)
        parts = [np.zeros((0, self.catalog.embedding_dim), np.float32)]
        for start in range(0, len(queries), ENCODE_BATCH_SIZE):
            batch = tf.constant(queries[start : start + ENCODE_BATCH_SIZE], dtype=tf.string)
            parts.append(np.asarray(self._encode_texts(batch), np.float32))
        return np.concatenate(parts)

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        """float32 [Q, N]: dot product of each request with every catalog item."""
        return self.query_vectors(queries) @ self.catalog.item_vectors.T

    def search(self, query: str, k: int = 10) -> List[Recommendation]:
        """The k best catalog items for one request, best first."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}.")
        scores = self.scores([query])[0]
        k = min(k, len(scores))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [
            Recommendation(str(self.catalog.item_ids[i]), str(self.catalog.item_titles[i]), float(scores[i]))
            for i in best
        ]


def _checked_queries(queries: Sequence[str]) -> List[str]:
    if isinstance(queries, str):
        raise TypeError("Pass a list of requests, not one string.")
    queries = [q if isinstance(q, str) else None for q in queries]
    bad = [i for i, q in enumerate(queries) if q is None or not q.strip()]
    if bad:
        raise ValueError(f"Requests must be non-empty strings; request {bad[0]} is not.")
    return [q.strip() for q in queries]
