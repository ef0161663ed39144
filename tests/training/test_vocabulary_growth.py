"""Vocabulary growth: new items, scenarios and user-feature values without moving existing rows."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf
from tiny_fixtures import first_batch, make_built_model, make_tiny_assets, make_tiny_config, make_tiny_encoder

from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX, OOV_SLOT
from tfrec_llm.training.model_building import build_model, restore_weights, save_weights
from tfrec_llm.training.trainer import build_variables
from tfrec_llm.training.vocabulary_growth import grow_assets, grown_category_values, transfer_weights

AGES = np.array(["18", "35"])


def test_grown_category_values_keep_each_old_value_on_its_old_row():
    values, row_map = grown_category_values(np.array(["b", "d"]), ["d", "a", "c"])
    assert values.tolist() == ["a", "b", "c", "d"]
    assert row_map.tolist() == [0, -1, 1, -1, 2]  # unknown stays 0; "b" was row 1, "d" row 2


@pytest.fixture(scope="module")
def trained_and_grown(tmp_path_factory):
    """A tiny model trained a few steps (with an age feature), its grown assets and the grown model."""
    config = make_tiny_config()
    encoder = make_tiny_encoder()
    experiment, assets = make_tiny_assets(config, encoder, tmp_path_factory.mktemp("cache"))
    slots, cold_items = assets.id_slots.copy(), assets.cold_items.copy()
    slots[-1], cold_items[-1] = OOV_SLOT, True  # the last item: cold (never trained on)
    assets = dataclasses.replace(assets, user_feature_values={"age": AGES}, id_slots=slots, cold_items=cold_items)
    model = make_built_model(config, assets, encoder)
    batch = {k: v for k, v in first_batch(experiment.train_examples).items()}
    batch["user_age"] = np.ones(len(batch["target"]), np.int32)
    for _ in range(3):
        model.train_step(batch)
    cold = assets.item_ids[-1:]
    new_ids = np.array(["n1", "n2"])
    growth = grow_assets(
        assets,
        new_ids,
        np.array(["space story new", "love story new"]),
        np.array(["New 1", "New 2"]),
        trained_item_ids=np.concatenate([new_ids[:1], cold[:1], assets.item_ids[:1]]),
        scenarios=np.array(["app", "default"]),  # "app" sorts before "default": default moves to row 2
        user_feature_values={"age": np.array(["25", "18"])},  # "25" lands between the old values
        text_rows=np.ones((2, assets.text_features.shape[1]), np.float32),
        token_rows=np.ones((2, assets.token_ids.shape[1]), np.int32),
        attribute_rows=None,
    )
    grown = build_model(config, growth.assets, encoder)
    build_variables(grown, growth.assets, config)
    transfer_weights(model, grown, growth)
    return config, encoder, assets, model, growth, grown, batch, cold


def test_existing_embedding_rows_are_bit_identical_after_growth(trained_and_grown):
    _, _, assets, model, growth, grown, _, _ = trained_and_grown
    old_ids = model.item_tower.id_embedding.embeddings.numpy()
    new_ids = grown.item_tower.id_embedding.embeddings.numpy()
    assert new_ids.shape[0] == old_ids.shape[0] + 2  # the new item and the formerly cold one
    assert np.array_equal(new_ids[: len(old_ids)], old_ids)
    old_scenarios = model.user_tower.scenario_embedding.embeddings.numpy()
    new_scenarios = grown.user_tower.scenario_embedding.embeddings.numpy()
    assert growth.assets.scenario_values.tolist() == ["app", "default"]
    assert np.array_equal(new_scenarios[[0, 2]], old_scenarios[[0, 1]])  # unknown and "default"
    old_ages = model.user_tower.feature_embeddings[0].embeddings.numpy()
    new_ages = grown.user_tower.feature_embeddings[0].embeddings.numpy()
    assert growth.assets.user_feature_values["age"].tolist() == ["18", "25", "35"]
    assert np.array_equal(new_ages[[0, 1, 3]], old_ages[[0, 1, 2]])
    assert growth.new_values == {"scenario": ["app"], "age": ["25"]}


def test_existing_items_keep_index_slot_and_embedding(trained_and_grown):
    _, _, assets, model, growth, grown, _, cold = trained_and_grown
    old_slots = assets.id_slots
    grown_slots = growth.assets.id_slots
    assert grown_slots.shape == (len(old_slots) + 2,)
    was_cold = FIRST_ITEM_INDEX + int(np.flatnonzero(assets.item_ids == cold[0])[0])
    unchanged = np.arange(len(old_slots)) != was_cold
    assert np.array_equal(grown_slots[: len(old_slots)][unchanged], old_slots[unchanged])
    assert grown_slots[was_cold] > old_slots.max() and grown_slots[-2] > old_slots.max()
    assert grown_slots[-1] == OOV_SLOT  # a new item nobody trained on yet: its text alone
    assert growth.assets.item_ids[-2:].tolist() == ["n1", "n2"]
    assert np.array_equal(growth.assets.text_features[: len(old_slots)], assets.text_features)
    indices = tf.constant(np.flatnonzero(unchanged)[FIRST_ITEM_INDEX:], tf.int32)
    np.testing.assert_array_equal(grown.item_tower(indices).numpy(), model.item_tower(indices).numpy())


def test_users_with_known_context_get_the_same_embedding(trained_and_grown):
    _, _, _, model, _, grown, batch, _ = trained_and_grown
    old = model(batch)["user_embedding"].numpy()
    moved = dict(batch, scenario=np.where(batch["scenario"] == 1, 2, batch["scenario"]))  # "default": 1 -> 2
    np.testing.assert_array_equal(grown(moved)["user_embedding"].numpy(), old)


def test_grown_checkpoint_round_trips_and_an_old_one_needs_growth(trained_and_grown, tmp_path):
    config, encoder, assets, model, growth, grown, batch, _ = trained_and_grown
    save_weights(grown, str(tmp_path))
    restored = build_model(config, growth.assets, encoder)
    build_variables(restored, growth.assets, config)
    restore_weights(restored, str(tmp_path))
    for a, b in zip(restored.variables, grown.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    save_weights(model, str(tmp_path / "old"))
    with pytest.raises(ValueError, match="does not match this model"):
        restore_weights(restored, str(tmp_path / "old"))


def test_known_items_are_not_new_and_other_configs_do_not_transfer(trained_and_grown):
    config, encoder, assets, model, growth, _, _, _ = trained_and_grown
    with pytest.raises(ValueError, match="already in the catalog"):
        grow_assets(assets, assets.item_ids[:1], ["x"], ["x"], [], [], {}, None, np.ones((1, 8), np.int32))
    wider = config.updated({"model": {"embedding_dim": 8}})
    other = build_model(wider, growth.assets, encoder)
    build_variables(other, growth.assets, wider)
    with pytest.raises(ValueError, match="different configs"):
        transfer_weights(model, other, growth)


def _gate_counts(model) -> np.ndarray:
    return np.rint(np.expm1(model.item_tower.log_popularity.numpy()[:, 0].astype(np.float64)))


def _grown_with_events(assets, model, config, encoder, event_item_ids):
    growth = grow_assets(
        assets,
        np.array(["n1"]),
        np.array(["space story new"]),
        np.array(["New 1"]),
        trained_item_ids=np.asarray(event_item_ids),
        scenarios=np.array(["default"]),
        user_feature_values={},
        text_rows=np.ones((1, assets.text_features.shape[1]), np.float32),
        token_rows=np.ones((1, assets.token_ids.shape[1]), np.int32),
        new_event_item_ids=np.asarray(event_item_ids),
    )
    grown = build_model(config, growth.assets, encoder)
    build_variables(grown, growth.assets, config)
    transfer_weights(model, grown, growth)
    return growth, grown


def test_update_of_an_adapted_model_keeps_the_matched_items_gate_counts(tmp_path):
    """`adapt` counts a matched item's source events in its gate; growing for `update` lost them (bug)."""
    config = make_tiny_config()
    encoder = make_tiny_encoder()
    _, assets = make_tiny_assets(config, encoder, tmp_path)
    model = make_built_model(config, assets, encoder)
    matched = FIRST_ITEM_INDEX + 2
    counts = _gate_counts(model)
    counts[matched] += 500  # what copy_matched_items adds: the trained item's events in the source domain
    model.item_tower.log_popularity.assign(np.log1p(counts)[:, np.newaxis].astype(np.float32))
    events = [assets.item_ids[2]] * 3 + ["n1"]
    growth, grown = _grown_with_events(assets, model, config, encoder, events)
    grown_counts = _gate_counts(grown)
    assert grown_counts[matched] == counts[matched] + 3  # source events + old and new domain events
    assert growth.assets.item_popularity[matched] == assets.item_popularity[matched] + 3  # strata: domain only
    others = np.arange(len(grown_counts)) != matched
    np.testing.assert_array_equal(grown_counts[others], growth.assets.item_popularity[others])


def test_growth_of_a_trained_model_takes_the_gate_counts_from_the_assets(tmp_path):
    config = make_tiny_config()
    encoder = make_tiny_encoder()
    _, assets = make_tiny_assets(config, encoder, tmp_path)
    model = make_built_model(config, assets, encoder)
    growth, grown = _grown_with_events(assets, model, config, encoder, [assets.item_ids[2], "n1"])
    expected = np.log1p(np.asarray(growth.assets.item_popularity, np.float32))[:, np.newaxis]
    np.testing.assert_array_equal(grown.item_tower.log_popularity.numpy(), expected)
    assert growth.added_popularity[FIRST_ITEM_INDEX + 2] == 1 and growth.added_popularity[-1] == 1


def test_a_two_path_model_grows_both_paths_context_tables(tmp_path):
    config = make_tiny_config(model={"fusion": "paths"})
    encoder = make_tiny_encoder()
    _, assets = make_tiny_assets(config, encoder, tmp_path)
    model = make_built_model(config, assets, encoder)
    growth = grow_assets(
        assets, np.array([]), np.array([]), np.array([]), [], np.array(["app"]), {}, np.zeros((0, 1)), None
    )
    grown = build_model(config, growth.assets, encoder)
    build_variables(grown, growth.assets, config)
    transfer_weights(model, grown, growth)
    for old, new in zip(model.user_tower.path_towers, grown.user_tower.path_towers):
        old_rows, new_rows = old.scenario_embedding.embeddings.numpy(), new.scenario_embedding.embeddings.numpy()
        assert new_rows.shape[0] == old_rows.shape[0] + 1
        np.testing.assert_array_equal(new_rows[[0, 2]], old_rows[[0, 1]])  # "app" sorts before "default"
