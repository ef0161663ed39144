"""Next-item examples: (history before the target, target, label, context).

Built vectorised from chronologically sorted events; a history holds only
events strictly before its target: the most recent `max_history` of them,
oldest first, right-padded with PAD_INDEX (the layout cuDNN LSTMs need).
"""

import dataclasses
from typing import Dict, Optional

import numpy as np

from tfrec_llm.data.category_vocabulary import CategoryVocabulary
from tfrec_llm.data.data_split import DataSplit, chronological_order
from tfrec_llm.data.interaction_data import Interactions, UserFeatures
from tfrec_llm.data.item_vocabulary import PAD_INDEX, ItemVocabulary


@dataclasses.dataclass
class SequenceExamples:
    """Aligned example arrays (one row per target event).

    Args:
        history: int32 [n, max_history] item indices, oldest first, right-padded.
        target: int32 [n] item index of the target.
        label: float32 [n] rating / click label of the target event.
        scenario: int32 [n] scenario index (0 = unknown).
        user_features: name -> int32 [n] category index (0 = unknown).
        user_ids: str [n] external user id.
        user_activity: int32 [n] the user's number of training events.
        seen_items: int32 array of item indices; example i had
            `seen_items[seen_bounds[i, 0]:seen_bounds[i, 1]]` before its target.
        seen_bounds: int64 [n, 2].
    """

    history: np.ndarray
    target: np.ndarray
    label: np.ndarray
    scenario: np.ndarray
    user_features: Dict[str, np.ndarray]
    user_ids: np.ndarray
    user_activity: np.ndarray
    seen_items: np.ndarray
    seen_bounds: np.ndarray

    def __len__(self) -> int:
        return len(self.target)

    def features(self) -> Dict[str, np.ndarray]:
        """The model's input dict (what `tf.data` batches)."""
        features = {"history": self.history, "target": self.target, "label": self.label, "scenario": self.scenario}
        features.update({f"user_{name}": values for name, values in self.user_features.items()})
        return features

    def seen_before(self, i: int) -> np.ndarray:
        start, end = self.seen_bounds[i]
        return self.seen_items[start:end]

    def subset(self, index) -> "SequenceExamples":
        """Rows `index` (seen-item bounds keep pointing into the shared array)."""
        return SequenceExamples(
            history=self.history[index],
            target=self.target[index],
            label=self.label[index],
            scenario=self.scenario[index],
            user_features={k: v[index] for k, v in self.user_features.items()},
            user_ids=self.user_ids[index],
            user_activity=self.user_activity[index],
            seen_items=self.seen_items,
            seen_bounds=self.seen_bounds[index],
        )


@dataclasses.dataclass
class ContextVocabularies:
    """Vocabularies of the context features, fitted on training events."""

    scenarios: CategoryVocabulary
    user_features: Dict[str, CategoryVocabulary]
    user_feature_table: Optional[UserFeatures]

    @classmethod
    def fit(cls, train: Interactions, user_features: Optional[UserFeatures]) -> "ContextVocabularies":
        feature_vocabularies = {}
        if user_features is not None:
            known = np.isin(user_features.user_ids, np.unique(train.user_ids))
            for name, values in user_features.columns.items():
                feature_vocabularies[name] = CategoryVocabulary(values[known])
        return cls(CategoryVocabulary(train.scenarios), feature_vocabularies, user_features)

    def user_feature_indices(self, user_ids: np.ndarray) -> Dict[str, np.ndarray]:
        if self.user_feature_table is None:
            return {}
        table = self.user_feature_table
        order = np.argsort(table.user_ids)
        sorted_ids = table.user_ids[order]
        position = np.minimum(np.searchsorted(sorted_ids, user_ids), max(len(sorted_ids) - 1, 0))
        found = sorted_ids[position] == user_ids if len(sorted_ids) else np.zeros(len(user_ids), bool)
        indices = {}
        for name, vocab in self.user_features.items():
            values = np.where(found, table.columns[name][order][position], "")
            indices[name] = vocab.lookup(values)
        return indices


def build_examples(
    events: Interactions,
    is_example: np.ndarray,
    in_history: np.ndarray,
    vocabulary: ItemVocabulary,
    context: ContextVocabularies,
    max_history: int,
    user_activity_counts: Dict[str, int],
    positions: Optional[np.ndarray] = None,
) -> SequenceExamples:
    """Examples for the events flagged `is_example`, histories from `in_history` events.

    All arrays are aligned with `events`, which need not be sorted. Events are
    ordered by (user, timestamp, position): `positions` holds each event's place
    in the original input (default: the order of `events`), so of two events in
    the same second the one earlier in the input comes first.
    """
    order = chronological_order(events, positions)
    events = events.select(order)
    is_example = np.asarray(is_example, bool)[order]
    in_history = np.asarray(in_history, bool)[order]
    items = vocabulary.lookup(events.item_ids)

    eligible_items = items[in_history]
    eligible_before = np.cumsum(in_history) - in_history  # eligible events before each event
    new_user = np.ones(len(events), dtype=bool)
    new_user[1:] = events.user_ids[1:] != events.user_ids[:-1]
    user_start = np.maximum.accumulate(np.where(new_user, np.arange(len(events)), 0))
    first_eligible = eligible_before[user_start]  # per event: its user's first eligible position

    rows = np.flatnonzero(is_example)
    end = eligible_before[rows]
    start = first_eligible[rows]
    length = np.minimum(end - start, max_history)
    history = np.full((len(rows), max_history), PAD_INDEX, dtype=np.int32)
    for j in range(max_history):
        valid = j < length
        history[valid, j] = eligible_items[(end - length + j)[valid]]

    user_ids = events.user_ids[rows]
    activity = np.fromiter((user_activity_counts.get(u, 0) for u in user_ids.tolist()), dtype=np.int32, count=len(rows))
    return SequenceExamples(
        history=history,
        target=items[rows],
        label=events.labels[rows],
        scenario=context.scenarios.lookup(events.scenarios[rows]),
        user_features=context.user_feature_indices(user_ids),
        user_ids=user_ids,
        user_activity=activity,
        seen_items=eligible_items.astype(np.int32),
        seen_bounds=np.stack([start, end], axis=1).astype(np.int64),
    )


def train_and_test_examples(
    split: DataSplit, vocabulary: ItemVocabulary, context: ContextVocabularies, max_history: int
):
    """Training examples (every train event) and test examples (every test event).

    Test histories hold train events and, except in the "random" protocol,
    earlier test events of the same user (they precede the target in time).
    Same-second events are ordered by the split's input positions.
    """
    users, counts = np.unique(split.train.user_ids, return_counts=True)
    activity = dict(zip(users.tolist(), counts.tolist()))
    train = build_examples(
        split.train,
        np.ones(len(split.train), bool),
        np.ones(len(split.train), bool),
        vocabulary,
        context,
        max_history,
        activity,
        split.train_positions,
    )
    events = _concatenate(split.train, split.test)
    positions = np.concatenate([split.train_positions, split.test_positions])
    is_test = np.concatenate([np.zeros(len(split.train), bool), np.ones(len(split.test), bool)])
    in_history = ~is_test if split.protocol == "random" else np.ones(len(events), bool)
    test = build_examples(events, is_test, in_history, vocabulary, context, max_history, activity, positions)
    return train, test


def _concatenate(a: Interactions, b: Interactions) -> Interactions:
    return Interactions(
        *(np.concatenate([getattr(a, f.name), getattr(b, f.name)]) for f in dataclasses.fields(Interactions))
    )
