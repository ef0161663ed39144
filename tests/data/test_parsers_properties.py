"""Robustness of the file loaders: nothing lost silently, nothing crashes.

Hand-written regressions first, then property-based tests.
"""

import numpy as np
import pandas as pd

from tfrec_llm.data.tabular_files import TabularColumns, load_tabular_files

ITEMS_CSV = "item_id,title\na,Alpha\nb,Beta\n"


def _write(folder, name, content):
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return str(path)


def test_timestamps_beyond_int64_are_dropped_not_wrapped(tmp_path):
    events = (
        "user_id,item_id,timestamp\n"
        "u1,a,1e30\n"
        "u1,b,99999999999999999999999\n"
        "u1,a,-1e30\n"
        "u1,b,18446744073709551615\n"  # uint64 max: pandas reads it as uint64
        "u1,a,9223372036854775807\n"  # int64 max: kept exactly
        "u1,b,1.5\n"
    )
    events_path = _write(tmp_path, "events.csv", events)

    data = load_tabular_files(events_path, _write(tmp_path, "items.csv", ITEMS_CSV))

    assert data.interactions.timestamps.tolist() == [9223372036854775807, 1]
    assert data.report.skipped == {
        "timestamp beyond the int64 range: row dropped": [4, f"{events_path}:2"]
    }


def test_uint64_only_timestamps_are_dropped_not_wrapped(tmp_path):
    events = "user_id,item_id,timestamp\nu1,a,18446744073709551615\nu1,b,5\n"
    events_path = _write(tmp_path, "events.csv", events)

    data = load_tabular_files(events_path, _write(tmp_path, "items.csv", ITEMS_CSV))

    assert data.interactions.timestamps.tolist() == [5]
    assert data.report.skipped["timestamp beyond the int64 range: row dropped"] == [
        1,
        f"{events_path}:2",
    ]


def test_ratings_beyond_float32_are_dropped_not_made_infinite(tmp_path):
    events = "user_id,item_id,timestamp,rating\nu1,a,1,1e39\nu1,b,2,-4e38\nu1,a,3,3e38\n"
    events_path = _write(tmp_path, "events.csv", events)

    data = load_tabular_files(
        events_path, _write(tmp_path, "items.csv", ITEMS_CSV), TabularColumns(label="rating")
    )

    assert data.interactions.timestamps.tolist() == [3]
    assert data.interactions.labels.tolist() == [np.float32(3e38)]
    assert data.report.skipped == {
        "rating beyond the float32 range: row dropped": [2, f"{events_path}:2"],
        "note (kept): user with a single interaction": [1, f"{events_path}:4"],
    }


def test_parquet_text_columns_with_nulls_keep_every_character(tmp_path):
    events = pd.DataFrame(
        {"user_id": ["alice", None, "alice"], "item_id": ["10", "11", "12"], "timestamp": [1, 2, 3]}
    )
    items = pd.DataFrame({"item_id": ["10", "11", "12"], "title": ["Heat", None, "Alien"]})
    events.to_parquet(tmp_path / "events.parquet", index=False)
    items.to_parquet(tmp_path / "items.parquet", index=False)

    data = load_tabular_files(str(tmp_path / "events.parquet"), str(tmp_path / "items.parquet"))

    assert data.interactions.user_ids.tolist() == ["alice", "alice"]
    assert data.catalog.texts().tolist() == ["Heat", "11", "Alien"]


def test_parquet_integral_floats_beyond_int64_keep_their_float_spelling(tmp_path):
    events = pd.DataFrame(
        {"user_id": ["u1"] * 3, "item_id": [1.0, 2.0, 1e30], "timestamp": [5.0, 1e30, 7.0]}
    )
    items = pd.DataFrame({"item_id": ["1", "2", "1e+30"], "title": ["A", "B", "C"]})
    events.to_parquet(tmp_path / "events.parquet", index=False)
    items.to_parquet(tmp_path / "items.parquet", index=False)
    events_path = str(tmp_path / "events.parquet")

    data = load_tabular_files(events_path, str(tmp_path / "items.parquet"))

    assert data.interactions.item_ids.tolist() == ["1", "1e+30"]
    assert data.interactions.timestamps.tolist() == [5, 7]
    assert data.report.skipped == {
        "timestamp beyond the int64 range: row dropped": [1, f"{events_path}:row 2"]
    }
