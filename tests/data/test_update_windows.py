"""Tests for an update's windows: new events kept, real labels restored, new users' first events trained."""

import numpy as np

from tfrec_llm.data.interaction_data import Interactions
from tfrec_llm.data.item_vocabulary import PAD_INDEX, ItemVocabulary
from tfrec_llm.data.sequence_examples import ContextVocabularies
from tfrec_llm.data.update_windows import update_sequences

CATALOG = np.array(["v", "w", "x", "y", "z"])  # indices v=2 ... z=6
V, W, X, Y, Z = 2, 3, 4, 5, 6


def _update(rows, is_new, replay_ratio=0.0, empty_history_targets=False):
    users, items, timestamps, labels = zip(*rows)
    events = Interactions(users, items, timestamps, np.array(labels, np.float32), None)
    context = ContextVocabularies.fit(events, None)
    return update_sequences(
        events, np.array(is_new), ItemVocabulary(CATALOG, CATALOG), context, 2, replay_ratio, 0, empty_history_targets
    )


ROWS = [
    ("a", "v", 1, 4.0),
    ("a", "w", 2, 3.0),
    ("a", "x", 3, 5.0),
    ("a", "y", 4, 1.0),
    ("b", "z", 1, 2.0),  # b: one old event
    ("c", "x", 5, 4.5),  # c: a new user with one event
]


def test_rows_with_new_events_are_kept_with_their_real_labels():
    sequences, new_rows, replayed = _update(ROWS, [False, False, False, True, False, False])
    assert (new_rows, replayed) == (1, 0)
    assert sequences.next_items.tolist() == [[X, Y]]
    assert sequences.next_labels.tolist() == [[5.0, 1.0]]


def test_a_new_users_first_event_is_a_new_target_from_an_empty_history():
    is_new = [False, False, False, False, False, True]
    sequences, new_rows, _ = _update(ROWS, is_new)
    assert new_rows == 0  # without empty-history targets, a single new event of a new user trains nothing
    sequences, new_rows, _ = _update(ROWS, is_new, empty_history_targets=True)
    assert new_rows == 1
    assert sequences.first_items.tolist() == [X] and sequences.first_labels.tolist() == [4.5]
    assert (sequences.next_items == PAD_INDEX).all()
