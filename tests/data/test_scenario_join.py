"""Several sources joined as scenarios: prefixed ids, one scenario per source, union catalog."""

import dataclasses

import numpy as np
import pytest

from tfrec_llm.data.interaction_data import ItemCatalog, UserFeatures
from tfrec_llm.data.scenario_join import join_scenarios
from tiny_fixtures import make_tiny_world


def _other_world():
    """A second source whose ids collide with the tiny world's, with other text and attribute names."""
    data = make_tiny_world(num_items=8, num_users=6, seed=1)
    catalog = ItemCatalog(
        data.catalog.item_ids,
        {"description": np.full(8, "a record")},
        np.eye(8, 2, dtype=np.float32),
        ["love", "jazz"],
    )
    users = np.unique(data.interactions.user_ids)
    return dataclasses.replace(data, catalog=catalog, user_features=UserFeatures(users, {"age": np.full(6, "30")}))


def test_joined_sources_keep_every_event_with_prefixed_ids_and_their_scenario():
    tiny, other = make_tiny_world(), _other_world()
    joined = join_scenarios({"big": tiny, "small": other})
    events = joined.interactions
    assert len(events) == len(tiny.interactions) + len(other.interactions)
    assert np.unique(events.scenarios).tolist() == ["big", "small"]
    assert (events.scenarios == "small").sum() == len(other.interactions)
    # both sources have a user "u0" and an item "i0": they stay two users and two items
    assert {"big/u0", "small/u0"} <= set(events.user_ids.tolist())
    assert len(joined.catalog) == len(tiny.catalog) + 8
    texts = dict(zip(joined.catalog.item_ids.tolist(), joined.catalog.texts().tolist()))
    assert texts["small/i0"] == "a record" and texts["big/i0"].endswith("story 0")
    # attributes: the union of the names, 0 where a source has no such column
    names = joined.catalog.attribute_names
    assert names == ["space", "love", "crime", "war", "jazz"]
    row = joined.catalog.attributes[joined.catalog.item_ids.tolist().index("small/i1")]
    assert row.tolist() == [0, 0, 0, 0, 1]
    # only one source has user features: dropped, and the drop is counted
    assert joined.user_features is None
    (reason,) = joined.report.skipped
    assert "user features dropped" in reason and joined.report.skipped[reason][0] == 6


def test_joining_needs_two_named_sources_of_one_label_kind():
    tiny = make_tiny_world()
    with pytest.raises(ValueError, match="at least two sources"):
        join_scenarios({"only": tiny})
    with pytest.raises(ValueError, match="'a/b' must be non-empty and without '/'"):
        join_scenarios({"a/b": tiny, "c": tiny})
    clicks = dataclasses.replace(_other_world(), label_kind="click")
    with pytest.raises(ValueError, match="different label kinds"):
        join_scenarios({"big": tiny, "small": clicks})
