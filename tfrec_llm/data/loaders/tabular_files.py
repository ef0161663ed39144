"""Loads users' own interaction logs and item catalogs from CSV or Parquet.

Two files: the interactions (one event per row) and the catalog (one item
per row). The format follows the extension: `.csv` (UTF-8, with a header
row) or `.parquet` (needs pyarrow). Column names are configurable with
`TabularColumns` (`--columns` on the command line); a file without a
timestamp column is in time order, a `rating`/`label`/`score` column is the
label (see `tabular_columns`). Which column became what is logged and kept
in the report's `columns`. Bad rows follow the fallbacks of `row_checks`:
counted in the returned report, or a `DataError` with `strict=True`.
"""

import logging
import os
from typing import Optional

import numpy as np
import pandas as pd

from tfrec_llm.data.loaders import row_checks
from tfrec_llm.data.data_error import DataError
from tfrec_llm.data.loaders.fallback_recorder import FallbackRecorder
from tfrec_llm.data.interaction_data import InteractionData
from tfrec_llm.data.loaders.tabular_columns import (
    COLUMN_ROLES,
    FILE_ORDER,
    TabularColumns,
    resolve_event_columns,
)
from tfrec_llm.data.loaders.text_table import TextTable

logger = logging.getLogger(__name__)

TABULAR_EXTENSIONS = (".csv", ".parquet")
COLUMNS_HINT = (
    "Name the right columns with --columns role=column,... (roles: "
    + ", ".join(COLUMN_ROLES)
    + '; or "columns" in the data config, or TabularColumns) or fix the file\'s header.'
)


def read_table(path: str, recorder: FallbackRecorder) -> TextTable:
    """Reads a `.csv` or `.parquet` file as a `TextTable`."""
    extension = os.path.splitext(path)[1].lower()
    if extension == ".csv":
        return TextTable.from_csv(path, recorder)
    if extension == ".parquet":
        return TextTable.from_parquet(path)
    raise DataError(
        f"{path}: unsupported file type {extension or '(none)'!r}; use one of {', '.join(TABULAR_EXTENSIONS)}."
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
        columns: the column names (defaults: `TabularColumns()`); the
            timestamp and label are found by name when not given.
        strict: raise a `DataError` instead of applying any fallback.

    Returns:
        InteractionData named after the interactions file; label_kind
        "rating" with a label column, else "click"; `report.columns` says
        which column became what, `report.notes` which numeric columns were
        left out of the item text.
    """
    columns = TabularColumns() if columns is None else columns
    recorder = FallbackRecorder(strict)
    items = read_table(items_path, recorder)
    catalog = _catalog(items, columns, recorder)
    events = read_table(interactions_path, recorder)
    resolved = resolve_event_columns(columns, events.columns)
    events.require_columns(
        [c for c in (resolved.user_id, resolved.item_id, resolved.timestamp) if c]
        + [c for c in (resolved.label, resolved.scenario) if c],
        "interactions file",
        hint=COLUMNS_HINT,
    )
    _describe_event_columns(columns, resolved, interactions_path, recorder.report.columns)
    interactions, positions = row_checks.build_interactions(
        events,
        recorder,
        resolved.user_id,
        resolved.item_id,
        resolved.timestamp,
        label_column=resolved.label,
        scenario_column=resolved.scenario,
    )
    interactions, positions = row_checks.drop_unknown_items(interactions, positions, events, catalog, recorder)
    row_checks.note_single_interaction_users(interactions, positions, events, recorder)
    described = recorder.report.columns
    recorder.report.columns = {role: described[role] for role in COLUMN_ROLES if role in described}
    return InteractionData(
        name=os.path.splitext(os.path.basename(interactions_path))[0],
        interactions=interactions,
        catalog=catalog,
        label_kind="rating" if resolved.label else "click",
        report=recorder.report,
    )


def _describe_event_columns(given: TabularColumns, resolved: TabularColumns, path: str, described: dict):
    """Logs the columns found by name (or their absence) and fills `described`."""
    name = os.path.basename(path)
    found = ", found by its name"
    if resolved.timestamp is None:
        logger.info(
            "%s has no timestamp column: its row order is taken as the time order "
            "(name one with --columns timestamp=<column>).",
            name,
        )
        timestamp = f"{FILE_ORDER} (no timestamp column)"
    else:
        timestamp = resolved.timestamp + ("" if given.timestamp else f" ({found[2:]})")
    if resolved.label is None:
        label = "none (clicks: every label 1)"
    else:
        if not given.label:
            logger.info("%s: using column %r as the label (ratings).", name, resolved.label)
        label = f"{resolved.label} (ratings{'' if given.label else found})"
    described.update(
        {
            "user_id": resolved.user_id,
            "item_id": resolved.item_id,
            "timestamp": timestamp,
            "label": label,
            "scenario": resolved.scenario or "none (every event 'default')",
        }
    )


def _catalog(items: TextTable, columns: TabularColumns, recorder: FallbackRecorder):
    id_column = columns.catalog_id_column()
    hint = COLUMNS_HINT
    if columns.catalog_item_id is None and id_column not in items.columns:
        hint = (
            f"The catalog's item id column defaults to the interactions' item_id column "
            f"{id_column!r}; name it with --columns catalog_item_id=<column>. " + COLUMNS_HINT
        )
    items.require_columns([id_column], "catalog file", hint=hint)
    items.require_columns(
        list(columns.text_fields or []) + ([columns.attributes] if columns.attributes else []),
        "catalog file",
        hint=COLUMNS_HINT,
    )
    positions = row_checks.catalog_rows(items, id_column, recorder)
    text_names = columns.text_fields
    if text_names is None:
        others = [name for name in items.columns if name != id_column]
        numeric = [name for name in others if _all_numbers(items.stripped(name)[positions])]
        text_names = [name for name in others if name not in numeric]
        for name in numeric:
            note = (
                f"{os.path.basename(items.path)}: all-numeric column {name!r} is not used as item "
                "text (name the text columns with --columns text=a+b to keep it)"
            )
            logger.info("%s.", note)
            recorder.report.notes.append(note)
    recorder.report.columns.update(
        {
            "catalog_item_id": id_column,
            "text": ", ".join(text_names) if text_names else "none (the item ids)",
            "attributes": columns.attributes or "none",
        }
    )
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
        id_column,
        text_fields,
        recorder,
        fallback_field=text_names[0] if text_names else id_column,
        attributes=attributes,
        attribute_names=attribute_names,
    )


def _all_numbers(values: np.ndarray) -> bool:
    present = values[values != ""]
    if present.size == 0:
        return True
    return bool(pd.to_numeric(pd.Series(present), errors="coerce").notna().all())
