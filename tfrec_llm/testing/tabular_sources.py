"""Generated users' logs for `load_tabular_files`: CSV and Parquet events and items files."""

import functools
import math
import os
import tempfile

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from tfrec_llm.data.loaders.row_checks import FLOAT32_LARGEST, INT64_RANGE
from tfrec_llm.data.loaders.tabular_columns import TabularColumns
from tfrec_llm.data.loaders.tabular_files import load_tabular_files
from tfrec_llm.testing.file_strategies import (
    ISO_DATETIME_TEXTS,
    ITEM_IDS,
    NUMBER_TEXT,
    SAFE_TITLE,
    UTF8_TEXT,
    corrupted,
    csv_table,
    structured_events,
)
from tfrec_llm.testing.loader_invariant import GeneratedSource
from tfrec_llm.testing.row_oracle import DECIMAL, INTEGER, STRUCTURED_USERS, UNKNOWN_ITEM


def load_users_files(columns: TabularColumns, events: str, items: str, folder: str, strict: bool):
    return load_tabular_files(os.path.join(folder, events), os.path.join(folder, items), columns, strict)


@st.composite
def users_csv_sources(draw) -> GeneratedSource:
    """A user's events.csv and items.csv with every kind of flaw."""
    has_label, has_scenario = draw(st.booleans()), draw(st.booleans())
    item_ids = draw(st.lists(st.sampled_from(ITEM_IDS), min_size=1, max_size=5, unique=True))
    text_columns = draw(st.lists(st.sampled_from(["title", "description", "price"]), unique=True, max_size=3))
    item_header = draw(st.permutations(["item_id"] + text_columns))
    item_records = [
        [item if name == "item_id" else draw(st.one_of(SAFE_TITLE, UTF8_TEXT)) for name in item_header]
        for item in item_ids
    ]
    items, item_rows = draw(csv_table(item_header, item_records, [UNKNOWN_ITEM]))

    event_columns = ["user_id", "item_id", "timestamp"] + ["rating"] * has_label
    event_columns += ["scenario"] * has_scenario
    event_header = draw(st.permutations(event_columns))
    events = draw(st.lists(structured_events(item_ids), min_size=1, max_size=8))
    values = {
        "user_id": "user",
        "item_id": "item",
        "timestamp": "timestamp",
        "rating": "label",
        "scenario": "scenario",
    }
    event_records = [[getattr(event, values[name]) for name in event_header] for event in events]
    events_text, event_rows = draw(csv_table(event_header, event_records, STRUCTURED_USERS))

    files = {"events.csv": events_text, "items.csv": items}
    invalid = draw(corrupted(files, list(files)))
    columns = TabularColumns(label="rating" if has_label else None, scenario="scenario" if has_scenario else None)
    expected = [event.expected(item_ids, has_label) for event in events]
    return GeneratedSource(
        kind="users_csv",
        files=files,
        load=functools.partial(load_users_files, columns, "events.csv", "items.csv"),
        rows_per_file={"events.csv": event_rows, "items.csv": item_rows},
        expected=[row for row in expected if row is not None],
        must_refuse=invalid,
    )


PARQUET_VALUES = {
    "text": st.one_of(st.none(), UTF8_TEXT, NUMBER_TEXT, st.sampled_from(ISO_DATETIME_TEXTS)),
    "integer": st.integers(-(2**63), 2**63 - 1),
    "float": st.one_of(st.floats(), st.sampled_from([1.0, 2.0, 1e30, -1e30, 2.0**63, 1e39])),
}
PARQUET_ID_VALUES = {  # few distinct ids, so events meet their items
    "text": st.sampled_from([None, "", " 2 ", "1", "2", "3", "1.0"]),
    "integer": st.integers(1, 3),
    "float": st.sampled_from([1.0, 2.0, 3.0, math.nan, 1.5, 1e30]),
}


@st.composite
def parquet_column(draw, rows: int, pools=PARQUET_VALUES, unique: bool = False):
    """A typed column: text (with nulls), int64, float64 (NaN, inf, huge) or UTC datetimes.

    Returns:
        (the column, the numbers it spells: exact for integers and
        datetimes (in seconds), floats as they are; None where it spells none).
    """
    kind = draw(st.sampled_from(sorted(pools) + ["datetime"] * (pools is PARQUET_VALUES)))
    if kind == "datetime":
        seconds = draw(st.lists(st.integers(-(2**33), 2**33), min_size=rows, max_size=rows))
        missing = np.asarray(draw(st.lists(st.booleans(), min_size=rows, max_size=rows)), dtype=bool)
        column = pd.Series(pd.to_datetime(seconds, unit="s", utc=True)).mask(missing)
        return column, [None if gone else value for value, gone in zip(seconds, missing)]
    values = draw(st.lists(pools[kind], min_size=rows, max_size=rows, unique_by=str if unique else None))
    dtypes = {"text": object, "integer": np.int64, "float": np.float64}
    spelled = [_spelled_number(value) for value in values]
    return pd.Series(values, dtype=dtypes[kind]), spelled


def _spelled_number(value):
    """The number a cell spells: numbers as they are, texts as numbers or ISO datetimes (seconds)."""
    if value is None or not isinstance(value, str):
        return value
    text = value.strip()
    if DECIMAL.fullmatch(text):
        return int(text) if INTEGER.fullmatch(text) else float(text)
    moment = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    return None if pd.isna(moment) else math.floor(moment.timestamp())


def spelled_timestamps(numbers) -> set:
    """The timestamps a loader may keep for a column spelling `numbers`."""
    kept = {math.floor(n) if isinstance(n, float) else n for n in numbers if n is not None and math.isfinite(n)}
    return {n for n in kept if INT64_RANGE[0] <= n <= INT64_RANGE[1]}


def spelled_labels(numbers) -> set:
    """The float32 labels a loader may keep for a column spelling `numbers`."""
    return {float(np.float32(n)) for n in numbers if n is not None and math.isfinite(n) and abs(n) <= FLOAT32_LARGEST}


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "frame.parquet")
        frame.to_parquet(path, index=False)
        with open(path, "rb") as handle:
            return handle.read()


@st.composite
def users_parquet_sources(draw) -> GeneratedSource:
    """events.parquet and items.parquet with typed columns: nulls, NaN, inf, huge numbers, datetimes."""
    item_rows, event_rows = draw(st.integers(1, 3)), draw(st.integers(0, 10))
    items = pd.DataFrame(
        {
            "item_id": draw(parquet_column(item_rows, PARQUET_ID_VALUES, unique=True))[0],
            "title": draw(parquet_column(item_rows))[0],
        }
    )
    event_columns = {name: draw(parquet_column(event_rows, PARQUET_ID_VALUES)) for name in ("user_id", "item_id")}
    event_columns.update({name: draw(parquet_column(event_rows)) for name in ("timestamp", "rating")})
    events = pd.DataFrame({name: column for name, (column, _) in event_columns.items()})
    columns = TabularColumns(label="rating")
    return GeneratedSource(
        kind="users_parquet",
        files={"events.parquet": parquet_bytes(events), "items.parquet": parquet_bytes(items)},
        load=functools.partial(load_users_files, columns, "events.parquet", "items.parquet"),
        rows_per_file={"events.parquet": event_rows, "items.parquet": item_rows},
        spelled_timestamps=spelled_timestamps(event_columns["timestamp"][1]),
        spelled_labels=spelled_labels(event_columns["rating"][1]),
        preview=f"events:\n{events!r}\n{events.dtypes.to_dict()}\nitems:\n{items!r}",
    )
