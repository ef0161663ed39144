"""Robustness of the data loaders: nothing lost silently, nothing crashes.

Hand-written regressions first, then property-based tests (hypothesis) over
generated inputs of every loader: users' CSV and Parquet logs
(`load_tabular_files`), MovieLens directories (ml-100k, ml-1m, ml-latest)
and TFDS examples (`load_tfds`, its download replaced by generated batches).

For any input, the invariant is:
- the loader returns `InteractionData` or raises `DataError`, nothing else;
- every kept row is valid: non-empty stripped ids, a finite label, an item
  of the catalog; every item has text; user features are unique;
- nothing is lost silently: rows kept + rows the report counts as dropped
  == the data rows of the files (a reason ending in "row dropped" is a drop;
  repairs keep the row; notes are kept rows worth knowing about);
- "structured" rows, generated with a known fate, are kept exactly as
  written (same user, item, timestamp and label, in file order) or dropped;
- `strict=True` raises `DataError` exactly when the lenient load reported a
  fallback (a drop or a repair; notes never raise) or failed, and otherwise
  loads the same data.

The strategies and `check_source` live in `tfrec_llm.testing`, where
`benchmarks/reliability_report.py` runs them at a larger scale.
"""

import os
import re
import tempfile

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tfrec_llm.data.loaders.tabular_columns import TabularColumns
from tfrec_llm.data.loaders.tabular_files import load_tabular_files
from tfrec_llm.testing.file_strategies import csv_bytes, csv_style
from tfrec_llm.testing.garbage_sources import garbage_sources
from tfrec_llm.testing.loader_invariant import check_source, interaction_rows
from tfrec_llm.testing.movielens_sources import (
    movielens_1m_sources,
    movielens_100k_sources,
    movielens_latest_sources,
)
from tfrec_llm.testing.tabular_sources import users_csv_sources, users_parquet_sources
from tfrec_llm.testing.tfds_sources import tfds_sources

PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --------------------------------------------------------------- regressions

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
    assert data.report.skipped == {"timestamp beyond the int64 range: row dropped": [4, f"{events_path}:2"]}


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

    data = load_tabular_files(events_path, _write(tmp_path, "items.csv", ITEMS_CSV), TabularColumns(label="rating"))

    assert data.interactions.timestamps.tolist() == [3]
    assert data.interactions.labels.tolist() == [np.float32(3e38)]
    assert data.report.skipped == {
        "rating beyond the float32 range: row dropped": [2, f"{events_path}:2"],
        "note (kept): user with a single interaction": [1, f"{events_path}:4"],
    }


def test_parquet_text_columns_with_nulls_keep_every_character(tmp_path):
    events = pd.DataFrame({"user_id": ["alice", None, "alice"], "item_id": ["10", "11", "12"], "timestamp": [1, 2, 3]})
    items = pd.DataFrame({"item_id": ["10", "11", "12"], "title": ["Heat", None, "Alien"]})
    events.to_parquet(tmp_path / "events.parquet", index=False)
    items.to_parquet(tmp_path / "items.parquet", index=False)

    data = load_tabular_files(str(tmp_path / "events.parquet"), str(tmp_path / "items.parquet"))

    assert data.interactions.user_ids.tolist() == ["alice", "alice"]
    assert data.catalog.texts().tolist() == ["Heat", "11", "Alien"]


def test_parquet_integral_floats_beyond_int64_keep_their_float_spelling(tmp_path):
    events = pd.DataFrame({"user_id": ["u1"] * 3, "item_id": [1.0, 2.0, 1e30], "timestamp": [5.0, 1e30, 7.0]})
    items = pd.DataFrame({"item_id": ["1", "2", "1e+30"], "title": ["A", "B", "C"]})
    events.to_parquet(tmp_path / "events.parquet", index=False)
    items.to_parquet(tmp_path / "items.parquet", index=False)
    events_path = str(tmp_path / "events.parquet")

    data = load_tabular_files(events_path, str(tmp_path / "items.parquet"))

    assert interaction_rows(data) == [("u1", "1", 5, 1.0), ("u1", "1e+30", 7, 1.0)]
    assert data.report.skipped == {"timestamp beyond the int64 range: row dropped": [1, f"{events_path}:row 2"]}


# ------------------------------------------------------------- properties


@PROPERTY_SETTINGS
@given(users_csv_sources())
def test_users_csv_files_lose_nothing_silently(source):
    check_source(source)


@PROPERTY_SETTINGS
@given(users_parquet_sources())
def test_users_parquet_files_lose_nothing_silently(source):
    check_source(source)


@PROPERTY_SETTINGS
@given(movielens_100k_sources())
def test_movielens_100k_directories_lose_nothing_silently(source):
    check_source(source)


@PROPERTY_SETTINGS
@given(movielens_1m_sources())
def test_movielens_1m_directories_lose_nothing_silently(source):
    check_source(source)


@PROPERTY_SETTINGS
@given(movielens_latest_sources())
def test_movielens_latest_directories_lose_nothing_silently(source):
    check_source(source)


@PROPERTY_SETTINGS
@given(tfds_sources())
def test_tfds_examples_lose_nothing_silently(source):
    check_source(source)


@PROPERTY_SETTINGS
@given(garbage_sources())
def test_garbage_files_raise_data_error_or_load_valid_rows(source):
    check_source(source)


# ------------------------------------------------------------- locations

LINE_BREAK = re.compile(r"\r\n|\r|\n")
BLANK_LOOKING_RECORDS = ([], ["  "], ["\t"], [""], ["\x0b"], [" \x0c "], ["\xa0"])


def test_locations_skip_only_lines_pandas_skips(tmp_path):
    events = 'user_id,item_id,timestamp\nu1,a,1\n\x0b\n""\n  \nu2,a,2\n,a,3\nu3,a,x\n'
    events_path = _write(tmp_path, "events.csv", events)

    data = load_tabular_files(events_path, _write(tmp_path, "items.csv", ITEMS_CSV))

    assert data.report.skipped["empty user_id: row dropped"] == [3, f"{events_path}:3"]
    assert data.report.skipped["non-numeric timestamp: row dropped"] == [1, f"{events_path}:8"]


@PROPERTY_SETTINGS
@given(
    st.lists(
        st.one_of(
            st.sampled_from(BLANK_LOOKING_RECORDS),
            st.builds(lambda user: [user, "a", "1"], st.sampled_from(["u1", "u\n2", "u,3"])),
        ),
        max_size=6,
    ),
    st.lists(st.builds(lambda user: [user, "b", "2"], st.sampled_from(["u4", "u\r5"])), max_size=3),
    csv_style(),
)
def test_the_first_bad_timestamp_is_located_on_its_own_line(before, after, style):
    header = ["user_id", "item_id", "timestamp"]
    bad = ["u9", "a", "not a time"]
    content, _ = csv_bytes(header, before + [bad] + after + [["u8", "b", "3"]], style)
    prefix, _ = csv_bytes(header, before, style)
    bad_line = len(LINE_BREAK.findall(prefix.decode("utf-8-sig"))) + 1
    with tempfile.TemporaryDirectory() as folder:
        events_path = os.path.join(folder, "events.csv")
        with open(events_path, "wb") as handle:
            handle.write(content)
        items_path = os.path.join(folder, "items.csv")
        with open(items_path, "w", encoding="utf-8") as handle:
            handle.write(ITEMS_CSV)

        data = load_tabular_files(events_path, items_path)

    assert data.report.skipped["non-numeric timestamp: row dropped"] == [
        1,
        f"{events_path}:{bad_line}",
    ]
