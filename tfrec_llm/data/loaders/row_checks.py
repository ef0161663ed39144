"""Row checks shared by the file loaders: validate, drop or repair, count.

Every function works on a `TextTable` and a boolean `keep` mask over its
rows, records each documented fallback through a `FallbackRecorder` (which
raises in strict mode) and raises a `DataError` for problems that have no
safe fallback. Vectorised with NumPy/pandas so 10M-row files stay fast.

Fallbacks (each counted in `InteractionData.report`):
- a repeated header row, an empty required value, a non-numeric rating,
  label or timestamp, a label beyond the float32 range or a timestamp
  beyond the int64 range: the interaction row is dropped;
- an interaction whose item is not in the catalog: dropped;
- a catalog row with an empty id: dropped;
- an item without any text: kept, its id becomes its text;
- users with a single interaction: kept, counted as a note.
Errors: duplicated catalog ids, no usable row left.
"""

import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from tfrec_llm.data.data_error import DataError
from tfrec_llm.data.loaders.fallback_recorder import FallbackRecorder
from tfrec_llm.data.interaction_data import DEFAULT_SCENARIO, Interactions, ItemCatalog
from tfrec_llm.data.loaders.text_table import TextTable

TEXT_JOINER = ", "
ISO_DATETIME_FORMAT = "ISO8601"
FLOAT_EXACT_INTEGER_LIMIT = 2**53  # float64 holds every integer below this exactly
INT64_RANGE = (int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max))
FLOAT32_LARGEST = float(np.finfo(np.float32).max)  # labels are stored as float32


def _first(mask: np.ndarray) -> Optional[int]:
    positions = np.flatnonzero(mask)
    return int(positions[0]) if positions.size else None


def record_rows(
    recorder: FallbackRecorder,
    table: TextTable,
    mask: np.ndarray,
    reason: str,
    values: Optional[np.ndarray] = None,
):
    """Records the fallback `reason` for the rows in `mask`, located at the first."""
    first = _first(mask)
    if first is None:
        return
    if values is None:
        value = None
    else:
        value = str(values.iloc[first] if isinstance(values, pd.Series) else values[first])
    recorder.record(reason, table.location(first), int(mask.sum()), value=value)


def drop_repeated_headers(table: TextTable, keep: np.ndarray, recorder: FallbackRecorder) -> np.ndarray:
    """Drops rows equal to the header row (e.g. from concatenated CSV files)."""
    if table.header is None:
        return keep
    repeated = keep.copy()
    for column in table.columns:  # the first comparison already rules out almost every row
        candidates = np.flatnonzero(repeated)
        if candidates.size == 0:
            break
        matches = (table.stripped_series(column).iloc[candidates] == column.strip()).to_numpy(dtype=bool)
        repeated[candidates[~matches]] = False
    record_rows(recorder, table, repeated, "repeated header row: row dropped")
    return keep & ~repeated


def drop_empty(table: TextTable, keep: np.ndarray, columns: Sequence[str], recorder: FallbackRecorder) -> np.ndarray:
    """Drops rows with an empty (or missing) value in any of `columns`."""
    for column in columns:
        empty = keep & table.is_empty(column)
        record_rows(recorder, table, empty, f"empty {column}: row dropped")
        keep = keep & ~empty
    return keep


def parse_numbers(
    table: TextTable, keep: np.ndarray, column: str, recorder: FallbackRecorder
) -> Tuple[np.ndarray, np.ndarray]:
    """Parses `column` as finite numbers that fit float32; other rows are dropped and counted.

    Returns:
        (float64 numbers aligned with the table's rows; new keep).
    """
    raw = table.stripped_series(column)
    numbers = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = keep & ~np.isfinite(numbers)
    record_rows(recorder, table, bad, f"non-numeric {column}: row dropped", raw)
    keep = keep & ~bad
    too_large = keep & (np.abs(np.nan_to_num(numbers)) > FLOAT32_LARGEST)
    record_rows(recorder, table, too_large, f"{column} beyond the float32 range: row dropped", raw)
    return numbers, keep & ~too_large


def parse_timestamps(
    table: TextTable, keep: np.ndarray, column: str, recorder: FallbackRecorder
) -> Tuple[np.ndarray, np.ndarray]:
    """Parses `column` as int64 timestamps; bad rows are dropped and counted.

    Numbers are taken as they are (fractions are floored; integers are
    exact, however many digits); numbers beyond the int64 range are dropped
    and counted. A column none of whose values is a number is read as ISO
    8601 datetimes and converted to Unix seconds.

    Returns:
        (int64 timestamps aligned with the table's rows, 0 where not kept;
        new keep).
    """
    raw = table.stripped_series(column)
    parsed = pd.to_numeric(raw, errors="coerce")
    numbers = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
    is_number = np.isfinite(numbers)
    timestamps = np.zeros(len(raw), dtype=np.int64)
    if not (is_number & keep).any():
        datetimes = pd.to_datetime(raw, errors="coerce", utc=True, format=ISO_DATETIME_FORMAT)
        valid = datetimes.notna().to_numpy(dtype=bool)
        if (valid & keep).any():
            epoch = pd.Timestamp("1970-01-01", tz="UTC")
            timestamps[valid] = ((datetimes[valid] - epoch) // pd.Timedelta(seconds=1)).to_numpy()
            bad = keep & ~valid
            record_rows(recorder, table, bad, f"unparseable datetime in {column}: row dropped", raw)
            return timestamps, keep & ~bad
    bad = keep & ~is_number
    record_rows(recorder, table, bad, f"non-numeric {column}: row dropped", raw)
    keep = keep & ~bad
    good = np.flatnonzero(keep)
    if pd.api.types.is_signed_integer_dtype(parsed):
        timestamps[good] = parsed.to_numpy(dtype=np.int64)[good]
        return timestamps, keep
    huge = np.abs(numbers[good]) >= FLOAT_EXACT_INTEGER_LIMIT
    timestamps[good[~huge]] = np.floor(numbers[good[~huge]]).astype(np.int64)
    if huge.any():  # e.g. nanoseconds: parse the digits without a float round trip
        huge_rows = good[huge]
        try:
            timestamps[huge_rows] = raw.iloc[huge_rows].to_numpy(dtype=str).astype(np.int64)
            return timestamps, keep
        except (ValueError, OverflowError):  # "1e30", too many digits: row by row
            exact = [_exact_floor(raw.iloc[row], numbers[row]) for row in huge_rows]
        fits = np.array([INT64_RANGE[0] <= value <= INT64_RANGE[1] for value in exact])
        outside = np.zeros(len(raw), dtype=bool)
        outside[huge_rows[~fits]] = True
        record_rows(recorder, table, outside, f"{column} beyond the int64 range: row dropped", raw)
        keep = keep & ~outside
        timestamps[huge_rows[fits]] = [value for value, fit in zip(exact, fits) if fit]
    return timestamps, keep


def _exact_floor(text: str, number: float) -> int:
    """The integer `text` spells exactly, else the floor of its float value `number`."""
    try:
        return int(text)
    except ValueError:  # "1e30", "12345678901234567.5", ...
        return math.floor(number)


def build_interactions(
    table: TextTable,
    recorder: FallbackRecorder,
    user_column: str,
    item_column: str,
    timestamp_column: Optional[str],
    label_column: Optional[str] = None,
    scenario_column: Optional[str] = None,
) -> Tuple[Interactions, np.ndarray]:
    """Validated interactions of `table`.

    Without `label_column` every label is 1.0 (an implicit click); without
    `timestamp_column` the file order is the time order (the timestamp of
    a row is its position in the table); without `scenario_column` every
    scenario is "default" (so is an empty scenario value, counted).

    Returns:
        (interactions, positions of their rows in `table`).
    """
    keep = np.ones(len(table), dtype=bool)
    keep = drop_repeated_headers(table, keep, recorder)
    required = [c for c in (user_column, item_column, timestamp_column, label_column) if c]
    keep = drop_empty(table, keep, required, recorder)
    labels = np.ones(len(table), dtype=np.float64)
    if label_column:
        labels, keep = parse_numbers(table, keep, label_column, recorder)
    if timestamp_column:
        timestamps, keep = parse_timestamps(table, keep, timestamp_column, recorder)
    else:
        timestamps = np.arange(len(table), dtype=np.int64)
    if scenario_column:
        scenarios = table.stripped(scenario_column)
        empty = keep & table.is_empty(scenario_column)
        record_rows(recorder, table, empty, f"empty {scenario_column}: scenario '{DEFAULT_SCENARIO}' used")
        scenarios = np.where(empty, DEFAULT_SCENARIO, scenarios)
    else:
        scenarios = np.full(len(table), DEFAULT_SCENARIO)
    positions = np.flatnonzero(keep)
    if positions.size == 0:
        raise DataError(f"{table.path}: no usable interaction row is left ({recorder.report.summary()}).")
    interactions = Interactions(
        user_ids=table.stripped(user_column)[positions],
        item_ids=table.stripped(item_column)[positions],
        timestamps=timestamps[positions],
        labels=labels[positions],
        scenarios=scenarios[positions],
    )
    return interactions, positions


def drop_unknown_items(
    interactions: Interactions,
    positions: np.ndarray,
    table: TextTable,
    catalog: ItemCatalog,
    recorder: FallbackRecorder,
) -> Tuple[Interactions, np.ndarray]:
    """Drops (and counts) interactions whose item is not in the catalog."""
    unknown = pd.Index(catalog.item_ids).get_indexer(interactions.item_ids) < 0
    first = _first(unknown)
    if first is not None:
        recorder.record(
            "item not in the catalog: row dropped",
            table.location(int(positions[first])),
            int(unknown.sum()),
            value=str(interactions.item_ids[first]),
        )
    if unknown.all():
        raise DataError(
            f"{table.path}: none of its items is in the catalog (first item id "
            f"{str(interactions.item_ids[0])!r}; catalog ids look like "
            f"{catalog.item_ids[:3].tolist()}). Check the item id columns."
        )
    return interactions.select(~unknown), positions[~unknown]


def note_single_interaction_users(
    interactions: Interactions, positions: np.ndarray, table: TextTable, recorder: FallbackRecorder
):
    """Counts users with exactly one interaction (kept; a note, not an error)."""
    users = pd.Series(interactions.user_ids)
    single = ~users.duplicated(keep=False).to_numpy(dtype=bool)
    first = _first(single)
    if first is not None:
        recorder.note(
            "user with a single interaction",
            table.location(int(positions[first])),
            int(single.sum()),
        )


def catalog_rows(table: TextTable, id_column: str, recorder: FallbackRecorder) -> np.ndarray:
    """Positions of usable catalog rows: empty ids dropped (counted), duplicates refused."""
    keep = drop_repeated_headers(table, np.ones(len(table), dtype=bool), recorder)
    keep = drop_empty(table, keep, [id_column], recorder)
    positions = np.flatnonzero(keep)
    ids = table.stripped(id_column)[positions]
    repeated = pd.Series(ids).duplicated(keep=False).to_numpy(dtype=bool)
    if repeated.any():
        duplicated = pd.unique(ids[repeated])
        first_duplicate = str(duplicated[0])
        lines = [table.location(int(p)) for p in positions[ids == first_duplicate][:2]]
        raise DataError(
            f"{lines[1]}: item id {first_duplicate!r} is already defined at {lines[0]}; "
            f"catalog ids must be unique ({len(duplicated)} duplicated id(s), e.g. "
            f"{duplicated[:5].tolist()})."
        )
    return positions


def build_catalog(
    table: TextTable,
    positions: np.ndarray,
    id_column: str,
    text_fields: Dict[str, np.ndarray],
    recorder: FallbackRecorder,
    fallback_field: str,
    attributes: Optional[np.ndarray] = None,
    attribute_names: Optional[List[str]] = None,
) -> ItemCatalog:
    """The catalog of the rows at `positions`; items without text get their id.

    Args:
        table: the catalog file.
        positions: rows to use (from `catalog_rows`).
        id_column: the column of item ids.
        text_fields: field name -> str array aligned with the table's rows.
        recorder: where fallbacks are counted.
        fallback_field: the text field that receives the id of an item
            without any text (created if absent).
        attributes: optional multi-hot matrix aligned with the table's rows.
        attribute_names: the names of the attribute columns.
    """
    item_ids = table.stripped(id_column)[positions]
    fields = {name: np.char.strip(np.asarray(values, dtype=str)[positions]) for name, values in text_fields.items()}
    if fallback_field not in fields:
        fields[fallback_field] = np.full(len(item_ids), "")
    has_text = np.zeros(len(item_ids), dtype=bool)
    for values in fields.values():
        has_text |= values != ""
    first = _first(~has_text)
    if first is not None:
        recorder.record(
            "item without any text: its id is used as its text",
            table.location(int(positions[first])),
            int((~has_text).sum()),
            value=str(item_ids[first]),
        )
        fields[fallback_field] = np.where(has_text, fields[fallback_field], item_ids)
    return ItemCatalog(
        item_ids=item_ids,
        text_fields=fields,
        attributes=None if attributes is None else attributes[positions],
        attribute_names=list(attribute_names or []),
    )


def multi_hot(
    label_strings: np.ndarray,
    separator: str,
    excluded: Sequence[str] = (),
    names: Optional[Sequence[str]] = None,
) -> Tuple[np.ndarray, List[str], np.ndarray]:
    """Multi-hot attributes and readable text from strings like "Action|Comedy".

    Args:
        label_strings: one string of `separator`-joined labels per item.
        separator: e.g. "|".
        excluded: labels that are no attribute (e.g. "(no genres listed)").
        names: the attribute order; by default the sorted distinct labels.

    Returns:
        (float32 [items, names] matrix, names, per item the labels in their
        written order joined by ", ", "" when none).

    Examples:
        >>> matrix, names, text = multi_hot(np.array(["b|a", "", "a"]), "|")
        >>> names, matrix.tolist(), text.tolist()
        (['a', 'b'], [[1.0, 1.0], [0.0, 0.0], [1.0, 0.0]], ['b, a', '', 'a'])
    """
    labels = pd.Series(np.asarray(label_strings, dtype=str)).str.split(separator, regex=False).explode()
    labels = labels.str.strip()
    labels = labels[(labels != "") & ~labels.isin(list(excluded))]
    if names is None:
        names = sorted(labels.unique().tolist())
    names = list(names)
    matrix = np.zeros((len(label_strings), len(names)), dtype=np.float32)
    columns = pd.Index(names).get_indexer(labels.to_numpy(dtype=str))
    named = columns >= 0
    matrix[labels.index.to_numpy()[named], columns[named]] = 1.0
    text = np.full(len(label_strings), "", dtype=object)
    if len(labels):
        joined = labels.groupby(level=0, sort=False).agg(TEXT_JOINER.join)
        text[joined.index.to_numpy()] = joined.to_numpy()
    return matrix, names, text.astype(str)
