"""Tests of describe() and format_statistics() on hand-computed and real data."""

import math

import numpy as np
import pytest

from tfrec_llm.data.dataset_statistics import describe, format_statistics, top_item_share
from tfrec_llm.data.interaction_data import InteractionData, Interactions, ItemCatalog
from tiny_fixtures import SHARED_DATA

ML_100K_RATINGS = SHARED_DATA / "ml-100k" / "u.data"


def _data(users, items, catalog_items, labels=None, scenarios=None, label_kind="rating"):
    labels = np.ones(len(users)) if labels is None else labels
    return InteractionData(
        name="tiny",
        interactions=Interactions(
            user_ids=users, item_ids=items, timestamps=np.arange(len(users)), labels=labels, scenarios=scenarios
        ),
        catalog=ItemCatalog(item_ids=catalog_items, text_fields={}),
        label_kind=label_kind,
    )


@pytest.fixture
def tiny():
    # i1: 3 events, i2: 2, i3..i6: 1, i7 and i8: none. u1 has 6 events, u2 2, u3 1.
    users = ["u1"] * 6 + ["u2"] * 2 + ["u3"]
    items = ["i1", "i2", "i3", "i4", "i5", "i6", "i1", "i2", "i1"]
    scenarios = ["books"] * 4 + ["films"] * 5
    labels = [5, 4, 3, 2, 1, 4, 5, 3, 4]
    return _data(users, items, [f"i{n}" for n in range(1, 9)], labels, scenarios)


def test_describe_matches_hand_computed_values(tiny):
    stats = describe(tiny)
    assert stats["name"] == "tiny"
    assert stats["num_users"] == 3
    assert stats["num_items"] == 8
    assert stats["num_items_with_interactions"] == 6
    assert stats["num_interactions"] == 9
    assert stats["density"] == pytest.approx(9 / 24)
    # top 20% of 8 items = floor(1.6) = 1 item, holding 3 of 9 events.
    assert stats["top20_item_share"] == pytest.approx(3 / 9)
    # ascending counts 0,0,1,1,1,1,2,3, weights 2i-n-1 = -7..7: sum 31 / (8 * 9).
    assert stats["item_popularity_gini"] == pytest.approx(31 / 72)
    # descending cumulative 3,5,6,7,8: 80% of 9 = 7.2 needs 5 items.
    assert stats["head_item_count_80"] == 5
    assert stats["share_users_le5"] == pytest.approx(2 / 3)
    assert stats["share_items_le5"] == pytest.approx(1.0)
    assert stats["median_interactions_per_user"] == 2.0
    assert stats["num_scenarios"] == 2
    assert stats["interactions_per_scenario"] == {"books": 4, "films": 5}
    assert stats["rating_min"] == 1.0
    assert stats["rating_mean"] == pytest.approx(31 / 9)
    assert stats["rating_max"] == 5.0
    assert "num_cold_items" not in stats


def test_cold_items_are_counted(tiny):
    stats = describe(tiny, cold_item_ids=["i6", "i7", "i7"])
    assert stats["num_cold_items"] == 2
    assert stats["cold_item_interactions"] == 1


def test_interacted_items_missing_from_catalog_still_count():
    data = _data(["u1", "u1", "u2"], ["a", "z", "z"], ["a", "b"])
    stats = describe(data)
    assert stats["num_items"] == 3  # a, b and the uncatalogued z
    assert stats["num_items_with_interactions"] == 2
    assert stats["top20_item_share"] == pytest.approx(2 / 3)  # floor(0.6) -> 1 item


def test_click_data_reports_click_rate():
    data = _data(["u1", "u1", "u2", "u2"], ["a", "b", "a", "b"], ["a", "b"], labels=[1, 0, 0, 0], label_kind="click")
    stats = describe(data)
    assert stats["click_rate"] == pytest.approx(0.25)
    assert "rating_mean" not in stats


def test_empty_interactions_give_zeros_and_missing_ratings():
    stats = describe(_data([], [], ["a", "b"]))
    assert stats["num_users"] == 0
    assert stats["num_interactions"] == 0
    assert stats["density"] == 0.0
    assert stats["top20_item_share"] == 0.0
    assert stats["item_popularity_gini"] == 0.0
    assert stats["head_item_count_80"] == 0
    assert math.isnan(stats["rating_mean"])
    assert "n/a" in format_statistics(stats)


def test_top_share_on_uniform_counts():
    assert top_item_share(np.full(10, 7), 0.2) == pytest.approx(0.2)


def test_an_empty_catalog_without_interactions_describes_as_zeros():
    stats = describe(_data([], [], []))
    assert stats["num_items"] == 0
    assert stats["item_popularity_gini"] == 0.0
    assert stats["head_item_count_80"] == 0


def test_format_statistics_aligns_rows_and_expands_dicts(tiny):
    text = format_statistics(describe(tiny, cold_item_ids=["i7"]))
    lines = text.splitlines()
    assert len({len(line) for line in lines}) == 1  # names left, values right-aligned
    by_name = {line.split()[0]: line.split()[-1] for line in lines}
    assert by_name["interactions_per_scenario[books]"] == "4"
    assert by_name["interactions_per_scenario[films]"] == "5"
    assert by_name["top20_item_share"] == "0.3333"
    assert by_name["num_cold_items"] == "1"
    assert by_name["name"] == "tiny"


def test_format_statistics_uses_thousands_separators():
    assert format_statistics({"num_interactions": 100000}) == "num_interactions  100,000"


def test_ml_100k_statistics():
    if not ML_100K_RATINGS.exists():
        pytest.skip(f"MovieLens 100k not found at {ML_100K_RATINGS}")
    raw = np.loadtxt(ML_100K_RATINGS, dtype=np.int64, delimiter="\t")
    data = InteractionData(
        name="ml-100k",
        interactions=Interactions(
            user_ids=raw[:, 0].astype(str),
            item_ids=raw[:, 1].astype(str),
            timestamps=raw[:, 3],
            labels=raw[:, 2],
            scenarios=None,
        ),
        catalog=ItemCatalog(item_ids=np.unique(raw[:, 1]).astype(str), text_fields={}),
    )
    stats = describe(data)
    assert stats["num_users"] == 943
    assert stats["num_items"] == 1682
    assert stats["num_interactions"] == 100_000
    assert stats["top20_item_share"] == pytest.approx(0.646, abs=5e-4)
    assert stats["item_popularity_gini"] == pytest.approx(0.629, abs=5e-4)
    assert stats["head_item_count_80"] == 536
    assert stats["share_items_le5"] == pytest.approx(0.228, abs=5e-4)
    assert stats["share_users_le5"] == 0.0  # every ml-100k user has >= 20 ratings
    assert stats["rating_mean"] == pytest.approx(3.52986, abs=1e-5)
