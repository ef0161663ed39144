"""Growing a trained model's vocabularies without moving any existing id's embedding.

New items, scenarios and user-feature values arrive after training (`update`,
`adapt`). Growth keeps every index space of the trained model valid:

- items: new catalog items are appended (item index N+2 ..), so existing
  item indices are unchanged. Items trained on for the first time (new, or
  cold until now) get new id slots after the largest existing one; existing
  slots and their id-embedding rows stay as they are;
- scenarios and user features: `CategoryVocabulary` keeps its values sorted,
  so a new value may land between existing ones; `row_maps` says, for every
  new index, which old row it had (-1: a new value), and `transfer_weights`
  copies each existing value's embedding row to its new index bit for bit.

`grow_assets` grows the tables (`ModelAssets`), `transfer_weights` copies a
trained model's weights into a model built from the grown assets: existing
rows identical, new rows keep their fresh initialisation.

Example:
    growth = grow_assets(assets, new_ids, new_texts, new_titles, trained_ids,
                         scenarios, user_feature_values, text_rows, token_rows)
    grown = build_model(config, growth.assets, encoder)
    build_variables(grown, growth.assets, config)
    transfer_weights(old_model, grown, growth)
"""

import dataclasses
from typing import Dict, Optional

import numpy as np

from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX, OOV_SLOT
from tfrec_llm.training.model_assets import ModelAssets

SCENARIO_TABLE = "scenario"


@dataclasses.dataclass
class VocabularyGrowth:
    """Grown assets and how the old index spaces map into them.

    Args:
        assets: the grown `ModelAssets`.
        old_num_items: catalog size N before growth.
        old_num_slots: id-embedding rows before growth (max slot + 1).
        row_maps: table name ("scenario" or a user feature name) -> int [new
            vocabulary size + 1], the old row of each new row (-1: new value).
        new_items: how many catalog items were added.
        newly_trained_items: how many items got an id slot of their own.
        new_values: table name -> the values added.
        added_popularity: int [grown catalog + FIRST_ITEM_INDEX] training
            events the growth added to each item index's count.
    """

    assets: ModelAssets
    old_num_items: int
    old_num_slots: int
    row_maps: Dict[str, np.ndarray]
    new_items: int
    newly_trained_items: int
    new_values: Dict[str, list]
    added_popularity: np.ndarray


def grown_category_values(old_values: np.ndarray, seen_values) -> tuple:
    """(sorted union of the values, int row map new index -> old index or -1); index 0 = unknown."""
    old_values = np.asarray(old_values, dtype=str)
    values = np.union1d(old_values, np.asarray(seen_values, dtype=str))
    old_row = {value: i + 1 for i, value in enumerate(old_values.tolist())}
    row_map = np.asarray([0] + [old_row.get(v, -1) for v in values.tolist()], dtype=np.int64)
    return values, row_map


def grow_assets(
    assets: ModelAssets,
    new_item_ids: np.ndarray,
    new_item_texts: np.ndarray,
    new_item_titles: np.ndarray,
    trained_item_ids: np.ndarray,
    scenarios: np.ndarray,
    user_feature_values: Dict[str, np.ndarray],
    text_rows: Optional[np.ndarray],
    token_rows: np.ndarray,
    attribute_rows: Optional[np.ndarray] = None,
    new_event_item_ids: Optional[np.ndarray] = None,
) -> VocabularyGrowth:
    """Appends items, gives slots to newly trained items, grows category vocabularies.

    Args:
        assets: the trained model's assets.
        new_item_ids, new_item_texts, new_item_titles: str [M] items not in
            `assets.item_ids` (they are appended in this order).
        trained_item_ids: every item id the grown model trains on (existing
            or new); those without a slot get one.
        scenarios: scenario values of the new events (new ones are added).
        user_feature_values: feature name -> values of the new users.
        text_rows: float32 [M, d] encoded texts of the new items (frozen
            text mode), or None when the model keeps no text table.
        token_rows: int32 [M, L] token ids of the new items' texts.
        attribute_rows: float32 [M, A] their attributes, or None (zeros).
        new_event_item_ids: item ids of the new training events, added to
            the popularity counts (None: counts unchanged).
    """
    new_item_ids = np.asarray(new_item_ids, dtype=str)
    overlap = np.intersect1d(new_item_ids, assets.item_ids)
    if len(overlap):
        raise ValueError(f"grow_assets: {len(overlap)} 'new' items are already in the catalog, e.g. {overlap[:3]}.")
    count = len(new_item_ids)
    item_ids = np.concatenate([assets.item_ids, new_item_ids])
    id_slots = np.concatenate([assets.id_slots, np.full(count, OOV_SLOT, np.int32)]).astype(np.int32)
    old_num_slots = int(id_slots.max()) + 1
    index_of = {item_id: i + FIRST_ITEM_INDEX for i, item_id in enumerate(item_ids.tolist())}
    trained_index = np.asarray(
        sorted({index_of[i] for i in np.asarray(trained_item_ids, dtype=str).tolist() if i in index_of}), np.int64
    )
    needs_slot = trained_index[id_slots[trained_index] == OOV_SLOT]
    id_slots[needs_slot] = old_num_slots + np.arange(len(needs_slot), dtype=np.int32)
    popularity = np.concatenate([assets.item_popularity, np.zeros(count, np.int64)]).astype(np.int64)
    added = np.zeros_like(popularity)
    if new_event_item_ids is not None:
        indices = np.asarray([index_of.get(i, 1) for i in np.asarray(new_event_item_ids, dtype=str).tolist()])
        added = np.bincount(indices.astype(np.int64), minlength=len(popularity)).astype(np.int64)
        added[:FIRST_ITEM_INDEX] = 0
        popularity += added
    cold = id_slots == OOV_SLOT
    cold[:FIRST_ITEM_INDEX] = False

    def appended(table, rows, dtype):
        if table is None:
            return None
        rows = np.zeros((count,) + table.shape[1:], dtype) if rows is None else np.asarray(rows, dtype)
        return np.concatenate([np.asarray(table, dtype), rows.reshape((count,) + table.shape[1:])])

    scenario_values, scenario_map = grown_category_values(assets.scenario_values, scenarios)
    row_maps = {SCENARIO_TABLE: scenario_map}
    new_values = {SCENARIO_TABLE: np.setdiff1d(scenario_values, assets.scenario_values).tolist()}
    feature_values = {}
    for name, old in assets.user_feature_values.items():
        feature_values[name], row_maps[name] = grown_category_values(old, user_feature_values.get(name, []))
        new_values[name] = np.setdiff1d(feature_values[name], old).tolist()
    grown = dataclasses.replace(
        assets,
        item_ids=item_ids,
        item_titles=np.concatenate([assets.item_titles, np.asarray(new_item_titles, dtype=str)]),
        item_texts=np.concatenate([assets.item_texts, np.asarray(new_item_texts, dtype=str)]),
        id_slots=id_slots,
        item_popularity=popularity,
        cold_items=cold,
        token_ids=appended(assets.token_ids, token_rows, np.int32),
        text_features=appended(assets.text_features, text_rows, np.float32),
        item_attributes=appended(assets.item_attributes, attribute_rows, np.float32),
        scenario_values=scenario_values,
        user_feature_values=feature_values,
    )
    return VocabularyGrowth(
        grown, len(assets.item_ids), old_num_slots, row_maps, count, len(needs_slot), new_values, added
    )


def _grown_tables(model) -> dict:
    """id(variable) -> table name of the embedding tables growth changes (other variables keep their shape)."""
    tables = {}
    tower = model.item_tower
    if tower.use_item_ids:
        tables[id(tower.id_embedding.embeddings)] = "item_ids"
    for users in model.user_tower.path_towers:  # one, or two with fusion "paths"
        for table in users.scenario_tables():  # the scenario embedding and the STAR heads' own weights
            tables[id(table)] = SCENARIO_TABLE
        for name, layer in zip(users.feature_names, users.feature_embeddings):
            tables[id(layer.embeddings)] = name
    return tables


def _asset_tables(model) -> set:
    """id(variable) of the non-trainable tables built from the assets (the grown model's own values stand)."""
    tower = model.item_tower
    tables = [tower.id_slots]
    for name in ("log_popularity", "text_features", "token_ids"):
        if hasattr(tower, name):
            tables.append(getattr(tower, name))
    for name in ("item_attributes", "item_sampling_probability"):
        if hasattr(model, name):
            tables.append(getattr(model, name))
    return {id(v) for v in tables}


def transfer_weights(old_model, new_model, growth: VocabularyGrowth):
    """Copies every weight of `old_model` into `new_model` (built from `growth.assets`, variables created).

    Embedding rows of existing ids are copied bit for bit to their (new)
    index; new rows keep their initialisation; asset tables keep the grown
    values. Raises ValueError if the two models differ in anything else.
    """
    old_variables, new_variables = old_model.variables, new_model.variables
    if len(old_variables) != len(new_variables):
        raise ValueError(
            f"The grown model has {len(new_variables)} variables, the trained one {len(old_variables)}: "
            "they were built from different configs."
        )
    grown, assets = _grown_tables(new_model), _asset_tables(new_model)
    for old, new in zip(old_variables, new_variables):
        if id(new) in assets:
            continue
        values = old.numpy()
        table = grown.get(id(new))
        if table is not None and tuple(values.shape[1:]) != tuple(new.shape[1:]):
            table = None  # not a grown table of the same width: the shape check below reports it
        if table == "item_ids":
            rows = new.numpy()
            rows[: min(len(values), len(rows))] = values[: len(rows)]
            values = rows
        elif table is not None:
            rows, row_map = new.numpy(), growth.row_maps[table]
            kept = row_map >= 0
            rows[kept] = values[row_map[kept]]
            values = rows
        if tuple(values.shape) != tuple(new.shape):
            raise ValueError(
                f"Cannot carry {old.name} {tuple(old.shape)} over to {new.name} {tuple(new.shape)}: "
                "the trained and the grown model were built from different configs."
            )
        new.assign(values)
    _carry_gate_counts(old_model.item_tower, new_model.item_tower, growth)


def _carry_gate_counts(old_tower, new_tower, growth: VocabularyGrowth):
    """Keeps what the old gate counted beyond its assets' counts (an adapted model's matched items).

    `adapt` gives a matched item the gate count of its trained item plus its
    new-domain events (`domain_transfer.copy_matched_items`), while the
    assets count the new domain's events only. The grown tower starts from
    the grown assets' counts; this adds the old gate's surplus back, so the
    gate keeps trusting a copied id row as much after `update` as before.
    """
    if not (old_tower.gates and new_tower.gates):
        return
    old_counts = np.rint(np.expm1(old_tower.log_popularity.numpy()[:, 0].astype(np.float64)))
    counts = growth.assets.item_popularity.astype(np.float64)
    added = growth.added_popularity[: len(old_counts)]
    surplus = old_counts - (counts[: len(old_counts)] - added)
    if not np.any(surplus > 0):
        return  # a trained (not adapted) model: the assets' counts are the gate's
    counts[: len(old_counts)] += np.maximum(surplus, 0)
    new_tower.log_popularity.assign(np.log1p(counts)[:, np.newaxis].astype(np.float32))
