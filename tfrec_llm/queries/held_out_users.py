"""What the cold-user and personal-request benchmarks share: a trained model, its split, its vectors.

`HeldOutUsers.load(model_dir)` restores the model and rebuilds its own
split (the training data named in its config, or `data_source`), so the
benchmarks read the test and validation targets the model never trained
on. `user_vectors` embeds histories (item indices) in the context the
exported signatures use without context inputs (default scenario, unknown
user features): what a new user's request gets.
"""

import dataclasses
from typing import Optional

import numpy as np
import tensorflow as tf

from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX, PAD_INDEX
from tfrec_llm.queries.retriever import TextQueryRetriever
from tfrec_llm.data.validation_holdout import validation_mask
from tfrec_llm.training.experiment_data import ExperimentData


@dataclasses.dataclass
class HeldOutUsers:
    """A trained model with its split and item embeddings.

    Args:
        trained: the `TrainedModel`.
        experiment: its `ExperimentData` (split, examples, validation targets).
        text_retriever: the in-memory `TextQueryRetriever` (request vectors, catalog).

    Example:
        users = HeldOutUsers.load("runs/ml-100k")
        vectors = users.user_vectors(users.experiment.test_examples.history)
    """

    trained: object
    experiment: ExperimentData
    text_retriever: TextQueryRetriever
    _item_text_features: Optional[np.ndarray] = dataclasses.field(default=None, repr=False)
    _text_features_module: object = dataclasses.field(default=None, repr=False)

    @classmethod
    def load(cls, model_dir: str, data_source: Optional[str] = None, data=None) -> "HeldOutUsers":
        """`data_source` overrides the config's source; `data` (an `InteractionData`) replaces loading."""
        from tfrec_llm.training.experiment_data import (  # pylint: disable=import-outside-toplevel
            load_source,
            prepare_experiment_data,
            vocabularies_from_assets,
        )
        from tfrec_llm.training.trained_model import TrainedModel  # pylint: disable=import-outside-toplevel

        trained = TrainedModel.load(model_dir)
        if not trained.config.model.use_text or trained.assets.item_attributes is None:
            raise ValueError(f"{model_dir}: needs a model that reads item text and a catalog with attributes.")
        config = trained.config.updated({"data": {"source": data_source}}) if data_source else trained.config
        data = load_source(config) if data is None else data
        vocabulary, context = vocabularies_from_assets(trained.assets, data.user_features)
        experiment = prepare_experiment_data(config, data, vocabulary, context)
        if not experiment.validation.any():  # trained without early stopping: its validation targets were trained on
            experiment.validation = validation_mask(experiment.split, config.train.seed)
        return cls(trained, experiment, TextQueryRetriever.from_trained_model(trained))

    @property
    def item_vectors(self) -> np.ndarray:
        """float32 [N, d] catalog item embeddings (item index i + 2 is row i)."""
        return self.text_retriever.catalog.item_vectors

    @property
    def item_attributes(self) -> np.ndarray:
        """[V, A] attributes by item index."""
        return self.trained.assets.item_attributes

    def user_vectors(self, history: np.ndarray) -> np.ndarray:
        """float32 [n, d] user embeddings of right-padded index histories [n, H] (H may be 0)."""
        from tfrec_llm.serving.catalog.context_lookup import default_scenario_index  # pylint: disable=import-outside-toplevel
        from tfrec_llm.training.model_evaluation import query_embeddings  # pylint: disable=import-outside-toplevel

        history = np.asarray(history, np.int32)
        if history.shape[1] == 0:
            history = np.full((len(history), 1), PAD_INDEX, np.int32)
        assets = self.trained.assets
        features = {
            "history": history,
            "scenario": np.full(len(history), default_scenario_index(assets.scenario_values), np.int32),
        }
        features.update({f"user_{name}": np.zeros(len(history), np.int32) for name in assets.user_feature_values})
        catalog = self.text_retriever.catalog
        return query_embeddings(
            self.trained.model, features, np.concatenate([catalog.reserved_vectors, catalog.item_vectors])
        )

    @property
    def item_text_features(self) -> np.ndarray:
        """float32 [N, h] the catalog items' frozen BERT vectors (before the projection)."""
        from tfrec_llm.serving.signatures.text_retrieval_module import catalog_text_features  # pylint: disable=import-outside-toplevel

        if self._item_text_features is None:
            self._item_text_features = catalog_text_features(
                self.trained.model.item_tower, self.trained.assets.num_index_rows
            )
        return self._item_text_features

    def text_features(self, texts) -> np.ndarray:
        """float32 [n, h] the texts' frozen BERT vectors, L2-normalised; each distinct text encoded once."""
        from tfrec_llm.serving.export.exporter import item_text_encoder  # pylint: disable=import-outside-toplevel
        from tfrec_llm.serving.signatures.item_text_encoder_module import TEXT_FEATURES_OUTPUT, TEXT_INPUT  # pylint: disable=import-outside-toplevel

        if self._text_features_module is None:
            self._text_features_module = item_text_encoder(self.trained)
        distinct, position = np.unique(np.asarray(texts, dtype=str), return_inverse=True)
        encode = self._text_features_module.encode_text_features
        parts = [np.zeros((0, self.item_text_features.shape[1]), np.float32)] + [
            encode({TEXT_INPUT: tf.constant(distinct[i : i + 256])})[TEXT_FEATURES_OUTPUT].numpy()
            for i in range(0, len(distinct), 256)
        ]
        return np.concatenate(parts)[position]

    def text_vectors(self, texts) -> np.ndarray:
        """float32 [n, d] request embeddings; each distinct text is encoded once."""
        distinct, position = np.unique(np.asarray(texts, dtype=str), return_inverse=True)
        return self.text_retriever.query_vectors(distinct.tolist())[position]


def catalog_rows(indices: np.ndarray) -> np.ndarray:
    """Catalog rows (index - 2) of the catalog items among item `indices`."""
    indices = np.asarray(indices)
    return indices[indices >= FIRST_ITEM_INDEX] - FIRST_ITEM_INDEX
