"""The invariant every loader keeps on any input: nothing lost silently, nothing crashes.

For any input, the loader returns `InteractionData` or raises `DataError`,
nothing else; every kept row is valid (non-empty stripped ids, a finite
label, an item of the catalog, every item has text, user features are
unique); rows kept + rows the report counts as dropped == the data rows of
the files (a reason ending in "row dropped" is a drop; repairs keep the row;
notes are kept rows worth knowing about); "structured" rows, generated with
a known fate, are kept exactly as written or dropped; `strict=True` raises
`DataError` exactly when the lenient load reported a fallback (a drop or a
repair) or failed, and otherwise loads the same data.

`check_source(source)` checks all of it on one `GeneratedSource` and raises
`InvariantViolation` when it breaks.
"""

import dataclasses
import functools
import os
import tempfile
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from tfrec_llm.data.data_error import DataError
from tfrec_llm.data.interaction_data import NOTE_PREFIX, InteractionData, LoadReport
from tfrec_llm.testing.row_oracle import STRUCTURED_USERS

DROP_SUFFIX = "row dropped"


class InvariantViolation(AssertionError):
    """A loader kept an invalid row, lost rows silently, or strict mode disagreed."""


def require(condition: bool, message: str):
    if not condition:
        raise InvariantViolation(message)


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
        files = self.preview or "\n".join(f"  {name}: {content!r}" for name, content in self.files.items())
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
    return {reason: count for reason, (count, _) in report.skipped.items() if not reason.startswith(NOTE_PREFIX)}


def dropped_rows(report: LoadReport) -> int:
    return sum(count for reason, count in fallback_counts(report).items() if reason.endswith(DROP_SUFFIX))


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
    require(not unknown.any(), f"items not in the catalog were kept: {events.item_ids[unknown][:3]}")
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


def check_strict_agrees(load_strict: Callable[[], InteractionData], lenient: Optional[InteractionData]):
    """strict=True refuses exactly what needed a fallback (or failed), else loads the same."""
    must_refuse = lenient is None or bool(fallback_counts(lenient.report))
    try:
        strict = load_strict()
    except DataError as error:
        if not must_refuse:
            raise InvariantViolation(f"strict=True refused data loaded without any fallback: {error}") from error
        return
    require(
        not must_refuse,
        "strict=True accepted data "
        + ("the lenient load refused" if lenient is None else f"that needed fallbacks: {lenient.report.summary()}"),
    )
    require(strict.report.skipped == lenient.report.skipped, "strict and lenient reports differ")
    require(interaction_rows(strict) == interaction_rows(lenient), "strict and lenient loads differ")


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
            f"structured rows kept {kept_structured}, expected {source.expected} ({data.report.summary()})",
        )
    return LoadOutcome(True, rows, kept, fallback_counts(data.report))


def _kept_rows_of_unobserved_file(source: GeneratedSource, folder: str, data: InteractionData) -> int:
    """Rows of `source.unobserved_file` kept: its rows minus the drops it adds to the report."""
    os.remove(os.path.join(folder, source.unobserved_file))
    try:
        without = source.load(folder, False)
    except DataError as error:
        raise InvariantViolation(f"loading fails without {source.unobserved_file}: {error}") from None
    require(
        interaction_rows(without) == interaction_rows(data),
        f"{source.unobserved_file} changed the interactions",
    )
    rows = source.rows_per_file[source.unobserved_file]
    dropped = dropped_rows(data.report) - dropped_rows(without.report)
    require(0 <= dropped <= rows, f"{dropped} rows of {source.unobserved_file} dropped, it has {rows}")
    texts = data.catalog.text_fields.get("tags", np.array([], dtype=str))
    require(
        (rows - dropped > 0) == bool((texts != "").any()),
        f"{rows - dropped} rows of {source.unobserved_file} kept, tags {texts.tolist()}",
    )
    return rows - dropped
