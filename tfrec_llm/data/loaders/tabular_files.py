"""Loads users' own interaction logs and item catalogs from CSV or Parquet.

Two files: the interactions (one event per row) and the catalog (one item
per row). The format follows the extension: `.csv` (UTF-8, with a header
row) or `.parquet` (needs pyarrow). Column names are configurable with
`TabularColumns`. Bad rows follow the fallbacks of `row_checks`: counted in
the returned report, or a `DataError` with `strict=True`.
"""

import dataclasses
import os
from typing import List, Optional

import numpy as np
import pandas as pd

from tfrec_llm.data.loaders import row_checks
from tfrec_llm.data.data_error import DataError
from tfrec_llm.data.loaders.fallback_recorder import FallbackRecorder
from tfrec_llm.data.interaction_data import InteractionData
from tfrec_llm.data.loaders.text_table import TextTable

TABULAR_EXTENSIONS = (".csv", ".parquet")
DEFAULT_ATTRIBUTE_SEPARATOR = "|"


@dataclasses.dataclass
class TabularColumns:
    """Which columns of the two files hold what.

    Args:
        user_id: interactions column of user ids.
        item_id: interactions column of item ids.
        timestamp: interactions column of event times (numbers, e.g. Unix
            seconds, or ISO 8601 datetimes).
        label: optional interactions column of ratings or click labels;
            without it every event counts as a click (label 1.0).
        scenario: optional interactions column of scenarios/domains;
            without it every event is in scenario "default".
        catalog_item_id: catalog column of item ids.
        text_fields: catalog columns used as item text; by default every
            column other than the id whose values are not all numbers (an
            attributes column used as text reads "a, b" instead of "a|b").
        attributes: optional catalog column of `attribute_separator`-joined
            labels (e.g. "Action|Comedy"), turned into multi-hot attributes.
        attribute_separator: separator of the attribute labels.

    Examples:
        >>> TabularColumns(user_id="visitor", item_id="sku", timestamp="ts",
        ...                catalog_item_id="sku", attributes="categories")
        ... # doctest: +ELLIPSIS
        TabularColumns(user_id='visitor', item_id='sku', ...)
    """

    user_id: str = "user_id"
    item_id: str = "item_id"
    timestamp: str = "timestamp"
    label: Optional[str] = None
    scenario: Optional[str] = None
    catalog_item_id: str = "item_id"
    text_fields: Optional[List[str]] = None
    attributes: Optional[str] = None
    attribute_separator: str = DEFAULT_ATTRIBUTE_SEPARATOR


def read_table(path: str, recorder: FallbackRecorder) -> TextTable:
    """Reads a `.csv` or `.parquet` file as a `TextTable`."""
    extension = os.path.splitext(path)[1].lower()
    if extension == ".csv":
        return TextTable.from_csv(path, recorder)
    if extension == ".parquet":
        return TextTable.from_parquet(path)
    raise DataError(
        f"{path}: unsupported file type {extension or '(none)'!r}; use one of "
        f"{', '.join(TABULAR_EXTENSIONS)}."
    )


def load_tabular_files(
    interactions_path: str,
    items_path: str,
    columns: Optional[TabularColumns] = None,
    strict: bool = False,
) -> InteractionData:
    """Loads an interaction log and its item catalog.

    Args:
        interactions_path: `.csv` or `.parquet` file of events.
        items_path: `.csv` or `.parquet` file of items.
        columns: the column names (defaults: `TabularColumns()`).
        strict: raise a `DataError` instead of applying any fallback.

    Returns:
        InteractionData named after the interactions file; label_kind
        "rating" with a label column, else "click".
    """
    columns = TabularColumns() if columns is None else columns
    recorder = FallbackRecorder(strict)
    items = read_table(items_path, recorder)
    catalog = _catalog(items, columns, recorder)
    events = read_table(interactions_path, recorder)
    events.require_columns(
        [columns.user_id, columns.item_id, columns.timestamp]
        + [c for c in (columns.label, columns.scenario) if c],
        "interactions file",
    )
    interactions, positions = row_checks.build_interactions(
        events,
        recorder,
        columns.user_id,
        columns.item_id,
        columns.timestamp,
        label_column=columns.label,
        scenario_column=columns.scenario,
    )
    interactions, positions = row_checks.drop_unknown_items(
        interactions, positions, events, catalog, recorder
    )
    row_checks.note_single_interaction_users(interactions, positions, events, recorder)
    return InteractionData(
        name=os.path.splitext(os.path.basename(interactions_path))[0],
        interactions=interactions,
        catalog=catalog,
        label_kind="rating" if columns.label else "click",
        report=recorder.report,
    )


def _catalog(items: TextTable, columns: TabularColumns, recorder: FallbackRecorder):
    wanted = [columns.catalog_item_id] + list(columns.text_fields or [])
    items.require_columns(
        wanted + ([columns.attributes] if columns.attributes else []), "catalog file"
    )
    positions = row_checks.catalog_rows(items, columns.catalog_item_id, recorder)
    text_names = columns.text_fields
    if text_names is None:
        text_names = [
            name
            for name in items.columns
            if name != columns.catalog_item_id and not _all_numbers(items.stripped(name)[positions])
        ]
    text_fields = {name: items.values(name) for name in text_names}
    attributes, attribute_names = None, []
    if columns.attributes:
        attributes, attribute_names, readable = row_checks.multi_hot(
            items.stripped(columns.attributes), columns.attribute_separator
        )
        if columns.attributes in text_fields:
            text_fields[columns.attributes] = readable
    return row_checks.build_catalog(
        items,
        positions,
        columns.catalog_item_id,
        text_fields,
        recorder,
        fallback_field=text_names[0] if text_names else columns.catalog_item_id,
        attributes=attributes,
        attribute_names=attribute_names,
    )


def _all_numbers(values: np.ndarray) -> bool:
    present = values[values != ""]
    if present.size == 0:
        return True
    return bool(pd.to_numeric(pd.Series(present), errors="coerce").notna().all())
