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

The strategies and `check_source` are public: `benchmarks/reliability_report.py`
runs them at a larger scale.
"""

import dataclasses
import functools
import math
import os
import re
import tempfile
from typing import Callable, Dict, List, Optional, Sequence, Tuple
from unittest import mock

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tfrec_llm.data.loaders import tfds_source
from tfrec_llm.data.data_error import DataError
from tfrec_llm.data.interaction_data import NOTE_PREFIX, InteractionData, LoadReport
from tfrec_llm.data.loaders.movielens_directory import load_movielens_directory
from tfrec_llm.data.loaders.row_checks import FLOAT32_LARGEST, INT64_RANGE
from tfrec_llm.data.loaders.tabular_files import TabularColumns, load_tabular_files

PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
DROP_SUFFIX = "row dropped"
STRUCTURED_USERS = ("user-0", "user-1", "user-2")
UNKNOWN_ITEM = "no-such-item"
ITEM_IDS = tuple(str(i) for i in range(1, 9))
CSV_SPECIAL_CHARACTERS = (",", '"', "\n", "\r")
PANDAS_BLANK_CHARACTERS = " \t"  # pandas skips lines of only these
SEPARATOR_CHARACTERS = ",|\t:;\"'\n\r \\#"
ODD_NUMBER_TEXTS = (
    "",
    " ",
    "NaN",
    "nan",
    "-inf",
    "Infinity",
    "1e400",
    "1e39",
    "-4e38",
    "3e38",
    "1e30",
    "9.3e18",
    "18446744073709551615",
    "9223372036854775807",
    "-9223372036854775808",
    "-9223372036854775809",
    "abc",
    "0x10",
    "1,5",
    "\u0661\u0662",
    "1_000",
    " 7 ",
    "+5",
    "1.",
    ".5",
    "1E3",
    "00012",
    "True",
)
ISO_DATETIME_TEXTS = (
    "2020-01-01T00:00:00Z",
    "1970-01-01T00:01:40+00:00",
    "2020-13-45",
    "0001-01-01",
)
DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
INTEGER = re.compile(r"[+-]?[0-9]+")
ML_100K_GENRES = "unknown|0\nAction|1\nComedy|2\n"
ML_100K_FLAGS = ("0", "1") * 8 + (" 1 ", "2", "", "x")  # mostly valid
ML_1M_GENRES = ("Action", "Comedy", "Drama", "(no genres listed)", "")


class InvariantViolation(AssertionError):
    """A loader kept an invalid row, lost rows silently, or strict mode disagreed."""


def require(condition: bool, message: str):
    if not condition:
        raise InvariantViolation(message)


# ------------------------------------------------------------ the oracle


def expected_label(text: str) -> Optional[float]:
    """The float32 label a loader must keep for `text`, None if the row must be dropped."""
    text = text.strip()
    if not DECIMAL.fullmatch(text):
        return None
    value = float(text)
    if not math.isfinite(value) or abs(value) > FLOAT32_LARGEST:
        return None
    return float(np.float32(value))


def expected_timestamp(text: str) -> Optional[int]:
    """The int64 timestamp a loader must keep for `text`, None if the row must be dropped."""
    text = text.strip()
    if not DECIMAL.fullmatch(text) or not math.isfinite(float(text)):
        return None
    value = int(text) if INTEGER.fullmatch(text) else math.floor(float(text))
    return value if INT64_RANGE[0] <= value <= INT64_RANGE[1] else None


@dataclasses.dataclass
class StructuredEvent:
    """An interaction row generated with a known fate."""

    user: str
    item: str
    timestamp: str
    label: str
    scenario: str = ""

    def expected(self, known_items, has_label: bool = True):
        """(user, item, timestamp, label) the loader must keep, or None (must be dropped)."""
        timestamp = expected_timestamp(self.timestamp)
        label = expected_label(self.label) if has_label else 1.0
        if self.item not in known_items or timestamp is None or label is None:
            return None
        return (self.user, self.item, timestamp, label)


# ------------------------------------------------------- the invariant


@dataclasses.dataclass
class GeneratedSource:
    """Files of one generated data source and what loading them must give.

    Args:
        kind: the loader and layout, e.g. "users_csv" or "ml-100k".
        files: file name -> content, written into one folder.
        load: (folder, strict) -> InteractionData.
        rows_per_file: data rows of each file that the loader must account
            for (headers and blank lines excluded); None: unknown (garbage).
        expected: (user, item, timestamp, label) of the structured rows that
            must be kept, in file order; None: no structured rows.
        structured_users: the users of the structured rows.
        must_refuse: the input must be refused (bytes that are not UTF-8).
        unobserved_file: a file whose kept rows leave no count in the data
            (tags.csv): its drops are measured by loading once more without it.
        counts_items_and_users: catalog and user rows come from the files
            (False for TFDS, whose items are derived from the examples).
        spelled_timestamps, spelled_labels: every value the files spell; a kept
            value outside them was wrapped or overflowed (None: not checked).
        preview: a readable form of binary files, for failure messages.
    """

    kind: str
    files: Dict[str, bytes]
    load: Callable[[str, bool], InteractionData]
    rows_per_file: Optional[Dict[str, int]] = None
    expected: Optional[List[Tuple[str, str, int, float]]] = None
    structured_users: Sequence[str] = STRUCTURED_USERS
    must_refuse: bool = False
    unobserved_file: Optional[str] = None
    counts_items_and_users: bool = True
    spelled_timestamps: Optional[set] = None
    spelled_labels: Optional[set] = None
    preview: str = ""

    def __repr__(self) -> str:
        files = self.preview or "\n".join(
            f"  {name}: {content!r}" for name, content in self.files.items()
        )
        return (
            f"GeneratedSource({self.kind}, rows {self.rows_per_file}, must_refuse "
            f"{self.must_refuse}, expected {self.expected}, files:\n{files})"
        )


@dataclasses.dataclass
class LoadOutcome:
    """What the lenient load of one generated source gave.

    Args:
        accepted: it returned data (else it raised `DataError`).
        rows: data rows of the files (0 when unknown).
        kept_rows: rows kept (interactions, items, users, tags).
        fallbacks: reason -> rows, every drop and repair of the report.
        error: the first line of the `DataError` when refused.
    """

    accepted: bool
    rows: int = 0
    kept_rows: int = 0
    fallbacks: Dict[str, int] = dataclasses.field(default_factory=dict)
    error: str = ""


def fallback_counts(report: LoadReport) -> Dict[str, int]:
    """reason -> rows, for every drop and repair (notes left out)."""
    return {
        reason: count
        for reason, (count, _) in report.skipped.items()
        if not reason.startswith(NOTE_PREFIX)
    }


def dropped_rows(report: LoadReport) -> int:
    return sum(
        count for reason, count in fallback_counts(report).items() if reason.endswith(DROP_SUFFIX)
    )


def kept_rows(data: InteractionData, counts_items_and_users: bool = True) -> int:
    kept = len(data.interactions)
    if counts_items_and_users:
        kept += len(data.catalog)
        if data.user_features is not None:
            kept += len(data.user_features.user_ids)
    return kept


def interaction_rows(data: InteractionData, users: Optional[Sequence[str]] = None) -> List[tuple]:
    """(user, item, timestamp, label) of the kept interactions, of `users` only if given."""
    events = data.interactions
    rows = zip(
        events.user_ids.tolist(),
        events.item_ids.tolist(),
        events.timestamps.tolist(),
        events.labels.tolist(),
    )
    return [row for row in rows if users is None or row[0] in users]


def assert_rows_valid(data: InteractionData):
    """Every kept row is usable: ids, labels, items and their text, user features."""
    events, catalog = data.interactions, data.catalog
    require(len(events) > 0, "no interaction kept, yet no DataError")
    named_ids = {
        "user": events.user_ids,
        "item": events.item_ids,
        "scenario": events.scenarios,
        "catalog item": catalog.item_ids,
    }
    for name, ids in named_ids.items():
        stripped = np.char.strip(ids)
        require(bool((stripped != "").all()), f"an empty {name} id was kept")
        require(bool((stripped == ids).all()), f"a {name} id with whitespace was kept")
    require(bool(np.isfinite(events.labels).all()), f"a non-finite label was kept: {events.labels}")
    require(events.timestamps.dtype == np.int64, "timestamps are not int64")
    unknown = ~np.isin(events.item_ids, catalog.item_ids)
    require(
        not unknown.any(), f"items not in the catalog were kept: {events.item_ids[unknown][:3]}"
    )
    require(bool((catalog.texts() != "").all()), "an item without any text was kept as it is")
    if catalog.attributes is not None:
        require(
            catalog.attributes.shape == (len(catalog), len(catalog.attribute_names)),
            "attributes do not match the catalog",
        )
        require(bool(np.isin(catalog.attributes, (0.0, 1.0)).all()), "attributes are not multi-hot")
    if data.user_features is not None:
        users = data.user_features
        require(len(np.unique(users.user_ids)) == len(users.user_ids), "a user is defined twice")
        require(bool((np.char.strip(users.user_ids) != "").all()), "a user without id was kept")
        for name, values in users.columns.items():
            require(len(values) == len(users.user_ids), f"user feature {name} is misaligned")


def check_strict_agrees(
    load_strict: Callable[[], InteractionData], lenient: Optional[InteractionData]
):
    """strict=True refuses exactly what needed a fallback (or failed), else loads the same."""
    must_refuse = lenient is None or bool(fallback_counts(lenient.report))
    try:
        strict = load_strict()
    except DataError as error:
        if not must_refuse:
            raise InvariantViolation(
                f"strict=True refused data loaded without any fallback: {error}"
            )
        return
    require(
        not must_refuse,
        "strict=True accepted data "
        + (
            "the lenient load refused"
            if lenient is None
            else f"that needed fallbacks: {lenient.report.summary()}"
        ),
    )
    require(strict.report.skipped == lenient.report.skipped, "strict and lenient reports differ")
    require(
        interaction_rows(strict) == interaction_rows(lenient), "strict and lenient loads differ"
    )


def check_source(source: GeneratedSource) -> LoadOutcome:
    """Loads `source` leniently and strictly; raises `InvariantViolation` if the invariant breaks."""
    rows = sum(source.rows_per_file.values()) if source.rows_per_file else 0
    with tempfile.TemporaryDirectory() as folder:
        for name, content in source.files.items():
            with open(os.path.join(folder, name), "wb") as handle:
                handle.write(content)
        load_strict = functools.partial(source.load, folder, True)
        try:
            data = source.load(folder, False)
        except DataError as error:
            check_strict_agrees(load_strict, None)
            return LoadOutcome(False, rows, error=str(error).split("\n", 1)[0])
        require(not source.must_refuse, "a file with bytes that are not UTF-8 was accepted")
        assert_rows_valid(data)
        check_strict_agrees(load_strict, data)
        kept = kept_rows(data, source.counts_items_and_users)
        if source.unobserved_file is not None and source.rows_per_file is not None:
            kept += _kept_rows_of_unobserved_file(source, folder, data)
    dropped = dropped_rows(data.report)
    if source.rows_per_file is not None:
        require(
            kept + dropped == rows,
            f"{rows} rows in {source.rows_per_file}, but {kept} kept + {dropped} counted as "
            f"dropped ({data.report.summary()})",
        )
    for spelled, kept_values in (
        (source.spelled_timestamps, data.interactions.timestamps),
        (source.spelled_labels, data.interactions.labels),
    ):
        if spelled is not None:
            unspelled = set(kept_values.tolist()) - spelled
            require(not unspelled, f"kept values {sorted(unspelled)[:3]} that no file spells")
    if source.expected is not None:
        kept_structured = interaction_rows(data, source.structured_users)
        require(
            kept_structured == source.expected,
            f"structured rows kept {kept_structured}, expected {source.expected} "
            f"({data.report.summary()})",
        )
    return LoadOutcome(True, rows, kept, fallback_counts(data.report))


def _kept_rows_of_unobserved_file(
    source: GeneratedSource, folder: str, data: InteractionData
) -> int:
    """Rows of `source.unobserved_file` kept: its rows minus the drops it adds to the report."""
    os.remove(os.path.join(folder, source.unobserved_file))
    try:
        without = source.load(folder, False)
    except DataError as error:
        raise InvariantViolation(
            f"loading fails without {source.unobserved_file}: {error}"
        ) from None
    require(
        interaction_rows(without) == interaction_rows(data),
        f"{source.unobserved_file} changed the interactions",
    )
    rows = source.rows_per_file[source.unobserved_file]
    dropped = dropped_rows(data.report) - dropped_rows(without.report)
    require(
        0 <= dropped <= rows, f"{dropped} rows of {source.unobserved_file} dropped, it has {rows}"
    )
    texts = data.catalog.text_fields.get("tags", np.array([], dtype=str))
    require(
        (rows - dropped > 0) == bool((texts != "").any()),
        f"{rows - dropped} rows of {source.unobserved_file} kept, tags {texts.tolist()}",
    )
    return rows - dropped


# -------------------------------------------------------- file writing


def csv_field(value: str, quote_all: bool) -> str:
    if quote_all or any(character in value for character in CSV_SPECIAL_CHARACTERS):
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_text(
    header: Sequence[str], records: Sequence[Sequence[str]], terminator: str, quote_all: bool
) -> Tuple[str, int]:
    """(RFC 4180 text, data rows): records that are not blank (pandas skips blank lines)."""
    lines = [
        ",".join(csv_field(value, quote_all) for value in record) for record in [header, *records]
    ]
    data_rows = sum(1 for line in lines[1:] if line.strip(PANDAS_BLANK_CHARACTERS))
    return terminator.join(lines) + terminator, data_rows


def data_line_count(text: str) -> int:
    """Non-blank lines, as `TextTable.from_separated_lines` reads them."""
    return sum(1 for line in text.split("\n") if line.rstrip("\r").strip())


def guarded(text: str, separator: str, forbidden: Sequence[str]) -> str:
    """`text` with a first field that is never one of `forbidden` (ids of structured rows)."""
    lines = text.split("\n")
    return "\n".join(
        "x" + line if line.split(separator)[0].strip() in forbidden else line for line in lines
    )


def with_invalid_utf8(content: bytes, position: int) -> bytes:
    position = min(position, len(content))
    return content[:position] + b"\xff" + content[position:]


# ------------------------------------------------------------ strategies


def characters_up_to(max_codepoint: int, excluded: str = ""):
    return st.characters(
        max_codepoint=max_codepoint, exclude_categories=("Cs",), exclude_characters=excluded
    )


def wild_text(max_codepoint: int):
    """Any text: separators, quotes, newlines, unicode up to `max_codepoint`."""
    return st.text(
        st.one_of(st.sampled_from(SEPARATOR_CHARACTERS), characters_up_to(max_codepoint)),
        max_size=10,
    )


UTF8_TEXT = wild_text(0x10FFFF)
LATIN1_TEXT = wild_text(0xFF)
SAFE_TITLE = st.text(characters_up_to(0xFF, excluded=SEPARATOR_CHARACTERS), max_size=8)
NUMBER_TEXT = st.one_of(
    st.integers(0, 2_000_000_000).map(str),
    st.integers(-(2**70), 2**70).map(str),
    st.floats().map(repr),  # nan, inf, subnormals, 1e+308, ...
    st.sampled_from(ODD_NUMBER_TEXTS),
)
LATIN1_NUMBER_TEXT = NUMBER_TEXT.filter(lambda text: max(map(ord, text), default=0) <= 0xFF)
GOOD_TIMESTAMP = st.integers(0, 2_000_000_000).map(str)
GOOD_RATING = st.sampled_from(["1", "2", "3", "4", "5", "0.5", "4.5"])
WILD_VALUE = st.one_of(UTF8_TEXT, NUMBER_TEXT, st.sampled_from(ISO_DATETIME_TEXTS))
ONE_IN_TEN = st.sampled_from([False] * 9 + [True])  # True about one time in ten


def structured_events(item_ids: Sequence[str], numbers=NUMBER_TEXT):
    return st.builds(
        StructuredEvent,
        user=st.sampled_from(STRUCTURED_USERS),
        item=st.sampled_from(list(item_ids) + [UNKNOWN_ITEM]),
        timestamp=st.one_of(GOOD_TIMESTAMP, GOOD_TIMESTAMP, numbers),
        label=st.one_of(GOOD_RATING, GOOD_RATING, numbers),
        scenario=st.sampled_from(["web", "app", "", " "]),
    )


def wild_records(width: int, first_field_forbidden: Sequence[str]):
    """CSV records of any length (0 to width + 2) and content; never a structured id first."""

    def guard(record):
        if record and record[0].strip() in first_field_forbidden:
            record[0] = "x" + record[0]
        return record

    return st.lists(WILD_VALUE, max_size=width + 2).map(guard)


@st.composite
def mixed_in(draw, structured: list, others: list):
    """`structured` (order kept) and `others` interleaved at random places."""
    order = draw(st.permutations([0] * len(structured) + [1] * len(others)))
    mixed, structured_left, others_left = [], iter(structured), iter(others)
    for pick in order:
        mixed.append(next(structured_left) if pick == 0 else next(others_left))
    return mixed


@st.composite
def csv_style(draw):
    """(terminator, quote_all, byte-order mark)."""
    return draw(st.sampled_from(["\n", "\r\n"])), draw(st.booleans()), draw(ONE_IN_TEN)


def csv_bytes(header, records, style) -> Tuple[bytes, int]:
    terminator, quote_all, bom = style
    text, rows = csv_text(header, records, terminator, quote_all)
    return ("\ufeff" if bom else "").encode("utf-8") + text.encode("utf-8"), rows


@st.composite
def csv_table(draw, header: List[str], structured_records: list, forbidden: Sequence[str]):
    """A CSV file: structured records mixed with wild ones, repeated headers and blank lines."""
    others = draw(
        st.lists(
            st.one_of(
                wild_records(len(header), forbidden),
                st.just(list(header)),
                st.sampled_from([[], [""], ["  "], ["\t"]]),
            ),
            max_size=4,
        )
    )
    records = draw(mixed_in(structured_records, others))
    return csv_bytes(header, records, draw(csv_style()))


@st.composite
def corrupted(draw, files: Dict[str, bytes], names: Sequence[str]) -> bool:
    """Sometimes inserts a byte that is not UTF-8 into one of `names`; True if it did."""
    if not draw(ONE_IN_TEN):
        return False
    name = draw(st.sampled_from(list(names)))
    files[name] = with_invalid_utf8(files[name], draw(st.integers(0, len(files[name]))))
    return True


def _load_users_files(columns: TabularColumns, events: str, items: str, folder: str, strict: bool):
    return load_tabular_files(
        os.path.join(folder, events), os.path.join(folder, items), columns, strict
    )


@st.composite
def users_csv_sources(draw) -> GeneratedSource:
    """A user's events.csv and items.csv with every kind of flaw."""
    has_label, has_scenario = draw(st.booleans()), draw(st.booleans())
    item_ids = draw(st.lists(st.sampled_from(ITEM_IDS), min_size=1, max_size=5, unique=True))
    text_columns = draw(
        st.lists(st.sampled_from(["title", "description", "price"]), unique=True, max_size=3)
    )
    item_header = draw(st.permutations(["item_id"] + text_columns))
    item_records = [
        [
            item if name == "item_id" else draw(st.one_of(SAFE_TITLE, UTF8_TEXT))
            for name in item_header
        ]
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
    columns = TabularColumns(
        label="rating" if has_label else None, scenario="scenario" if has_scenario else None
    )
    expected = [event.expected(item_ids, has_label) for event in events]
    return GeneratedSource(
        kind="users_csv",
        files=files,
        load=functools.partial(_load_users_files, columns, "events.csv", "items.csv"),
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
        missing = np.asarray(
            draw(st.lists(st.booleans(), min_size=rows, max_size=rows)), dtype=bool
        )
        column = pd.Series(pd.to_datetime(seconds, unit="s", utc=True)).mask(missing)
        return column, [None if gone else value for value, gone in zip(seconds, missing)]
    values = draw(
        st.lists(pools[kind], min_size=rows, max_size=rows, unique_by=str if unique else None)
    )
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
    kept = {
        math.floor(n) if isinstance(n, float) else n
        for n in numbers
        if n is not None and math.isfinite(n)
    }
    return {n for n in kept if INT64_RANGE[0] <= n <= INT64_RANGE[1]}


def spelled_labels(numbers) -> set:
    """The float32 labels a loader may keep for a column spelling `numbers`."""
    return {
        float(np.float32(n))
        for n in numbers
        if n is not None and math.isfinite(n) and abs(n) <= FLOAT32_LARGEST
    }


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
    event_columns = {
        name: draw(parquet_column(event_rows, PARQUET_ID_VALUES)) for name in ("user_id", "item_id")
    }
    event_columns.update(
        {name: draw(parquet_column(event_rows)) for name in ("timestamp", "rating")}
    )
    events = pd.DataFrame({name: column for name, (column, _) in event_columns.items()})
    columns = TabularColumns(label="rating")
    return GeneratedSource(
        kind="users_parquet",
        files={"events.parquet": parquet_bytes(events), "items.parquet": parquet_bytes(items)},
        load=functools.partial(_load_users_files, columns, "events.parquet", "items.parquet"),
        rows_per_file={"events.parquet": event_rows, "items.parquet": item_rows},
        spelled_timestamps=spelled_timestamps(event_columns["timestamp"][1]),
        spelled_labels=spelled_labels(event_columns["rating"][1]),
        preview=f"events:\n{events!r}\n{events.dtypes.to_dict()}\nitems:\n{items!r}",
    )


@st.composite
def lines_file(
    draw, structured_lines: List[str], separator: str, forbidden: Sequence[str], text=LATIN1_TEXT
):
    """Latin-1 text: structured lines mixed with wild lines and blank lines; CRLF or LF."""
    others = draw(
        st.lists(
            st.one_of(
                text.map(lambda line: guarded(line, separator, forbidden)),
                st.sampled_from(["", "   ", "\t"]),
            ),
            max_size=4,
        )
    )
    lines = draw(mixed_in(structured_lines, others))
    terminator = draw(st.sampled_from(["\n", "\r\n"]))
    text = terminator.join(lines) + terminator
    return text.encode("latin-1"), data_line_count(text)


def load_directory(folder: str, strict: bool) -> InteractionData:
    return load_movielens_directory(folder, strict=strict)


@st.composite
def movielens_100k_sources(draw) -> GeneratedSource:
    """u.data, u.item (flags of 3 genres), u.genre and maybe u.user, every kind of flaw."""
    item_ids = draw(st.lists(st.sampled_from(ITEM_IDS), min_size=1, max_size=5, unique=True))
    flags = {
        item: draw(st.lists(st.sampled_from(ML_100K_FLAGS), min_size=3, max_size=3))
        for item in item_ids
    }
    known = [item for item in item_ids if all(flag.strip() in ("0", "1") for flag in flags[item])]
    item_lines = [
        f"{item}|{draw(SAFE_TITLE)}|01-Jan-1995||http://x|{'|'.join(flags[item])}"
        for item in item_ids
    ]
    events = draw(st.lists(structured_events(item_ids, LATIN1_NUMBER_TEXT), min_size=1, max_size=8))
    rating_lines = [f"{e.user}\t{e.item}\t{e.label}\t{e.timestamp}" for e in events]
    files, rows = {"u.genre": ML_100K_GENRES.encode("latin-1")}, {}
    files["u.item"], rows["u.item"] = draw(lines_file(item_lines, "|", [UNKNOWN_ITEM]))
    files["u.data"], rows["u.data"] = draw(lines_file(rating_lines, "\t", STRUCTURED_USERS))
    if draw(st.booleans()):
        user_lines = draw(
            st.lists(
                st.builds(
                    "{}|{}|{}|{}|{}".format,
                    st.sampled_from(["1", "2", " "]),
                    st.sampled_from(["17", "30", "x", ""]),
                    st.sampled_from("MF"),
                    SAFE_TITLE,
                    SAFE_TITLE,
                ),
                min_size=1,
                max_size=4,
            )
        )
        files["u.user"], rows["u.user"] = draw(lines_file(user_lines, "|", ()))
    expected = [event.expected(known) for event in events]
    return GeneratedSource(
        kind="ml-100k",
        files=files,
        load=load_directory,
        rows_per_file=rows,
        expected=[row for row in expected if row is not None],
    )


@st.composite
def movielens_1m_sources(draw) -> GeneratedSource:
    """ratings.dat, movies.dat and maybe users.dat ("::"-separated), every kind of flaw."""
    item_ids = draw(st.lists(st.sampled_from(ITEM_IDS), min_size=1, max_size=5, unique=True))
    genres = st.lists(st.sampled_from(ML_1M_GENRES), max_size=3).map("|".join)
    movie_lines = [f"{item}::{draw(SAFE_TITLE)}::{draw(genres)}" for item in item_ids]
    events = draw(st.lists(structured_events(item_ids, LATIN1_NUMBER_TEXT), min_size=1, max_size=8))
    rating_lines = [f"{e.user}::{e.item}::{e.label}::{e.timestamp}" for e in events]
    files, rows = {}, {}
    files["movies.dat"], rows["movies.dat"] = draw(lines_file(movie_lines, "::", [UNKNOWN_ITEM]))
    files["ratings.dat"], rows["ratings.dat"] = draw(
        lines_file(rating_lines, "::", STRUCTURED_USERS)
    )
    if draw(st.booleans()):
        user_lines = draw(
            st.lists(
                st.builds(
                    "{}::{}::{}::{}::{}".format,
                    st.sampled_from(["1", "2", ""]),
                    st.sampled_from("MF"),
                    st.sampled_from(["1", "25", "x"]),
                    st.sampled_from(["0", "20", "21", "-1", "x", ""]),
                    SAFE_TITLE,
                ),
                min_size=1,
                max_size=4,
            )
        )
        files["users.dat"], rows["users.dat"] = draw(lines_file(user_lines, "::", ()))
    expected = [event.expected(item_ids) for event in events]
    return GeneratedSource(
        kind="ml-1m",
        files=files,
        load=load_directory,
        rows_per_file=rows,
        expected=[row for row in expected if row is not None],
    )


@st.composite
def movielens_latest_sources(draw) -> GeneratedSource:
    """ratings.csv, movies.csv and maybe tags.csv, every kind of flaw."""
    item_ids = draw(st.lists(st.sampled_from(ITEM_IDS), min_size=1, max_size=5, unique=True))
    genres = st.lists(st.sampled_from(ML_1M_GENRES), max_size=3).map("|".join)
    movie_records = [
        [item, draw(st.one_of(SAFE_TITLE, UTF8_TEXT)), draw(genres)] for item in item_ids
    ]
    events = draw(st.lists(structured_events(item_ids), min_size=1, max_size=8))
    rating_records = [[e.user, e.item, e.label, e.timestamp] for e in events]
    files, rows = {}, {}
    files["movies.csv"], rows["movies.csv"] = draw(
        csv_table(["movieId", "title", "genres"], movie_records, [UNKNOWN_ITEM])
    )
    files["ratings.csv"], rows["ratings.csv"] = draw(
        csv_table(["userId", "movieId", "rating", "timestamp"], rating_records, STRUCTURED_USERS)
    )
    has_tags = draw(st.booleans())
    if has_tags:
        tag_records = draw(
            st.lists(
                st.builds(
                    lambda item, tag: ["1", item, tag, "5"],
                    st.sampled_from(list(item_ids) + [UNKNOWN_ITEM, ""]),
                    UTF8_TEXT,
                ),
                max_size=5,
            )
        )
        files["tags.csv"], rows["tags.csv"] = draw(
            csv_table(["userId", "movieId", "tag", "timestamp"], tag_records, ())
        )
    invalid = draw(corrupted(files, list(files)))
    expected = [event.expected(item_ids) for event in events]
    return GeneratedSource(
        kind="ml-latest",
        files=files,
        load=load_directory,
        rows_per_file=rows,
        expected=[row for row in expected if row is not None],
        must_refuse=invalid,
        unobserved_file="tags.csv" if has_tags else None,
    )


TFDS_GENRE_NAMES = ["Action", "Comedy", "unknown", "(no genres listed)"]
TFDS_RATINGS = st.one_of(st.sampled_from([1.0, 2.5, 5.0]), st.floats(width=32))


@st.composite
def tfds_batch(draw, with_demographics: bool):
    """One padded TFDS batch: ids, titles (maybe empty), genres (-1 padding), ratings (NaN, inf)."""
    size = draw(st.integers(0, 8))
    width = draw(st.integers(1, 3))

    def column(values, dtype):
        return np.array(draw(st.lists(values, min_size=size, max_size=size)), dtype=dtype)

    batch = {
        "user_id": column(st.sampled_from([b"1", b"2", b"3"]), object),
        "movie_id": column(st.sampled_from([item.encode() for item in ITEM_IDS[:4]]), object),
        "movie_title": column(
            st.one_of(st.sampled_from([b"", b"  "]), st.binary(max_size=6)), object
        ),
        "movie_genres": column(
            st.lists(st.integers(-1, len(TFDS_GENRE_NAMES) - 1), min_size=width, max_size=width),
            np.int64,
        ).reshape(size, width),
        "timestamp": column(st.integers(0, 2**40), np.int64),
        "user_rating": column(TFDS_RATINGS, np.float32),
    }
    if with_demographics:
        batch["user_gender"] = column(st.booleans(), bool)
        batch["bucketized_user_age"] = column(st.sampled_from([1.0, 25.0, 56.0]), np.float32)
    return batch


def _load_tfds_batches(batches, genre_names, folder: str, strict: bool) -> InteractionData:
    del folder  # TFDS needs no files: its download is replaced by the batches
    with mock.patch.object(tfds_source, "_read_batches", return_value=(batches, genre_names)):
        return tfds_source.load_tfds("movielens/100k-ratings", strict=strict)


@st.composite
def tfds_sources(draw) -> GeneratedSource:
    """1-2 TFDS batches (same keys, genre matrices of different widths)."""
    with_demographics = draw(st.booleans())
    batches = draw(st.lists(tfds_batch(with_demographics), min_size=1, max_size=2))
    columns = {key: np.concatenate([b[key] for b in batches]) for key in ("user_id", "movie_id")}
    ratings = np.concatenate([b["user_rating"] for b in batches])
    timestamps = np.concatenate([b["timestamp"] for b in batches])
    expected = [
        (user.decode(), item.decode(), int(timestamp), float(rating))
        for user, item, timestamp, rating in zip(
            columns["user_id"], columns["movie_id"], timestamps, ratings
        )
        if np.isfinite(rating)
    ]
    return GeneratedSource(
        kind="tfds",
        files={},
        load=functools.partial(_load_tfds_batches, batches, TFDS_GENRE_NAMES),
        rows_per_file={"examples": len(ratings)},
        expected=expected,
        structured_users=("1", "2", "3"),
        counts_items_and_users=False,
    )


GARBAGE_LAYOUTS = {
    "users_csv": ("events.csv", "items.csv"),
    "ml-100k": ("u.data", "u.item", "u.genre", "u.user"),
    "ml-1m": ("ratings.dat", "movies.dat", "users.dat"),
    "ml-latest": ("ratings.csv", "movies.csv", "tags.csv"),
}
GARBAGE_HEADERS = {
    "events.csv": "user_id,item_id,timestamp\n",
    "items.csv": "item_id,title\n",
    "ratings.csv": "userId,movieId,rating,timestamp\n",
    "movies.csv": "movieId,title,genres\n",
    "tags.csv": "userId,movieId,tag,timestamp\n",
}


@st.composite
def garbage_sources(draw) -> GeneratedSource:
    """Files of any bytes, or of any lines under the right header."""
    kind = draw(st.sampled_from(sorted(GARBAGE_LAYOUTS)))
    files = {}
    for name in GARBAGE_LAYOUTS[kind]:
        lines = st.lists(
            st.one_of(
                UTF8_TEXT,
                st.lists(WILD_VALUE, max_size=5).map(",".join),
                st.lists(WILD_VALUE, max_size=5).map("|".join),
                st.lists(WILD_VALUE, max_size=5).map("\t".join),
                st.lists(WILD_VALUE, max_size=5).map("::".join),
            ),
            max_size=6,
        ).map("\n".join)
        content = draw(
            st.one_of(st.binary(max_size=60), lines.map(lambda text: text.encode("utf-8")))
        )
        if name in GARBAGE_HEADERS and draw(st.booleans()):
            content = GARBAGE_HEADERS[name].encode("utf-8") + content
        files[name] = content
    if kind == "users_csv":
        load = functools.partial(_load_users_files, TabularColumns(), "events.csv", "items.csv")
    else:
        load = load_directory
    return GeneratedSource(kind="garbage " + kind, files=files, load=load)


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

    assert interaction_rows(data) == [("u1", "1", 5, 1.0), ("u1", "1e+30", 7, 1.0)]
    assert data.report.skipped == {
        "timestamp beyond the int64 range: row dropped": [1, f"{events_path}:row 2"]
    }


# ------------------------------------------------------- the oracle's own tests


def test_oracle_reads_numbers_like_the_loaders():
    assert [expected_label(t) for t in ["4.5", " 7 ", "1e39", "nan", "1,5", "+.5e-3"]] == [
        4.5,
        7.0,
        None,
        None,
        None,
        float(np.float32(0.0005)),
    ]
    assert [
        expected_timestamp(t)
        for t in ["12.9", "-0.5", "9223372036854775807", "9223372036854775808", "1e18", "0x10"]
    ] == [12, -1, 9223372036854775807, None, 10**18, None]


def test_csv_text_quotes_what_needs_quotes_and_counts_non_blank_records():
    text, rows = csv_text(
        ["a", "b"], [["x,y", 'say "hi"'], [], ["  "], ["", ""], ["r\rs"]], "\n", quote_all=False
    )
    assert text == 'a,b\n"x,y","say ""hi"""\n\n  \n,\n"r\rs"\n'
    assert rows == 3


def test_data_line_count_ignores_blank_and_whitespace_lines():
    assert data_line_count("a\tb\r\n\r\n  \n\xa0\nc\n") == 2


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
