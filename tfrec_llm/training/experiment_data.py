"""From a data source to model-ready examples, the same way for train and evaluate."""

import dataclasses
import logging

import numpy as np

from tfrec_llm.data.category_vocabulary import CategoryVocabulary
from tfrec_llm.data.data_split import DataSplit, split_interactions
from tfrec_llm.data.interaction_data import InteractionData
from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX, OOV_SLOT, ItemVocabulary
from tfrec_llm.data.sequence_examples import ContextVocabularies, SequenceExamples, train_and_test_examples
from tfrec_llm.experiment_config import ExperimentConfig

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class ExperimentData:
    """A loaded source, its split, vocabularies and examples."""

    data: InteractionData
    split: DataSplit
    vocabulary: ItemVocabulary
    context: ContextVocabularies
    train_examples: SequenceExamples
    test_examples: SequenceExamples

    def item_popularity(self) -> np.ndarray:
        """Training events per item index ([V], padding and unknown rows 0)."""
        counts = np.bincount(self.vocabulary.lookup(self.split.train.item_ids), minlength=self.vocabulary.size)
        counts[:FIRST_ITEM_INDEX] = 0
        return counts.astype(np.int64)

    def cold_items(self) -> np.ndarray:
        """bool [V]: catalog items never seen in training."""
        cold = self.vocabulary.id_slots == OOV_SLOT
        cold[:FIRST_ITEM_INDEX] = False
        return cold


def load_source(config: ExperimentConfig) -> InteractionData:
    from tfrec_llm.data.data_source import load_data  # pylint: disable=import-outside-toplevel
    data_config = config.data
    return load_data(data_config.source, items=data_config.items, tfds_manual_dir=data_config.tfds_manual_dir,
                     tfds_data_dir=data_config.tfds_data_dir, strict=data_config.strict,
                     columns=data_config.columns or None)


def prepare_experiment_data(config: ExperimentConfig, data: InteractionData = None,
                            vocabulary: ItemVocabulary = None, context: ContextVocabularies = None) -> ExperimentData:
    """Splits `data` (loaded from `config.data` if None) and builds examples.

    Pass the `vocabulary` and `context` of a trained model (see
    `vocabularies_from_assets`) to evaluate it on the same index space.
    """
    data = load_source(config) if data is None else data
    if data.report.skipped:
        logger.warning("Data loading: %s", data.report.summary())
    d = config.data
    split = split_interactions(data.interactions, d.split, d.time_cut_quantile, d.random_test_fraction, d.split_seed)
    if vocabulary is None:
        vocabulary = ItemVocabulary(data.catalog.item_ids, np.unique(split.train.item_ids))
    if context is None:
        context = ContextVocabularies.fit(split.train, data.user_features)
    train, test = train_and_test_examples(split, vocabulary, context, d.max_history)
    return ExperimentData(data, split, vocabulary, context, train, test)


def vocabularies_from_assets(assets, user_features=None):
    """The trained model's item vocabulary and context vocabularies."""
    vocabulary = ItemVocabulary(assets.item_ids, np.zeros(0, str))
    vocabulary.id_slots = np.asarray(assets.id_slots, np.int32)
    scenarios = CategoryVocabulary([])
    scenarios.values = np.asarray(assets.scenario_values, dtype=str)
    feature_vocabularies = {}
    for name, values in assets.user_feature_values.items():
        vocab = CategoryVocabulary([])
        vocab.values = np.asarray(values, dtype=str)
        feature_vocabularies[name] = vocab
    return vocabulary, ContextVocabularies(scenarios, feature_vocabularies, user_features)
