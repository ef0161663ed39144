"""Per-position training sequences: one pass over a history, a target at every position.

Strong sequential recommenders (GRU4Rec, SASRec) train on each user's
sequence once, predicting the next item at every position, instead of
re-reading a sliding window per target. Each user's chronological training
events are cut, from the most recent backwards, into windows of at most
`max_history` targets; position p of a window reads the window's items
0..p and predicts item p+1. Every training event except each user's first
is a target exactly once. Rows are right-padded with PAD_INDEX.

With `empty_history_targets`, each user's first event is a target too,
predicted from an empty history (`first_items`, one per row: on the row of
the user's earliest window, PAD_INDEX on the others; a user with a single
event gets a row with only that target). That trains the state a user
without history is served from (new users, histories of unknown ids),
which the per-position targets never reach: position 0 always reads an item.

Example:
    sequences = build_training_sequences(split.train, vocabulary, context, max_history=50)
    dataset = tf.data.Dataset.from_tensor_slices(sequences.features())
"""

import dataclasses
from typing import Dict, Optional

import numpy as np

from tfrec_llm.data.data_split import chronological_order
from tfrec_llm.data.interaction_data import Interactions
from tfrec_llm.data.item_vocabulary import PAD_INDEX, ItemVocabulary
from tfrec_llm.data.sequence_examples import ContextVocabularies


@dataclasses.dataclass
class TrainingSequences:
    """Aligned per-position arrays, one row per window.

    Args:
        inputs: int32 [n, L] item indices read at each position.
        next_items: int32 [n, L] the item that followed each position
            (PAD_INDEX where the row has no position).
        next_labels: float32 [n, L] rating / click label of that event.
        scenario: int32 [n, L] scenario index of that event.
        user_features: name -> int32 [n] category index of the row's user.
        first_items: int32 [n] the user's first event, predicted from an
            empty history, on the row of the user's earliest window
            (PAD_INDEX elsewhere); None without empty-history targets.
        first_labels, first_scenario: that event's label and scenario index.
    """

    inputs: np.ndarray
    next_items: np.ndarray
    next_labels: np.ndarray
    scenario: np.ndarray
    user_features: Dict[str, np.ndarray]
    first_items: Optional[np.ndarray] = None
    first_labels: Optional[np.ndarray] = None
    first_scenario: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.inputs)

    @property
    def num_targets(self) -> int:
        return count_targets(self.features())

    def features(self) -> Dict[str, np.ndarray]:
        """The model's per-position input dict (what `tf.data` batches)."""
        features = {
            "sequence": self.inputs,
            "next_items": self.next_items,
            "next_labels": self.next_labels,
            "scenario": self.scenario,
        }
        features.update({f"user_{name}": values for name, values in self.user_features.items()})
        if self.first_items is not None:
            features.update(
                {
                    "first_items": self.first_items,
                    "first_labels": self.first_labels,
                    "first_scenario": self.first_scenario,
                }
            )
        return features

    def select(self, rows: np.ndarray) -> "TrainingSequences":
        """These rows only (every per-row array indexed by `rows`)."""
        return TrainingSequences(
            **{field.name: _rows_of(getattr(self, field.name), rows) for field in dataclasses.fields(self)}
        )


def _rows_of(value, rows):
    if value is None:
        return None
    if isinstance(value, dict):
        return {name: array[rows] for name, array in value.items()}
    return value[rows]


def count_targets(features: Dict[str, np.ndarray]) -> int:
    """Training targets in per-position `features`: every real position, plus the empty-history ones."""
    count = int((np.asarray(features["next_items"]) != PAD_INDEX).sum())
    if "first_items" in features:
        count += int((np.asarray(features["first_items"]) != PAD_INDEX).sum())
    return count


def build_training_sequences(
    events: Interactions,
    vocabulary: ItemVocabulary,
    context: ContextVocabularies,
    max_history: int,
    empty_history_targets: bool = False,
) -> TrainingSequences:
    """Windows of every user's events (need not be sorted); see the module docstring."""
    if max_history < 1:
        raise ValueError(f"max_history must be >= 1, got {max_history}.")
    events = events.select(chronological_order(events))
    items = vocabulary.lookup(events.item_ids)
    scenarios = context.scenarios.lookup(events.scenarios)
    n = len(events)
    new_user = np.ones(n, dtype=bool)
    new_user[1:] = events.user_ids[1:] != events.user_ids[:-1]
    user_start = np.flatnonzero(new_user)
    user_end = np.append(user_start[1:], n)
    num_targets = user_end - user_start - 1  # every event but the first is a target
    windows_per_user = -(-np.maximum(num_targets, 0) // max_history)
    if empty_history_targets:
        windows_per_user = np.maximum(windows_per_user, 1)  # a single-event user's row holds its first target

    # Window w of a user covers targets [end - (w+1)L, end - wL), clipped at the user's second event.
    owner = np.repeat(np.arange(len(user_start)), windows_per_user)
    rank = np.arange(len(owner)) - np.repeat(np.cumsum(windows_per_user) - windows_per_user, windows_per_user)
    target_end = user_end[owner] - rank * max_history
    target_start = np.maximum(user_start[owner] + 1, target_end - max_history)
    order = np.argsort(target_start, kind="stable")  # rows in event order: users, then time
    target_start, target_end, owner, rank = target_start[order], target_end[order], owner[order], rank[order]

    positions = np.arange(max_history)
    valid = positions[np.newaxis, :] < (target_end - target_start)[:, np.newaxis]
    target_index = np.where(valid, target_start[:, np.newaxis] + positions, 0)
    first = {}
    if empty_history_targets:
        earliest = rank == windows_per_user[owner] - 1
        first_event = user_start[owner]
        first = {
            "first_items": np.where(earliest, items[first_event], PAD_INDEX).astype(np.int32),
            "first_labels": np.where(earliest, events.labels[first_event], 0.0).astype(np.float32),
            "first_scenario": np.where(earliest, scenarios[first_event], 0).astype(np.int32),
        }
    return TrainingSequences(
        inputs=np.where(valid, items[np.maximum(target_index - 1, 0)], PAD_INDEX).astype(np.int32),
        next_items=np.where(valid, items[target_index], PAD_INDEX).astype(np.int32),
        next_labels=np.where(valid, events.labels[target_index], 0.0).astype(np.float32),
        scenario=np.where(valid, scenarios[target_index], 0).astype(np.int32),
        user_features=context.user_feature_indices(events.user_ids[user_start[owner]]),
        **first,
    )
