"""Tests for per-position training sequences: every target once, each position reads only earlier items."""

import numpy as np
import pytest

from tfrec_llm.data.interaction_data import Interactions, UserFeatures
from tfrec_llm.data.item_vocabulary import PAD_INDEX, ItemVocabulary
from tfrec_llm.data.sequence_examples import ContextVocabularies
from tfrec_llm.data.training_sequences import build_training_sequences

CATALOG = np.array(["v", "w", "x", "y", "z"])  # indices v=2 ... z=6
V, W, X, Y, Z = 2, 3, 4, 5, 6


def _sequences(rows, max_history, user_features=None):
    users, items, timestamps = zip(*rows)
    events = Interactions(users, items, timestamps, np.arange(len(rows), dtype=np.float32), None)
    vocabulary = ItemVocabulary(CATALOG, CATALOG)
    return build_training_sequences(events, vocabulary, ContextVocabularies.fit(events, user_features), max_history)


def test_windows_by_hand():
    # a: v w x y z (shuffled rows); b: w x; c: a single event, no target.
    rows = [
        ("a", "x", 3),
        ("b", "w", 1),
        ("a", "v", 1),
        ("c", "y", 9),
        ("a", "z", 5),
        ("a", "w", 2),
        ("b", "x", 2),
        ("a", "y", 4),
    ]
    sequences = _sequences(rows, max_history=3)
    # a's 4 targets, latest window first: [x y z] read [w x y]; then [w] read [v]. b: [x] read [w].
    assert sequences.inputs.tolist() == [[V, 0, 0], [W, X, Y], [W, 0, 0]]
    assert sequences.next_items.tolist() == [[W, 0, 0], [X, Y, Z], [X, 0, 0]]
    assert sequences.next_labels.tolist() == [[5, 0, 0], [0, 7, 4], [6, 0, 0]]
    assert sequences.num_targets == 5  # 8 events - 3 users' first events


def test_every_target_once_and_inputs_precede_targets():
    rng = np.random.default_rng(0)
    rows = [(f"u{rng.integers(20)}", str(rng.choice(CATALOG)), int(t)) for t in rng.permutation(300)]
    sequences = _sequences(rows, max_history=7)
    users = np.array([r[0] for r in rows])
    assert sequences.num_targets == len(rows) - len(np.unique(users))
    valid = sequences.next_items != PAD_INDEX
    # Right-padded: valid positions are a prefix of each row.
    assert np.all(valid[:, :-1] >= valid[:, 1:])
    # Position p reads the item that came just before its target: input[p + 1] == target[p].
    both = valid[:, 1:]
    np.testing.assert_array_equal(sequences.inputs[:, 1:][both], sequences.next_items[:, :-1][both])


def test_user_features_follow_each_row_and_scenarios_each_position():
    rows = [("a", "v", 1), ("a", "w", 2), ("b", "x", 1), ("b", "y", 2)]
    users, items, timestamps = zip(*rows)
    events = Interactions(users, items, timestamps, np.ones(4, np.float32), ["s1", "s2", "s1", "s1"])
    features = UserFeatures(np.array(["a", "b"]), {"age": np.array(["young", "old"])})
    context = ContextVocabularies.fit(events, features)
    sequences = build_training_sequences(events, ItemVocabulary(CATALOG, CATALOG), context, max_history=2)
    ages = context.user_features["age"].lookup(np.array(["young", "old"]))
    assert sequences.user_features["age"].tolist() == ages.tolist()
    assert sequences.scenario[:, 0].tolist() == context.scenarios.lookup(np.array(["s2", "s1"])).tolist()
    assert set(sequences.features()) == {"sequence", "next_items", "next_labels", "scenario", "user_age"}


def test_bad_window_length_is_refused():
    with pytest.raises(ValueError, match="max_history"):
        _sequences([("a", "v", 1), ("a", "w", 2)], max_history=0)


def _first_sequences(rows, max_history):
    users, items, timestamps = zip(*rows)
    events = Interactions(users, items, timestamps, np.arange(len(rows), dtype=np.float32), None)
    context = ContextVocabularies.fit(events, None)
    return build_training_sequences(events, ItemVocabulary(CATALOG, CATALOG), context, max_history, True)


def test_empty_history_targets_by_hand():
    # a: v w x y z; b: w x; c: y alone. Each user's first event is predicted from nothing, on its earliest row.
    rows = [("a", "x", 3), ("b", "w", 1), ("a", "v", 1), ("c", "y", 9), ("a", "z", 5), ("a", "w", 2)]
    rows += [("b", "x", 2), ("a", "y", 4)]
    sequences = _first_sequences(rows, max_history=3)
    assert sequences.inputs.tolist() == [[V, 0, 0], [W, X, Y], [W, 0, 0], [0, 0, 0]]
    assert sequences.next_items.tolist() == [[W, 0, 0], [X, Y, Z], [X, 0, 0], [0, 0, 0]]
    assert sequences.first_items.tolist() == [V, 0, W, Y]  # a's later row has none; c's row only this one
    assert sequences.first_labels.tolist() == [2, 0, 1, 3]
    assert sequences.num_targets == 8  # every event once
    features = sequences.features()
    assert {"first_items", "first_labels", "first_scenario"} <= set(features)
    assert "first_items" not in _sequences(rows, max_history=3).features()


def test_with_empty_history_targets_every_event_is_a_target_once():
    rng = np.random.default_rng(1)
    rows = [(f"u{rng.integers(30)}", str(rng.choice(CATALOG)), int(t)) for t in rng.permutation(200)]
    sequences = _first_sequences(rows, max_history=4)
    event_numbers = np.concatenate(
        [sequences.next_labels[sequences.next_items != PAD_INDEX], sequences.first_labels[sequences.first_items != 0]]
    )
    assert sorted(event_numbers.astype(int).tolist()) == list(range(len(rows)))
    # The per-position targets are those of the plain windows: the first targets add one per user.
    plain = _sequences(rows, max_history=4)
    assert sequences.num_targets == plain.num_targets + len({r[0] for r in rows})


def test_select_keeps_rows_of_every_array():
    rows = [("a", "v", 1), ("a", "w", 2), ("b", "x", 1)]
    sequences = _first_sequences(rows, max_history=2)
    picked = sequences.select(np.array([1]))
    assert picked.first_items.tolist() == [X] and picked.next_items.tolist() == [[0, 0]]
    assert len(picked) == 1
