"""Carrying item identity across domains: the same item in both catalogs, found by an item text field.

Two domains often share items under other ids (the same film on two sites:
"Toy Story (1995)" in both MovieLens catalogs). `adapt` matches the trained
model's catalog to the new one by a text field, compared case- and
whitespace-insensitively (`match_key`: lower case, runs of white space made
one space, stripped), and a matched new item starts from the trained item's
learned state (`domain_transfer.copy_matched_items`) instead of its text
alone.

The field (`AdaptConfig.match_items_by`):
- "auto" (default): "title" when the new catalog has a title field, else none;
- "none": no matching (every new item is its text until trained);
- "title": the catalogs' title field; the trained model's side is its saved
  display titles (`ModelAssets.item_titles`);
- "text": the whole item text the encoder read (`ModelAssets.item_texts`);
- "title_loose": "title", then the items still unmatched by their title with
  every bracketed part but a final year dropped (`loose_title_key`: "Twelve
  Monkeys (1995)" = "Twelve Monkeys (a.k.a. 12 Monkeys) (1995)"), counted
  apart as `loose_matched`.
A trained model directory keeps only titles and texts, so other fields are
an error naming the field, and so is a field the new catalog lacks.

Rules: only trained items with an id slot of their own (seen in the source's
training: something learned to copy) are candidates; when several candidates
share a key, the most interacted one wins (ties: the first in catalog order),
counted as `source_duplicates` (keys) and `source_duplicate_items` (items
passed over). Several new items with one key all copy the same item.

Example:
    match = find_matches("auto", trained.config, trained.assets, data.catalog, trained.config.text.text_fields)
    print(match.summary())  # {"field": "title", "matched": 1205, "new_items": 1682, ...}
"""

import dataclasses
import logging
import re
from typing import Optional

import numpy as np

from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX, OOV_SLOT

MATCH_AUTO = "auto"
MATCH_NONE = "none"
TITLE_FIELD = "title"
TEXT_FIELD = "text"
LOOSE_TITLE = "title_loose"
_SPACES = re.compile(r"\s+")
_BRACKETS = re.compile(r"\([^()]*\)")
_FINAL_YEAR = re.compile(r"\((\d{4})\)$")
logger = logging.getLogger(__name__)


def match_key(text: str) -> str:
    """The comparison key of a text: lower case, white space runs made one space, stripped."""
    return _SPACES.sub(" ", str(text)).strip().lower()


def loose_title_key(text: str) -> str:
    """`match_key` with every bracketed part dropped but a final "(year)": alternate titles ignored."""
    key = match_key(text)
    year = _FINAL_YEAR.search(key)
    base = match_key(_BRACKETS.sub(" ", key))
    return f"{base} {year.group(0)}" if year else base


@dataclasses.dataclass
class ItemMatch:
    """New catalog items matched to trained items (both as item indices, aligned).

    Args:
        field: the text field matched on.
        new_index: int [M] item indices in the new domain's index space.
        source_index: int [M] the matched trained item of each (trained index space).
        new_items: the new catalog's size.
        source_duplicates: keys several trained candidates shared (every exact
            key; loose keys only when a loose match used them).
        source_duplicate_items: candidates passed over for a more interacted one.
        loose_matched: of the matches, those found by `loose_title_key` only.
    """

    field: str
    new_index: np.ndarray
    source_index: np.ndarray
    new_items: int
    source_duplicates: int = 0
    source_duplicate_items: int = 0
    loose_matched: int = 0

    def summary(self) -> dict:
        """JSON-ready counts (for `adapt.json` and the metrics)."""
        return {
            "field": self.field,
            "matched": int(len(self.new_index)),
            "new_items": int(self.new_items),
            "source_duplicates": int(self.source_duplicates),
            "source_duplicate_items": int(self.source_duplicate_items),
            "loose_matched": int(self.loose_matched),
        }


def resolve_field(match_items_by: str, source_config, source_assets, catalog) -> Optional[str]:
    """The field to match on (None: no matching); ValueError naming a field either catalog lacks."""
    if match_items_by == MATCH_NONE:
        return None
    if match_items_by == MATCH_AUTO:
        usable = _has_id_rows(source_config) and _source_has_title(source_config, source_assets)
        return TITLE_FIELD if usable and TITLE_FIELD in catalog.text_fields else None
    if not _has_id_rows(source_config):
        raise ValueError(
            f"match_items_by={match_items_by!r}: the trained model has no id row of its own per item "
            "(model.use_item_ids off or model.id_hash_buckets set): nothing to copy; choose 'none'."
        )
    if match_items_by not in (TITLE_FIELD, TEXT_FIELD, LOOSE_TITLE):
        raise ValueError(
            f"match_items_by={match_items_by!r}: a trained model directory keeps only its items' "
            f"{TITLE_FIELD!r} and {TEXT_FIELD!r} (assets.npz), so items match by one of those, "
            f"{MATCH_AUTO!r} or {MATCH_NONE!r}."
        )
    if match_items_by in (TITLE_FIELD, LOOSE_TITLE):
        if TITLE_FIELD not in catalog.text_fields:
            raise ValueError(
                f"match_items_by={match_items_by!r}: the new catalog has no 'title' field (its text fields: "
                f"{sorted(catalog.text_fields)}); choose 'text' or 'none'."
            )
        if not _source_has_title(source_config, source_assets):
            raise ValueError(
                f"match_items_by={match_items_by!r}: the trained model's catalog had no 'title' field (its saved "
                "titles are its item texts; see its config.json text.text_fields); choose 'text' or 'none'."
            )
    return match_items_by


def _has_id_rows(source_config) -> bool:
    return bool(source_config.model.use_item_ids and not source_config.model.id_hash_buckets)


def _source_has_title(source_config, source_assets) -> bool:
    """False when the trained catalog had no title field: its saved titles are its texts, of other fields.

    (Titles equal to texts with "title" read, or all fields read, are a title-only catalog's: kept.)
    """
    fields = source_config.text.text_fields
    if fields is None or TITLE_FIELD in fields:
        return True
    return bool(np.any(np.asarray(source_assets.item_titles, str) != np.asarray(source_assets.item_texts, str)))


def find_matches(match_items_by: str, source_config, source_assets, catalog, text_fields) -> Optional[ItemMatch]:
    """The new catalog's items matched to the trained model's (None: no matching; see the module docstring).

    Args:
        match_items_by: "auto", "none", "title", "text" or "title_loose".
        source_config, source_assets: the trained model's config and assets.
        catalog: the new domain's `ItemCatalog`.
        text_fields: the fields joined into the item text ("text" matching).
    """
    field = resolve_field(match_items_by, source_config, source_assets, catalog)
    if field is None:
        return None
    values = catalog.texts(text_fields) if field == TEXT_FIELD else catalog.text_fields[TITLE_FIELD]
    match = match_items(field, source_assets, values)
    logger.info(
        "Item matching: matched %d of %d new items by %s (%d by the loose title; %d values shared by several "
        "trained items: the most interacted kept).",
        len(match.new_index),
        match.new_items,
        field,
        match.loose_matched,
        match.source_duplicates,
    )
    return match


def match_items(field: str, source_assets, new_values) -> ItemMatch:
    """Matches the new catalog's `new_values` (of `field`, catalog order) to the trained items.

    Args:
        field: "title", "text" (which of the trained model's tables is read) or
            "title_loose" (titles, then `loose_title_key` for the rest).
        source_assets: the trained model's `ModelAssets`.
        new_values: str [N] the new catalog's values of `field`.
    """
    values = source_assets.item_texts if field == TEXT_FIELD else source_assets.item_titles
    slots = np.asarray(source_assets.id_slots)[FIRST_ITEM_INDEX:]
    popularity = np.asarray(source_assets.item_popularity)[FIRST_ITEM_INDEX:]
    candidates = np.flatnonzero(slots > OOV_SLOT)
    # The most interacted candidate first, catalog order among ties: the first of a key wins.
    order = candidates[np.lexsort((candidates, -popularity[candidates]))].tolist()
    new_values = np.asarray(new_values, str).tolist()
    matched, shared = {}, []
    for key_of in [match_key] + ([loose_title_key] if field == LOOSE_TITLE else []):
        best, seen = {}, {}
        for position in order:
            key = key_of(values[position])
            seen[key] = seen.get(key, 0) + 1
            best.setdefault(key, position)
        exact, used = len(matched), set()
        for position, value in enumerate(new_values):
            if position not in matched and key_of(value) in best:
                matched[position] = best[key_of(value)]
                used.add(key_of(value))
        # duplicates: every exact key; of the loose keys, those a loose match used
        shared.extend(seen[k] for k in (seen if key_of is match_key else used) if seen[k] > 1)
    new_index = np.asarray(sorted(matched), np.int64)
    source_index = np.asarray([matched[p] for p in new_index.tolist()], np.int64)
    loose = len(matched) - exact if field == LOOSE_TITLE else 0
    return ItemMatch(
        field,
        new_index + FIRST_ITEM_INDEX,
        source_index + FIRST_ITEM_INDEX,
        len(new_values),
        len(shared),
        sum(shared) - len(shared),
        loose,
    )
