"""Which columns of a user's interactions and catalog files hold what.

`TabularColumns` names the columns (from Python, from `--columns
role=column,...` or from the data config's "columns" object, both through
`TabularColumns.from_mapping`). What is left unnamed is found in the file's
header by `resolve_event_columns`:

- timestamp: a column named `timestamp` (any case); without one, the order
  of the rows in the file is their time order (row 1 happened first);
- label: a column named `rating`, `label` or `score` (any case, in that
  order of preference) holds the labels (ratings); without one, every event
  is a click (label 1.0).
"""

import dataclasses
from typing import Dict, List, Mapping, Optional, Sequence, Union

from tfrec_llm.data.data_error import DataError

DEFAULT_ATTRIBUTE_SEPARATOR = "|"
TIMESTAMP_COLUMN = "timestamp"
LABEL_COLUMN_NAMES = ("rating", "label", "score")
FILE_ORDER = "file order"
# Roles of `from_mapping` (and of `--columns`); "text" sets `text_fields`.
COLUMN_ROLES = (
    "user_id",
    "item_id",
    "timestamp",
    "label",
    "scenario",
    "catalog_item_id",
    "text",
    "attributes",
)
TEXT_ROLE = "text"


@dataclasses.dataclass
class TabularColumns:
    """Which columns of the two files hold what.

    Args:
        user_id: interactions column of user ids.
        item_id: interactions column of item ids.
        timestamp: interactions column of event times (numbers, e.g. Unix
            seconds, or ISO 8601 dates/datetimes such as 2020-01-31). None:
            the column `timestamp` if the file has one, else the file order
            is the time order (each row happened after the rows above it).
        label: interactions column of ratings or click labels. None: the
            first column named `rating`, `label` or `score` (any case), else
            every event counts as a click (label 1.0).
        scenario: optional interactions column of scenarios/domains;
            without it every event is in scenario "default".
        catalog_item_id: catalog column of item ids (None: the same name as
            `item_id`).
        text_fields: catalog columns used as item text; by default every
            column other than the id whose values are not all numbers (an
            attributes column used as text reads "a, b" instead of "a|b").
            All-numeric columns left out are noted in the load report.
        attributes: optional catalog column of `attribute_separator`-joined
            labels (e.g. "Action|Comedy"), turned into multi-hot attributes.
        attribute_separator: separator of the attribute labels.

    Examples:
        >>> TabularColumns(user_id="visitor", item_id="sku", timestamp="ts",
        ...                attributes="categories")  # doctest: +ELLIPSIS
        TabularColumns(user_id='visitor', item_id='sku', timestamp='ts', ...)
        >>> TabularColumns.from_mapping({"item_id": "sku", "text": ["title", "tags"]}).text_fields
        ['title', 'tags']
    """

    user_id: str = "user_id"
    item_id: str = "item_id"
    timestamp: Optional[str] = None
    label: Optional[str] = None
    scenario: Optional[str] = None
    catalog_item_id: Optional[str] = None
    text_fields: Optional[List[str]] = None
    attributes: Optional[str] = None
    attribute_separator: str = DEFAULT_ATTRIBUTE_SEPARATOR

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Union[str, Sequence[str]]]) -> "TabularColumns":
        """Columns from `{role: column}`; roles are `COLUMN_ROLES`, "text" takes a list.

        Raises:
            DataError: for an unknown role or an empty column name.
        """
        values = {}
        for role, name in mapping.items():
            if role not in COLUMN_ROLES:
                raise DataError(f"unknown column role {role!r}; roles are {', '.join(COLUMN_ROLES)}.")
            names = [name] if isinstance(name, str) else list(name)
            if not names or not all(isinstance(n, str) and n for n in names):
                raise DataError(f"column role {role!r} needs a column name, got {name!r}.")
            if role == TEXT_ROLE:
                values["text_fields"] = names
            elif len(names) > 1:
                raise DataError(f"column role {role!r} takes one column, got {names}.")
            else:
                values[role] = names[0]
        return cls(**values)

    def catalog_id_column(self) -> str:
        """The catalog's item id column: `catalog_item_id`, else `item_id`."""
        return self.catalog_item_id or self.item_id


def resolve_event_columns(columns: TabularColumns, header: Sequence[str]) -> TabularColumns:
    """`columns` with the timestamp and label found in `header` when not named.

    After resolution `timestamp` None means "file order" and `label` None
    means "clicks". Named columns are kept as they are (the loader checks
    that they exist).
    """
    taken = {columns.user_id, columns.item_id, columns.scenario, columns.timestamp, columns.label}
    free = [name for name in header if name not in taken]
    timestamp = columns.timestamp or _first_named(free, (TIMESTAMP_COLUMN,))
    label = columns.label or _first_named([n for n in free if n != timestamp], LABEL_COLUMN_NAMES)
    return dataclasses.replace(columns, timestamp=timestamp, label=label)


def _first_named(header: Sequence[str], wanted: Sequence[str]) -> Optional[str]:
    """The column of `header` whose name (any case, trimmed) comes first in `wanted`."""
    by_name: Dict[str, str] = {}
    for name in header:
        by_name.setdefault(name.strip().lower(), name)
    for name in wanted:
        if name in by_name:
            return by_name[name]
    return None
