"""The canonical schema every data source is converted to.

All ids are strings (MovieLens' integer ids become "1", "2", ...), so users'
own logs with string ids need no special casing and exported SavedModels take
`tf.string` ids. Arrays are NumPy, aligned by position.

- `Interactions`: one row per event (user, item, timestamp, label, scenario).
- `ItemCatalog`: one row per item with its text fields and, optionally,
  multi-hot attributes (e.g. genres) used by the auxiliary task.
- `UserFeatures`: optional categorical features per user (e.g. age group).
- `InteractionData`: the three together, plus a `LoadReport` of rows a loader
  skipped (documented fallbacks, never silent).
"""

import dataclasses
from typing import Dict, List, Optional

import numpy as np

DEFAULT_SCENARIO = "default"
NOTE_PREFIX = "note (kept): "
TEXT_FIELD_SEPARATOR = ". "


def _as_str_array(values) -> np.ndarray:
    return np.asarray(values, dtype=str)


@dataclasses.dataclass
class Interactions:
    """User-item events, aligned arrays of equal length.

    Args:
        user_ids: str array, who interacted.
        item_ids: str array, with what.
        timestamps: int64 array, when (any monotone unit, e.g. Unix seconds).
        labels: float32 array, the rating or the click label (1.0 = clicked).
        scenarios: str array, the scenario/domain of each event.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    timestamps: np.ndarray
    labels: np.ndarray
    scenarios: np.ndarray

    def __post_init__(self):
        self.user_ids = _as_str_array(self.user_ids)
        self.item_ids = _as_str_array(self.item_ids)
        self.timestamps = np.asarray(self.timestamps, dtype=np.int64)
        self.labels = np.asarray(self.labels, dtype=np.float32)
        if self.scenarios is None:
            self.scenarios = np.full(len(self.user_ids), DEFAULT_SCENARIO)
        self.scenarios = _as_str_array(self.scenarios)
        lengths = {
            len(self.user_ids),
            len(self.item_ids),
            len(self.timestamps),
            len(self.labels),
            len(self.scenarios),
        }
        if len(lengths) != 1:
            raise ValueError(
                "Interactions arrays must have equal lengths, got "
                f"user_ids={len(self.user_ids)}, item_ids={len(self.item_ids)}, "
                f"timestamps={len(self.timestamps)}, labels={len(self.labels)}, "
                f"scenarios={len(self.scenarios)}."
            )

    def __len__(self) -> int:
        return len(self.user_ids)

    def select(self, mask_or_index) -> "Interactions":
        """Returns the rows picked by a boolean mask or an index array."""
        return Interactions(
            user_ids=self.user_ids[mask_or_index],
            item_ids=self.item_ids[mask_or_index],
            timestamps=self.timestamps[mask_or_index],
            labels=self.labels[mask_or_index],
            scenarios=self.scenarios[mask_or_index],
        )


@dataclasses.dataclass
class ItemCatalog:
    """Items and their text.

    Args:
        item_ids: str array of unique item ids.
        text_fields: field name -> str array aligned with `item_ids`
            (e.g. "title", "genres", "tags", "description"); "" = missing.
        attributes: optional float32 [num_items, num_attributes] multi-hot
            matrix (e.g. genres), the target of the auxiliary task.
        attribute_names: names of the attribute columns.
    """

    item_ids: np.ndarray
    text_fields: Dict[str, np.ndarray]
    attributes: Optional[np.ndarray] = None
    attribute_names: List[str] = dataclasses.field(default_factory=list)

    def __post_init__(self):
        self.item_ids = _as_str_array(self.item_ids)
        if len(np.unique(self.item_ids)) != len(self.item_ids):
            values, counts = np.unique(self.item_ids, return_counts=True)
            raise ValueError(f"ItemCatalog item_ids must be unique; duplicated: {values[counts > 1][:5].tolist()}")
        self.text_fields = {name: _as_str_array(values) for name, values in self.text_fields.items()}
        for name, values in self.text_fields.items():
            if len(values) != len(self.item_ids):
                raise ValueError(f"Text field {name!r} has {len(values)} values for {len(self.item_ids)} items.")
        if self.attributes is not None:
            self.attributes = np.asarray(self.attributes, dtype=np.float32)
            if self.attributes.shape[0] != len(self.item_ids):
                raise ValueError(f"attributes has {self.attributes.shape[0]} rows for {len(self.item_ids)} items.")

    def __len__(self) -> int:
        return len(self.item_ids)

    def texts(self, fields: Optional[List[str]] = None) -> np.ndarray:
        """One text per item: the non-empty `fields` joined by '. '."""
        fields = list(self.text_fields) if fields is None else fields
        columns = [self.text_fields[f] for f in fields if f in self.text_fields]
        texts = []
        for parts in zip(*columns) if columns else [() for _ in self.item_ids]:
            texts.append(TEXT_FIELD_SEPARATOR.join(p.strip() for p in parts if p.strip()))
        return np.asarray(texts, dtype=str)

    def select(self, mask_or_index) -> "ItemCatalog":
        """Returns the items picked by a boolean mask or an index array."""
        return ItemCatalog(
            item_ids=self.item_ids[mask_or_index],
            text_fields={k: v[mask_or_index] for k, v in self.text_fields.items()},
            attributes=None if self.attributes is None else self.attributes[mask_or_index],
            attribute_names=list(self.attribute_names),
        )


@dataclasses.dataclass
class UserFeatures:
    """Categorical features per user (e.g. MovieLens demographics).

    Args:
        user_ids: str array of unique user ids.
        columns: feature name -> str array aligned with `user_ids`.
    """

    user_ids: np.ndarray
    columns: Dict[str, np.ndarray]

    def __post_init__(self):
        self.user_ids = _as_str_array(self.user_ids)
        self.columns = {k: _as_str_array(v) for k, v in self.columns.items()}


@dataclasses.dataclass
class LoadReport:
    """What a loader skipped or repaired, so nothing is lost silently.

    `skipped` maps a reason to (count, first location), e.g.
    {"non-numeric rating": (12, "ratings.csv:381")}. `columns` says which
    column became what (role -> description, e.g. {"timestamp": "file
    order"}) and `notes` what a loader chose about whole columns (e.g. a
    column left out of the item text); both are empty for loaders with a
    fixed layout.
    """

    skipped: Dict[str, List] = dataclasses.field(default_factory=dict)
    columns: Dict[str, str] = dataclasses.field(default_factory=dict)
    notes: List[str] = dataclasses.field(default_factory=list)

    def add(self, reason: str, location: str, count: int = 1):
        if count <= 0:
            return
        if reason in self.skipped:
            self.skipped[reason][0] += count
        else:
            self.skipped[reason] = [count, location]

    def summary(self) -> str:
        if not self.skipped:
            return "no rows skipped"
        parts = []
        for reason, (count, where) in self.skipped.items():
            if reason.startswith(NOTE_PREFIX):
                parts.append(f"{count} rows kept with a note: {reason[len(NOTE_PREFIX) :].strip()}, first at {where}")
            else:
                parts.append(f"{count} rows skipped: {reason}, first at {where}")
        return "; ".join(parts)


@dataclasses.dataclass
class InteractionData:
    """A whole data source in the canonical schema.

    Args:
        name: a short name of the source, e.g. "ml-100k" or "builtin".
        interactions: the events.
        catalog: every item that may be recommended, including items that
            only appear after a time cut (cold-start items).
        label_kind: "rating" (regression) or "click" (binary).
        user_features: optional per-user categorical features.
        report: rows the loader skipped.
    """

    name: str
    interactions: Interactions
    catalog: ItemCatalog
    label_kind: str = "rating"
    user_features: Optional[UserFeatures] = None
    report: LoadReport = dataclasses.field(default_factory=LoadReport)

    def __post_init__(self):
        if self.label_kind not in ("rating", "click"):
            raise ValueError(f"label_kind must be 'rating' or 'click', got {self.label_kind!r}")
