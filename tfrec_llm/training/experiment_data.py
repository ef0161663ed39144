"""From a data source to model-ready examples, the same way for train and evaluate."""

import dataclasses
import logging

import numpy as np

from tfrec_llm.data.category_vocabulary import CategoryVocabulary
from tfrec_llm.data.data_split import DataSplit, split_interactions
from tfrec_llm.data.interaction_data import InteractionData
from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX, OOV_SLOT, ItemVocabulary
from tfrec_llm.data.sequence_examples import (
    ContextVocabularies,
    SequenceExamples,
    build_examples,
    train_and_test_examples,
)
from tfrec_llm.data.training_sequences import build_training_sequences
from tfrec_llm.data.validation_holdout import validation_mask
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
    validation: np.ndarray = None  # bool [len(split.train)]: events held out for early stopping
    max_history: int = 20

    def validation_examples(self, max_examples: int = 0, seed: int = 0) -> SequenceExamples:
        """Examples of the held-out validation events (histories: the training events before them)."""
        train = self.split.train
        in_history = ~self.validation if self.split.protocol == "random" else np.ones(len(train), bool)
        users, counts = np.unique(train.user_ids, return_counts=True)
        examples = build_examples(
            train,
            self.validation,
            in_history,
            self.vocabulary,
            self.context,
            self.max_history,
            dict(zip(users.tolist(), counts.tolist())),
        )
        if max_examples and len(examples) > max_examples:
            examples = examples.subset(
                np.sort(np.random.default_rng(seed).choice(len(examples), max_examples, replace=False))
            )
        return examples

    def training_features(self, training_targets: str, empty_history_targets: bool = False) -> dict:
        """The input arrays `fit` batches: per-position sequences or one row per target event.

        Validation events (if any) are left out as targets and as history.
        `empty_history_targets`: see `build_training_sequences` (per-position only).
        """
        events = self.split.train.select(np.flatnonzero(~self.validation))
        if training_targets == "every_position":
            return build_training_sequences(
                events, self.vocabulary, self.context, self.max_history, empty_history_targets
            ).features()
        if not self.validation.any():
            return self.train_examples.features()
        every = np.ones(len(events), bool)
        users, counts = np.unique(events.user_ids, return_counts=True)
        return build_examples(
            events,
            every,
            every,
            self.vocabulary,
            self.context,
            self.max_history,
            dict(zip(users.tolist(), counts.tolist())),
        ).features()

    def item_popularity(self) -> np.ndarray:
        """Training events per item index ([V]; padding, unknown and cold rows 0).

        Cold: items without an id slot, including those whose every training
        event is held out for early stopping (`drop_unfitted_id_slots`): the
        model serves them as cold, and the evaluation counts them cold.
        """
        counts = np.bincount(self.vocabulary.lookup(self.split.train.item_ids), minlength=self.vocabulary.size)
        counts[:FIRST_ITEM_INDEX] = 0
        counts[self.vocabulary.id_slots == OOV_SLOT] = 0
        return counts.astype(np.int64)

    def cold_items(self) -> np.ndarray:
        """bool [V]: catalog items never seen in training."""
        cold = self.vocabulary.id_slots == OOV_SLOT
        cold[:FIRST_ITEM_INDEX] = False
        return cold


def load_source(config: ExperimentConfig) -> InteractionData:
    """The data `config.data` names: `source`, or its `scenario_sources` joined as scenarios."""
    from tfrec_llm.data.scenario_join import join_scenarios  # pylint: disable=import-outside-toplevel

    data_config = config.data
    if data_config.scenario_sources:
        sources = data_config.scenario_sources.items()
        return join_scenarios({name: _load(data_config, source) for name, source in sources})
    return _load(data_config, data_config.source)


def _load(data_config, source: str) -> InteractionData:
    from tfrec_llm.data.data_source import load_data  # pylint: disable=import-outside-toplevel

    return load_data(
        source,
        items=data_config.items,
        tfds_manual_dir=data_config.tfds_manual_dir,
        tfds_data_dir=data_config.tfds_data_dir,
        strict=data_config.strict,
        columns=data_config.columns or None,
    )


def prepare_experiment_data(
    config: ExperimentConfig,
    data: InteractionData = None,
    vocabulary: ItemVocabulary = None,
    context: ContextVocabularies = None,
    split: DataSplit = None,
) -> ExperimentData:
    """Splits `data` (loaded from `config.data` if None) and builds examples.

    Pass the `vocabulary` and `context` of a trained model (see
    `vocabularies_from_assets`) to evaluate it on the same index space, or a
    ready `split` (e.g. one scenario's events of another split) to use it as is.
    """
    data = load_source(config) if data is None else data
    if data.report.skipped:
        logger.warning("Data loading: %s", data.report.summary())
    d = config.data
    if split is None:
        split = split_interactions(
            data.interactions, d.split, d.time_cut_quantile, d.random_test_fraction, d.split_seed
        )
    held_out = (
        validation_mask(split, config.train.seed)
        if config.train.early_stopping_patience > 0
        else np.zeros(len(split.train), bool)
    )
    if vocabulary is None:
        vocabulary = ItemVocabulary(data.catalog.item_ids, np.unique(split.train.item_ids))
        unslotted = drop_unfitted_id_slots(vocabulary, split.train.item_ids, held_out)
        if unslotted:
            logger.info(
                "%d item(s) occur only in the validation events held out for early stopping: no id row "
                "is trained for them, so they are served from their text, as cold items (and counted cold).",
                unslotted,
            )
    if context is None:
        context = ContextVocabularies.fit(split.train, data.user_features)
    train, test = train_and_test_examples(split, vocabulary, context, d.max_history)
    return ExperimentData(data, split, vocabulary, context, train, test, held_out, d.max_history)


def drop_unfitted_id_slots(vocabulary: ItemVocabulary, train_item_ids: np.ndarray, held_out: np.ndarray) -> int:
    """Sends items whose every training event is held out (validation) to the OOV slot; returns how many.

    Training never reads held-out events, so such an item's id row would stay
    at its random initialisation while the gate trusts it by its event count.
    Their slots stay allocated (unused rows), so every other item keeps its
    row and the table its shape.
    """
    indices = vocabulary.lookup(train_item_ids)  # one pass over the events (a dict lookup each)
    only_held_out = np.setdiff1d(indices[held_out], indices[~held_out])
    vocabulary.id_slots[only_held_out] = OOV_SLOT
    return len(only_held_out)


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
