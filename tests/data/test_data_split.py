"""Tests for the leak-free train/test splits."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfrec_llm.data.data_split import (
    DataSplit,
    chronological_order,
    leave_last_out,
    random_split,
    split_interactions,
    time_cut,
)
from tfrec_llm.data.interaction_data import Interactions


def _events(rows):
    """Interactions from (user, item, timestamp) rows; labels are the row positions."""
    users, items, timestamps = zip(*rows)
    return Interactions(users, items, timestamps, np.arange(len(rows)), None)


def _rows(interactions):
    return sorted(zip(interactions.user_ids.tolist(), interactions.item_ids.tolist(), interactions.timestamps.tolist()))


# Three users; "c" has a single event; "a"'s events arrive out of order.
EVENTS = _events(
    [
        ("a", "x", 30),
        ("b", "x", 5),
        ("a", "y", 10),
        ("c", "z", 7),
        ("a", "z", 20),
        ("b", "w", 50),
    ]
)

random_interactions = st.lists(
    st.tuples(st.sampled_from("uvw"), st.sampled_from(["i1", "i2", "i3", "i4", "i5"]), st.integers(0, 20)),
    min_size=1,
    max_size=40,
).map(_events)


def test_chronological_order_sorts_by_user_then_time_then_position():
    events = _events([("b", "x", 1), ("a", "y", 5), ("a", "z", 5), ("a", "w", 2)])
    assert chronological_order(events).tolist() == [3, 1, 2, 0]


def test_leave_last_out_puts_each_users_latest_event_in_test():
    split = leave_last_out(EVENTS)
    assert _rows(split.test) == [("a", "x", 30), ("b", "w", 50)]
    assert _rows(split.train) == [("a", "y", 10), ("a", "z", 20), ("b", "x", 5), ("c", "z", 7)]
    assert split.protocol == "leave_last_out"
    assert split.cold_item_ids.tolist() == ["w"]
    assert split.excludes_seen_items


def test_leave_last_out_breaks_timestamp_ties_by_original_position():
    split = leave_last_out(_events([("a", "first", 3), ("a", "second", 3)]))
    assert split.test.item_ids.tolist() == ["second"]
    assert split.train.item_ids.tolist() == ["first"]


@settings(max_examples=60, deadline=None)
@given(random_interactions)
def test_leave_last_out_holds_out_exactly_one_latest_event_per_multi_event_user(events):
    split = leave_last_out(events)
    users, counts = np.unique(events.user_ids, return_counts=True)
    test_users, test_counts = np.unique(split.test.user_ids, return_counts=True)
    assert test_users.tolist() == users[counts >= 2].tolist()
    assert set(test_counts.tolist()) <= {1}
    assert len(split.train) + len(split.test) == len(events)
    for user, timestamp in zip(split.test.user_ids, split.test.timestamps):
        assert timestamp >= split.train.timestamps[split.train.user_ids == user].max()


def test_time_cut_splits_at_the_higher_quantile_timestamp():
    events = _events([("a", f"i{t}", t) for t in range(1, 11)])
    split = time_cut(events, 0.8)  # quantile "higher" of 1..10 at 0.8 is 9
    assert sorted(split.test.timestamps.tolist()) == [9, 10]
    assert sorted(split.train.timestamps.tolist()) == list(range(1, 9))
    assert split.cold_item_ids.tolist() == ["i10", "i9"]


def test_time_cut_puts_every_event_at_the_cut_timestamp_in_test():
    events = _events([("a", "x", 1), ("b", "y", 2), ("c", "z", 2), ("d", "w", 2)])
    split = time_cut(events, 0.5)  # cut = 2
    assert split.train.timestamps.tolist() == [1]
    assert sorted(split.test.timestamps.tolist()) == [2, 2, 2]


@pytest.mark.parametrize("timestamps, quantile", [((1, 2, 3), 0.0), ((4, 4, 4), 0.5)])
def test_time_cut_refuses_to_put_every_event_in_test(timestamps, quantile):
    events = _events([(user, "x", t) for user, t in zip("abc", timestamps)])
    with pytest.raises(ValueError, match="puts 3 of 3 events in test"):
        time_cut(events, quantile)


@settings(max_examples=60, deadline=None)
@given(random_interactions, st.sampled_from([0.3, 0.5, 0.8]))
def test_time_cut_never_lets_a_cold_item_or_a_future_event_into_train(events, quantile):
    try:
        split = time_cut(events, quantile)
    except ValueError:
        return  # all timestamps equal: refused, tested above
    assert split.train.timestamps.max() < split.test.timestamps.min()
    assert not np.isin(split.cold_item_ids, split.train.item_ids).any()
    assert np.isin(split.cold_item_ids, split.test.item_ids).all()
    assert sorted(_rows(split.train) + _rows(split.test)) == _rows(events)


def test_random_split_is_seeded_and_partitions_the_events():
    events = _events([(f"u{i % 7}", f"i{i % 11}", i) for i in range(200)])
    first = random_split(events, 0.25, seed=3)
    again = random_split(events, 0.25, seed=3)
    other = random_split(events, 0.25, seed=4)
    assert _rows(first.test) == _rows(again.test)
    assert _rows(first.test) != _rows(other.test)
    assert sorted(_rows(first.train) + _rows(first.test)) == _rows(events)
    assert 30 <= len(first.test) <= 70  # ~50 of 200
    assert first.protocol == "random"
    assert not first.excludes_seen_items


def test_chronological_order_breaks_ties_by_the_given_positions():
    events = _events([("a", "x", 5), ("a", "y", 5), ("a", "z", 1)])
    assert chronological_order(events, np.array([7, 3, 9])).tolist() == [2, 1, 0]


def test_random_split_keeps_the_input_order_of_same_second_events():
    events = _events([("a", "w", 100), ("a", "x", 100), ("a", "y", 100), ("a", "z", 100), ("b", "y", 50)])
    split = random_split(events, 0.3, seed=1)
    assert split.test_positions.tolist() == [2]  # a's "y", between train events in the input
    assert split.train_positions.tolist() == [0, 1, 3, 4]


@settings(max_examples=60, deadline=None)
@given(random_interactions, st.sampled_from(["leave_last_out", "time_cut", "random"]))
def test_split_positions_point_back_to_the_input_events(events, protocol):
    try:
        split = split_interactions(events, protocol, time_cut_quantile=0.6, random_test_fraction=0.4, seed=2)
    except ValueError:
        return  # time_cut with all timestamps equal
    # `_events` labels each event with its input position.
    assert split.train_positions.tolist() == split.train.labels.astype(int).tolist()
    assert split.test_positions.tolist() == split.test.labels.astype(int).tolist()
    assert sorted(np.concatenate([split.train_positions, split.test_positions]).tolist()) == list(range(len(events)))


def test_hand_built_split_defaults_to_train_then_test_positions():
    split = DataSplit("random", EVENTS.select(np.arange(4)), EVENTS.select(np.arange(4, 6)), np.array([]))
    assert split.train_positions.tolist() == [0, 1, 2, 3]
    assert split.test_positions.tolist() == [4, 5]
    with pytest.raises(ValueError, match="test_positions has shape \\(1,\\) for 2 test events"):
        DataSplit(
            "random",
            EVENTS.select(np.arange(4)),
            EVENTS.select(np.arange(4, 6)),
            np.array([]),
            test_positions=np.array([4]),
        )


def test_split_interactions_dispatches_on_the_protocol_name():
    assert split_interactions(EVENTS, "leave_last_out").protocol == "leave_last_out"
    assert split_interactions(EVENTS, "time_cut", time_cut_quantile=0.5).protocol == "time_cut"
    assert split_interactions(EVENTS, "random", random_test_fraction=0.5, seed=1).protocol == "random"
    with pytest.raises(ValueError, match="Unknown split protocol 'by_day'"):
        split_interactions(EVENTS, "by_day")


@pytest.mark.parametrize("split", [leave_last_out, time_cut, random_split])
def test_splits_refuse_empty_interactions(split):
    with pytest.raises(ValueError, match="empty set of interactions"):
        split(_events([("a", "x", 1)]).select(np.zeros(1, bool)))
