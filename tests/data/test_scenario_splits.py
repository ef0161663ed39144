"""Single-scenario and scenario-blind splits derived from one split."""

import numpy as np
import pytest

from tfrec_llm.data.data_split import split_interactions
from tfrec_llm.data.interaction_data import Interactions
from tfrec_llm.data.scenario_splits import scenario_blind_split, scenario_names, scenario_split


def _events():
    # u0 and u1 each have events in both scenarios; u2 only in "small".
    users = ["u0", "u0", "u0", "u1", "u1", "u1", "u2", "u2"]
    items = ["a", "b", "x", "c", "y", "d", "x", "z"]
    scenarios = ["big", "big", "small", "big", "small", "big", "small", "small"]
    timestamps = [1, 2, 3, 1, 2, 3, 1, 2]
    return Interactions(users, items, timestamps, np.ones(8), scenarios)


def test_scenario_split_keeps_only_that_scenarios_events_and_their_positions():
    split = split_interactions(_events(), "leave_last_out")
    small = scenario_split(split, "small")
    assert set(small.train.scenarios) <= {"small"} and set(small.test.scenarios) == {"small"}
    # the test events are exactly the original split's "small" test events (u0's and u2's last), same positions
    assert small.test.user_ids.tolist() == ["u0", "u2"] and small.test.item_ids.tolist() == ["x", "z"]
    assert small.test_positions.tolist() == split.test_positions[split.test.scenarios == "small"].tolist()
    assert sorted(small.train.item_ids.tolist()) == ["x", "y"]  # u2's first, u1's middle event
    assert small.cold_item_ids.tolist() == ["z"]


def test_scenario_split_big_holds_the_big_test_events_only():
    split = split_interactions(_events(), "leave_last_out")
    big = scenario_split(split, "big")
    assert big.test.item_ids.tolist() == ["d"]  # u1's last; u0's last ("x") is a "small" event
    assert "x" not in big.train.item_ids.tolist() and sorted(big.train.item_ids.tolist()) == ["a", "b", "c"]


def test_scenario_without_test_events_is_a_clear_error():
    split = split_interactions(_events(), "leave_last_out")
    with pytest.raises(ValueError, match="scenario 'music' has no test event.*big, small"):
        scenario_split(split, "music")


def test_blind_split_has_the_same_events_with_one_scenario():
    split = split_interactions(_events(), "leave_last_out")
    blind = scenario_blind_split(split, "all")
    assert scenario_names(split).tolist() == ["big", "small"]
    assert scenario_names(blind).tolist() == ["all"] and set(blind.train.scenarios) == {"all"}
    assert blind.test.item_ids.tolist() == split.test.item_ids.tolist()
    assert blind.train_positions.tolist() == split.train_positions.tolist()
    assert split.test.scenarios.tolist() != ["all"] * len(split.test)  # the original is untouched
