"""Per-position training windows of an update: every window with a new event, plus replayed ones.

An update trains on its new events, each read with its user's full history,
older events included. `update_sequences` cuts every user's events into the
usual windows (`build_training_sequences`: from the most recent backwards,
at most `max_history` targets each) and keeps:
- every window holding a new event as a target (new events come last in a
  user's timeline, so these are the active users' most recent windows;
  their older positions are trained again too);
- a uniform sample of the other windows, `replay_ratio` per kept window:
  the replay against forgetting. Whole windows are replayed because a
  window costs the same whatever share of its positions are targets.

Example:
    sequences, new_rows, replayed = update_sequences(events, is_new, vocabulary, context, 50, 1.0, seed=0)
"""

from typing import Tuple

import numpy as np

from tfrec_llm.data.interaction_data import Interactions
from tfrec_llm.data.item_vocabulary import PAD_INDEX, ItemVocabulary
from tfrec_llm.data.sequence_examples import ContextVocabularies
from tfrec_llm.data.training_sequences import TrainingSequences, build_training_sequences

# Event numbers travel through the float32 label column: exact below 2**24.
MAX_EVENTS = 2**24


def _select(sequences: TrainingSequences, rows: np.ndarray, labels: np.ndarray) -> TrainingSequences:
    return TrainingSequences(
        inputs=sequences.inputs[rows],
        next_items=sequences.next_items[rows],
        next_labels=labels[rows].astype(np.float32),
        scenario=sequences.scenario[rows],
        user_features={k: v[rows] for k, v in sequences.user_features.items()},
    )


def update_sequences(
    events: Interactions,
    is_new: np.ndarray,
    vocabulary: ItemVocabulary,
    context: ContextVocabularies,
    max_history: int,
    replay_ratio: float,
    seed: int = 0,
) -> Tuple[TrainingSequences, int, int]:
    """(windows, how many hold new events, how many are replayed); see the module docstring.

    Args:
        events: every known event, old and new (any order).
        is_new: bool [len(events)], the update's new events.
        vocabulary, context, max_history: as `build_training_sequences`.
        replay_ratio: replayed windows per window with a new event.
        seed: seeds the replay sample.
    """
    is_new = np.asarray(is_new, bool)
    if is_new.shape != (len(events),):
        raise ValueError(f"is_new has shape {is_new.shape} for {len(events)} events.")
    if len(events) >= MAX_EVENTS:
        raise ValueError(f"update_sequences handles at most {MAX_EVENTS - 1} events, got {len(events)}.")
    numbered = Interactions(
        events.user_ids, events.item_ids, events.timestamps, np.arange(len(events), dtype=np.float32), events.scenarios
    )
    # The label column carries each event's number through the windowing; real labels are put back below.
    sequences = build_training_sequences(numbered, vocabulary, context, max_history)
    valid = sequences.next_items != PAD_INDEX
    event = sequences.next_labels.astype(np.int64)
    labels = np.where(valid, events.labels[event], 0.0)
    holds_new = (valid & is_new[event]).any(axis=1)
    new_rows, others = np.flatnonzero(holds_new), np.flatnonzero(~holds_new)
    count = min(len(others), int(round(replay_ratio * len(new_rows))))
    replayed = np.sort(np.random.default_rng(seed).choice(others, count, replace=False))
    rows = np.sort(np.concatenate([new_rows, replayed]))
    return _select(sequences, rows, labels), len(new_rows), len(replayed)
