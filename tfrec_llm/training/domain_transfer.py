"""Carrying a trained model's weights into a model of a new domain, and choosing what trains.

The new domain has its own catalog (other items, other ids), so the item
tables are the new domain's (text features, id slots, popularity); every
learned function carries over:

- user tower (each path's, with fusion "paths"): sequence encoder and
  output MLP as they are; the scenario embedding row by scenario name (a scenario the trained model never saw
  starts from the learned "unknown" row 0, the state a request without a
  scenario is served with), and so are the STAR scenario heads' rows
  (`scenario_tables`); user-feature
  embeddings as they are (the new domain's values are looked up in the
  trained vocabularies);
- item tower: text projection and fusion gate as they are; the item-id
  embedding is the new domain's (new slots), rows initialised to ZERO, so an
  item's vector is its text alone until its id row is trained (with gate
  fusion a zero id vector only rescales the text vector, which the L2
  normalisation undoes); except the new items matched to a trained item
  (`item_matching`): `copy_matched_items` gives them the trained item's id
  row and the gate's count of it (the source's events plus the new
  domain's), so the gate trusts the copied row as it did in the source;
- ranking head (and the attribute head, when both domains have the same
  attributes) as they are.

`PARTS` names what `set_trainable_parts` leaves trainable; every other
weight is frozen, so it stays bit-identical through training.

Example:
    transfer_weights(trained.model, adapted, trained.assets.scenario_values, new_assets.scenario_values)
    set_trainable_parts(adapted, "projection")
    adapted.compile(optimizer=tf_keras.optimizers.Adam(1e-3))
"""

from typing import List

import numpy as np

from tfrec_llm.data.category_vocabulary import UNKNOWN_CATEGORY
from tfrec_llm.experiment_config import ADAPT_PARTS


def scenario_row_map(old_values, new_values) -> np.ndarray:
    """int [len(new_values) + 1]: the trained row of each new scenario row (unknown scenarios: row 0)."""
    old_row = {value: i + 1 for i, value in enumerate(np.asarray(old_values, dtype=str).tolist())}
    new = np.asarray(new_values, dtype=str).tolist()
    return np.asarray([UNKNOWN_CATEGORY] + [old_row.get(v, UNKNOWN_CATEGORY) for v in new], dtype=np.int64)


def _copy_layer(source, target):
    target.set_weights(source.get_weights())


def transfer_weights(source, target, old_scenarios, new_scenarios):
    """Copies `source`'s learned functions into `target` (both built; see module docstring)."""
    rows = scenario_row_map(old_scenarios, new_scenarios)
    for source_users, target_users in zip(source.user_tower.path_towers, target.user_tower.path_towers):
        _copy_layer(source_users.encoder, target_users.encoder)
        _copy_layer(source_users.output_mlp, target_users.output_mlp)
        for old, new in zip(source_users.feature_embeddings, target_users.feature_embeddings):
            _copy_layer(old, new)
        for old_table, new_table in zip(source_users.scenario_tables(), target_users.scenario_tables()):
            new_table.assign(old_table.numpy()[rows])  # the scenario embedding and the heads' own weights
    source_items, target_items = source.item_tower, target.item_tower
    if target_items.use_text:
        _copy_layer(source_items.text_projection, target_items.text_projection)
    if target_items.gates:
        _copy_layer(source_items.gate, target_items.gate)
    if target_items.maps_cold_ids and source_items.maps_cold_ids:  # text -> id map: refitted if ids train
        target_items.cold_id_map.assign(source_items.cold_id_map)
    if target_items.use_item_ids:
        (table,) = target_items.id_embedding.get_weights()
        target_items.id_embedding.set_weights([np.zeros_like(table)])
    _copy_layer(source.ranking_head, target.ranking_head)
    if target.uses_attributes and source.uses_attributes:
        old_kernel = source.attribute_head.get_weights()[0]
        if old_kernel.shape == target.attribute_head.get_weights()[0].shape:
            _copy_layer(source.attribute_head, target.attribute_head)


def copy_matched_items(source, target, new_index, source_index) -> int:
    """Gives matched new items their trained item's id row and gate count; returns the rows copied.

    Args:
        source, target: the trained and the new model (built; `transfer_weights` first).
        new_index: int [M] new items' indices in `target`'s index space.
        source_index: int [M] their trained items' indices in `source`'s.
    """
    source_items, target_items = source.item_tower, target.item_tower
    if not target_items.use_item_ids or len(new_index) == 0:
        return 0
    new_slots = target_items.id_slots.numpy()[new_index]
    old_slots = source_items.id_slots.numpy()[source_index]
    (table,) = target_items.id_embedding.get_weights()
    table[new_slots] = source_items.id_embedding.get_weights()[0][old_slots]
    target_items.id_embedding.set_weights([table])
    if target_items.gates and source_items.gates:
        counts = np.rint(np.expm1(source_items.log_popularity.numpy()[source_index]))
        log_popularity = target_items.log_popularity.numpy()
        log_popularity[new_index] = np.log1p(counts + np.rint(np.expm1(log_popularity[new_index])))
        target_items.log_popularity.assign(log_popularity)
    return len(new_index)


def part_layers(model, part: str) -> List:
    """The layers of `part` (one of `ADAPT_PARTS` but "all")."""
    items = model.item_tower
    if part == "scenario":
        layers = []
        for users in model.user_tower.path_towers:
            layers += [users.scenario_embedding] + list(users.feature_embeddings)
            layers += [users.scenario_heads] if users.scenario_heads is not None else []
        return layers + ([items.id_embedding] if items.use_item_ids else [])
    if part == "projection":
        return [items.text_projection] if items.use_text else []
    if part == "lora":
        return [items.text_encoder] if items.finetunes_text else []
    raise ValueError(f"Unknown part {part!r}; parts are {list(ADAPT_PARTS)}.")


def all_layers(model) -> List:
    """Every weight-holding leaf layer of the model the parts choose from."""
    items, layers = model.item_tower, []
    for users in model.user_tower.path_towers:
        layers += [users.encoder, users.output_mlp, users.scenario_embedding] + list(users.feature_embeddings)
        layers += [users.scenario_heads] if users.scenario_heads is not None else []
    layers += [model.ranking_head]
    if model.uses_attributes:
        layers.append(model.attribute_head)
    if items.use_item_ids:
        layers.append(items.id_embedding)
    if items.gates:
        layers.append(items.gate)
    if items.use_text:
        layers.append(items.text_projection)
        if items.finetunes_text:
            layers.append(items.text_encoder)
    return layers


def set_trainable_parts(model, part: str) -> int:
    """Freezes every layer but those of `part` ("all": none frozen); returns the trainable variable count.

    Call before `compile`. Raises ValueError when `part` holds no weight in
    this model (e.g. "lora" on a frozen-text model, "projection" without text).
    """
    if part not in ADAPT_PARTS:
        raise ValueError(f"train_only must be one of {list(ADAPT_PARTS)}, got {part!r}.")
    chosen = all_layers(model) if part == "all" else part_layers(model, part)
    if not chosen:
        raise ValueError(f"train_only={part!r}: this model has no such part (text or text mode missing).")
    chosen_ids = {id(layer) for layer in chosen}
    for layer in all_layers(model):
        layer.trainable = id(layer) in chosen_ids
    return len(model.trainable_variables)
