"""Tests for next-item examples: histories hold only strictly earlier events."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfrec_llm.data.data_split import DataSplit, leave_last_out, random_split, time_cut
from tfrec_llm.data.interaction_data import Interactions, UserFeatures
from tfrec_llm.data.item_vocabulary import OOV_SLOT, PAD_INDEX, ItemVocabulary
from tfrec_llm.data.sequence_examples import ContextVocabularies, build_examples, train_and_test_examples

CATALOG = np.array(["w", "x", "y", "z", "never"])  # indices w=2, x=3, y=4, z=5, never=6
W, X, Y, Z = 2, 3, 4, 5


def _events(rows, scenarios=None):
    """Interactions from (user, item, timestamp) rows; the label of row i is i."""
    users, items, timestamps = zip(*rows)
    return Interactions(users, items, timestamps, np.arange(len(rows)), scenarios)


def _examples(split, max_history, user_features=None):
    vocabulary = ItemVocabulary(CATALOG, np.unique(split.train.item_ids))
    context = ContextVocabularies.fit(split.train, user_features)
    return train_and_test_examples(split, vocabulary, context, max_history)


# User "a": x, y, z, then w (held out); user "b": y, then x (held out). Rows are not in time order.
HAND_EVENTS = _events([("a", "z", 30), ("b", "y", 5), ("a", "x", 10), ("a", "w", 40), ("a", "y", 20), ("b", "x", 15)])


def test_leave_last_out_examples_by_hand():
    train, test = _examples(leave_last_out(HAND_EVENTS), max_history=2)
    # Train examples in (user, time) order: a:x, a:y, a:z, b:y.
    assert train.target.tolist() == [X, Y, Z, Y]
    assert train.history.tolist() == [[PAD_INDEX, PAD_INDEX], [X, PAD_INDEX], [X, Y], [PAD_INDEX, PAD_INDEX]]
    assert train.label.tolist() == [2, 4, 0, 1]
    assert train.user_ids.tolist() == ["a", "a", "a", "b"]
    assert train.user_activity.tolist() == [3, 3, 3, 1]
    assert train.seen_before(2).tolist() == [X, Y]
    assert train.seen_before(3).tolist() == []
    # Test: a's history keeps its 2 most recent items, oldest first; seen items keep all 3.
    assert test.target.tolist() == [W, X]
    assert test.history.tolist() == [[Y, Z], [Y, PAD_INDEX]]
    assert test.seen_before(0).tolist() == [X, Y, Z]
    assert test.seen_before(1).tolist() == [Y]
    assert test.user_activity.tolist() == [3, 1]


def test_test_histories_include_earlier_test_events_except_in_the_random_protocol():
    # a: x@1 (test), y@2 (train), z@3 (test).
    train_events = _events([("a", "y", 2)])
    test_events = _events([("a", "x", 1), ("a", "z", 3)])
    for protocol, expected_z_history in [("time_cut", [X, Y, PAD_INDEX]), ("random", [Y, PAD_INDEX, PAD_INDEX])]:
        split = DataSplit(protocol, train_events, test_events, np.array(["x", "z"]))
        _, test = _examples(split, max_history=3)
        assert test.target.tolist() == [X, Z]
        assert test.history.tolist()[0] == [PAD_INDEX] * 3, protocol  # y comes later than x
        assert test.history.tolist()[1] == expected_z_history, protocol


def test_unknown_items_map_to_the_unknown_index():
    split = leave_last_out(_events([("a", "x", 1), ("a", "not-in-catalog", 2)]))
    _, test = _examples(split, max_history=2)
    assert test.target.tolist() == [1]


def test_context_features_are_fitted_on_training_events_only():
    events = _events(
        [("a", "x", 1), ("a", "y", 2), ("b", "x", 3), ("b", "y", 4), ("c", "z", 5), ("c", "w", 6)],
        scenarios=["web", "web", "app", "tv", "web", "web"],
    )
    users = UserFeatures(["a", "b", "c", "d"], {"age": ["18", "25", "35", "50"]})
    split = DataSplit("time_cut", events.select(np.arange(4)), events.select(np.arange(4, 6)), np.array([]))
    train, test = _examples(split, max_history=2, user_features=users)
    # Scenarios seen in train ("app", "web"; "tv" only in b's last train event) -> app=1, tv=2, web=3.
    assert train.scenario.tolist() == [3, 3, 1, 2]
    # Ages of train users only: "18"=1, "25"=2; user c ("35") is unknown in test.
    assert train.user_features["age"].tolist() == [1, 1, 2, 2]
    assert test.user_features["age"].tolist() == [0, 0]
    assert sorted(train.features()) == ["history", "label", "scenario", "target", "user_age"]


def test_subset_keeps_seen_items_pointing_into_the_shared_array():
    train, _ = _examples(leave_last_out(HAND_EVENTS), max_history=2)
    rows = train.subset(np.array([2, 0]))
    assert rows.target.tolist() == [Z, X]
    assert rows.seen_before(0).tolist() == [X, Y]
    assert len(rows) == 2


def _brute_force(events, is_example, in_history, vocabulary, max_history):
    """(targets, histories) by the definition: earlier = (timestamp, input position) before the target's.

    The input position is the event's row in the original `_events` list, which `_events` stores as its label.
    """
    n = len(events)
    key = [(events.user_ids[i], events.timestamps[i], events.labels[i]) for i in range(n)]
    order = sorted(range(n), key=lambda i: key[i])
    targets, histories = [], []
    for i in order:
        if not is_example[i]:
            continue
        earlier = [
            j for j in order if in_history[j] and events.user_ids[j] == events.user_ids[i] and key[j][1:] < key[i][1:]
        ]
        items = vocabulary.lookup(events.item_ids[earlier[max(0, len(earlier) - max_history) :]]).tolist()
        targets.append(int(vocabulary.lookup(events.item_ids[i : i + 1])[0]))
        histories.append(items + [PAD_INDEX] * (max_history - len(items)))
    return targets, histories


random_events = st.lists(
    st.tuples(st.sampled_from("uvw"), st.sampled_from(CATALOG[:4].tolist()), st.integers(0, 12)),
    min_size=2,
    max_size=30,
).map(_events)


@settings(max_examples=60, deadline=None)
@given(random_events, st.sampled_from(["leave_last_out", "time_cut", "random"]), st.integers(1, 4))
def test_histories_hold_exactly_the_latest_strictly_earlier_events(events, protocol, max_history):
    try:
        split = {
            "leave_last_out": leave_last_out,
            "time_cut": lambda e: time_cut(e, 0.6),
            "random": lambda e: random_split(e, 0.4, seed=1),
        }[protocol](events)
    except ValueError:
        return  # time_cut with all timestamps equal
    vocabulary = ItemVocabulary(CATALOG, np.unique(split.train.item_ids))
    train, test = train_and_test_examples(split, vocabulary, ContextVocabularies.fit(split.train, None), max_history)
    expected = _brute_force(
        split.train, np.ones(len(split.train), bool), np.ones(len(split.train), bool), vocabulary, max_history
    )
    assert (train.target.tolist(), train.history.tolist()) == expected
    both = Interactions(
        *(
            np.concatenate([getattr(split.train, f), getattr(split.test, f)])
            for f in ("user_ids", "item_ids", "timestamps", "labels", "scenarios")
        )
    )
    is_test = np.arange(len(both)) >= len(split.train)
    in_history = ~is_test if protocol == "random" else np.ones(len(both), bool)
    assert (test.target.tolist(), test.history.tolist()) == _brute_force(
        both, is_test, in_history, vocabulary, max_history
    )
    # No cold item ever reaches a training example, and cold items share the OOV id slot.
    cold = vocabulary.lookup(split.cold_item_ids)
    assert not np.isin(cold, train.target).any()
    assert not np.isin(cold, train.history).any()
    assert (vocabulary.id_slots[cold] == OOV_SLOT).all()


def test_random_split_history_holds_only_same_second_events_earlier_in_the_input():
    # All of a's events share one second, so the input order is their time order.
    events = _events([("a", "w", 100), ("a", "x", 100), ("a", "y", 100), ("a", "z", 100), ("b", "y", 50)])
    split = random_split(events, 0.3, seed=1)
    assert split.test.labels.tolist() == [2]  # seed 1 holds out a's "y", between train events in the input
    train, test = _examples(split, max_history=3)
    assert test.target.tolist() == [Y]
    assert test.history.tolist() == [[W, X, PAD_INDEX]]  # not z: it came after y
    assert test.seen_before(0).tolist() == [W, X]
    # Training histories follow the input order too.
    assert train.target.tolist() == [W, X, Z, Y]
    assert train.history.tolist() == [[PAD_INDEX] * 3, [W, PAD_INDEX, PAD_INDEX], [W, X, PAD_INDEX], [PAD_INDEX] * 3]


def test_leave_last_out_holds_out_the_last_same_second_event_in_the_input():
    # a's latest second (9) holds x then y; w (5) and z (7) come later in the input but earlier in time.
    events = _events([("a", "x", 9), ("a", "y", 9), ("a", "w", 5), ("a", "z", 7)])
    train, test = _examples(leave_last_out(events), max_history=4)
    assert test.target.tolist() == [Y]
    assert test.history.tolist() == [[W, Z, X, PAD_INDEX]]
    assert train.target.tolist() == [W, Z, X]
    assert train.history.tolist()[2] == [W, Z, PAD_INDEX, PAD_INDEX]


def test_build_examples_orders_same_second_events_by_the_given_positions():
    events = _events([("a", "x", 1), ("a", "y", 1), ("a", "z", 1)])
    vocabulary = ItemVocabulary(CATALOG, CATALOG)
    context = ContextVocabularies.fit(events, None)
    examples = build_examples(
        events, np.ones(3, bool), np.ones(3, bool), vocabulary, context, 2, {}, positions=np.array([2, 0, 1])
    )  # the input order was y, z, x
    assert examples.target.tolist() == [Y, Z, X]
    assert examples.history.tolist() == [[PAD_INDEX, PAD_INDEX], [Y, PAD_INDEX], [Y, Z]]


def test_build_examples_accepts_unsorted_events_and_masks():
    vocabulary = ItemVocabulary(CATALOG, CATALOG)
    context = ContextVocabularies.fit(HAND_EVENTS, None)
    # Only user a's last event is an example; only x and z may enter histories.
    is_example = np.array([False, False, False, True, False, False])
    in_history = np.array([True, False, True, False, False, False])
    examples = build_examples(HAND_EVENTS, is_example, in_history, vocabulary, context, 3, {"a": 7})
    assert examples.target.tolist() == [W]
    assert examples.history.tolist() == [[X, Z, PAD_INDEX]]
    assert examples.user_activity.tolist() == [7]


@pytest.mark.parametrize("max_history", [1, 5])
def test_history_shape_follows_max_history(max_history):
    train, test = _examples(leave_last_out(HAND_EVENTS), max_history)
    assert train.history.shape == (4, max_history)
    assert test.history.shape == (2, max_history)
    assert train.history.dtype == np.int32
