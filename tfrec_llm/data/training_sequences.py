"""Per-position training sequences: one pass over a history, a target at every position.

Strong sequential recommenders (GRU4Rec, SASRec) train on each user's
sequence once, predicting the next item at every position, instead of
re-reading a sliding window per target. Each user's chronological training
events are cut, from the most recent backwards, into windows of at most
`max_history` targets; position p of a window reads the window's items
0..p and predicts item p+1. Every training event except each user's first
is a target exactly once. Rows are right-padded with PAD_INDEX.

Example:
    sequences = build_training_sequences(split.train, vocabulary, context, max_history=50)
    dataset = tf.data.Dataset.from_tensor_slices(sequences.features())
"""

import dataclasses
from typing import Dict

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
    """

    inputs: np.ndarray
    next_items: np.ndarray
    next_labels: np.ndarray
    scenario: np.ndarray
    user_features: Dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.inputs)

    @property
    def num_targets(self) -> int:
        return int((self.next_items != PAD_INDEX).sum())

    def features(self) -> Dict[str, np.ndarray]:
        """The model's per-position input dict (what `tf.data` batches)."""
        features = {
            "sequence": self.inputs,
            "next_items": self.next_items,
            "next_labels": self.next_labels,
            "scenario": self.scenario,
        }
        features.update({f"user_{name}": values for name, values in self.user_features.items()})
        return features


def build_training_sequences(
    events: Interactions, vocabulary: ItemVocabulary, context: ContextVocabularies, max_history: int
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

    # Window w of a user covers targets [end - (w+1)L, end - wL), clipped at the user's second event.
    owner = np.repeat(np.arange(len(user_start)), windows_per_user)
    rank = np.arange(len(owner)) - np.repeat(np.cumsum(windows_per_user) - windows_per_user, windows_per_user)
    target_end = user_end[owner] - rank * max_history
    target_start = np.maximum(user_start[owner] + 1, target_end - max_history)
    order = np.argsort(target_start, kind="stable")  # rows in event order: users, then time
    target_start, target_end, owner = target_start[order], target_end[order], owner[order]

    positions = np.arange(max_history)
    valid = positions[np.newaxis, :] < (target_end - target_start)[:, np.newaxis]
    target_index = np.where(valid, target_start[:, np.newaxis] + positions, 0)
    return TrainingSequences(
        inputs=np.where(valid, items[np.maximum(target_index - 1, 0)], PAD_INDEX).astype(np.int32),
        next_items=np.where(valid, items[target_index], PAD_INDEX).astype(np.int32),
        next_labels=np.where(valid, events.labels[target_index], 0.0).astype(np.float32),
        scenario=np.where(valid, scenarios[target_index], 0).astype(np.int32),
        user_features=context.user_feature_indices(events.user_ids[user_start[owner]]),
    )
