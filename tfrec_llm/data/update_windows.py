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


def update_sequences(
    events: Interactions,
    is_new: np.ndarray,
    vocabulary: ItemVocabulary,
    context: ContextVocabularies,
    max_history: int,
    replay_ratio: float,
    seed: int = 0,
    empty_history_targets: bool = False,
) -> Tuple[TrainingSequences, int, int]:
    """(windows, how many hold new events, how many are replayed); see the module docstring.

    Args:
        events: every known event, old and new (any order).
        is_new: bool [len(events)], the update's new events.
        vocabulary, context, max_history: as `build_training_sequences`.
        replay_ratio: replayed windows per window with a new event.
        seed: seeds the replay sample.
        empty_history_targets: as `build_training_sequences` (a new user's
            first event is then a new target of its earliest window).
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
    sequences = build_training_sequences(numbered, vocabulary, context, max_history, empty_history_targets)
    valid = sequences.next_items != PAD_INDEX
    event = sequences.next_labels.astype(np.int64)
    sequences.next_labels = np.where(valid, events.labels[event], 0.0).astype(np.float32)
    holds_new = (valid & is_new[event]).any(axis=1)
    if empty_history_targets:
        first_valid = sequences.first_items != PAD_INDEX
        first_event = sequences.first_labels.astype(np.int64)
        sequences.first_labels = np.where(first_valid, events.labels[first_event], 0.0).astype(np.float32)
        holds_new |= first_valid & is_new[first_event]
    new_rows, others = np.flatnonzero(holds_new), np.flatnonzero(~holds_new)
    count = min(len(others), int(round(replay_ratio * len(new_rows))))
    replayed = np.sort(np.random.default_rng(seed).choice(others, count, replace=False))
    rows = np.sort(np.concatenate([new_rows, replayed]))
    return sequences.select(rows), len(new_rows), len(replayed)
