"""Tests for building models and for checkpoints restored into fresh models."""

import dataclasses
import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from tiny_fixtures import first_batch, make_built_model, make_tiny_assets, make_tiny_config, make_tiny_encoder

from tfrec_llm.training import model_building
from tfrec_llm.training.trained_model import TrainedModel
from tfrec_llm.training.model_building import build_model, checkpoint_path, example_batch, restore_weights, save_weights
from tfrec_llm.models.text_initialised_ids import DEFAULT_EMBEDDING_STD, text_initial_id_rows
from tfrec_llm.models.text.encoder_loading import load_text_encoder, save_text_encoder

TRAIN_STEPS = 3


def _trained(config, assets, encoder, batch):
    model = make_built_model(config, assets, encoder)
    for _ in range(TRAIN_STEPS):
        model.train_step(batch)
    return model


def _outputs(model, batch):
    return {name: value.numpy() for name, value in model(batch).items()}


def _assert_same_outputs(model, other, batch):
    expected, actual = _outputs(model, batch), _outputs(other, batch)
    for name, value in expected.items():
        np.testing.assert_allclose(actual[name], value, rtol=1e-5, atol=1e-6, err_msg=name)


def test_example_batch_builds_every_feature_the_model_reads(tmp_path):
    config = make_tiny_config()
    _, assets = make_tiny_assets(config, make_tiny_encoder(), tmp_path)
    with_features = dataclasses.replace(assets, user_feature_values={"age": np.array(["18", "25"])})
    batch = example_batch(with_features, max_history=5, batch_size=3)
    assert sorted(batch) == ["history", "label", "scenario", "target", "user_age"]
    assert batch["history"].shape == (3, 5)
    assert batch["target"].tolist() == [2, 2, 2]  # the first catalog item


def test_frozen_checkpoint_restored_in_a_fresh_model_reproduces_its_outputs(tmp_path):
    config = make_tiny_config()
    experiment, assets = make_tiny_assets(config, make_tiny_encoder(), tmp_path)
    batch = first_batch(experiment.train_examples)
    model = _trained(config, assets, None, batch)
    assert save_weights(model, str(tmp_path)) == checkpoint_path(str(tmp_path))
    tf_keras.utils.set_random_seed(1)
    fresh = make_built_model(config, assets)
    assert not np.allclose(_outputs(fresh, batch)["user_embedding"], _outputs(model, batch)["user_embedding"])
    restore_weights(fresh, str(tmp_path))
    _assert_same_outputs(model, fresh, batch)


def test_attention_encoder_config_is_built_trained_and_restored(tmp_path):
    """model.attention_dropout / attention_feed_forward_multiplier reach the encoder; its checkpoint restores."""
    model_values = {"user_tower": "attention"}
    config = make_tiny_config(model={**model_values, "attention_dropout": 0.5, "attention_feed_forward_multiplier": 4})
    experiment, assets = make_tiny_assets(config, make_tiny_encoder(), tmp_path)
    batch = first_batch(experiment.train_examples)
    model = _trained(config, assets, None, batch)
    encoder = model.user_tower.encoder
    assert (encoder.dropout_rate, encoder.attention_dropout) == (0.5, 0.5)
    assert encoder.blocks[0].feed_forward_in.kernel.shape == (16, 64)
    save_weights(model, str(tmp_path))
    fresh = make_built_model(config, assets)
    restore_weights(fresh, str(tmp_path))
    _assert_same_outputs(model, fresh, batch)
    default = make_built_model(make_tiny_config(model=model_values), assets).user_tower.encoder
    assert (default.dropout_rate, default.attention_dropout, default.feed_forward_multiplier) == (0.1, 0.0, 1)


@pytest.mark.parametrize("mode", ["finetune", "lora"])
def test_finetuned_bert_is_restored_from_the_checkpoint_and_the_saved_encoder(tmp_path, mode):
    """The path evaluation and export take: saved encoder preset + build_model + restore_weights."""
    config = make_tiny_config(text={"mode": mode})
    encoder = make_tiny_encoder()
    experiment, assets = make_tiny_assets(config, encoder, tmp_path)
    batch = first_batch(experiment.train_examples)
    model = _trained(config, assets, encoder, batch)
    save_weights(model, str(tmp_path))
    save_text_encoder(encoder, str(tmp_path / "text_encoder"))

    reloaded_encoder = load_text_encoder(str(tmp_path / "text_encoder"), [], config.text)
    fresh = build_model(config, assets, reloaded_encoder)
    fresh(example_batch(assets, config.data.max_history))
    fresh.compute_loss(example_batch(assets, config.data.max_history))
    restore_weights(fresh, str(tmp_path))
    _assert_same_outputs(model, fresh, batch)


def test_restore_into_a_model_of_other_sizes_fails_clearly(tmp_path):
    config = make_tiny_config()
    experiment, assets = make_tiny_assets(config, make_tiny_encoder(), tmp_path)
    save_weights(make_built_model(config, assets), str(tmp_path))
    wider = make_built_model(make_tiny_config(model={"embedding_dim": 8}), assets)
    with pytest.raises(ValueError, match="does not match this model.*config.json"):
        restore_weights(wider, str(tmp_path))


def test_restore_into_a_model_with_parts_the_checkpoint_lacks_fails_clearly(tmp_path):
    config = make_tiny_config(model={"use_item_ids": False})
    _, assets = make_tiny_assets(config, make_tiny_encoder(), tmp_path)
    save_weights(make_built_model(config, assets), str(tmp_path))
    with_ids = make_built_model(make_tiny_config(), assets)
    with pytest.raises(ValueError, match="does not match this model"):
        restore_weights(with_ids, str(tmp_path))


def test_restore_without_a_checkpoint_says_so(tmp_path):
    config = make_tiny_config()
    _, assets = make_tiny_assets(config, make_tiny_encoder(), tmp_path)
    with pytest.raises(FileNotFoundError, match="No checkpoint at .*was training finished"):
        restore_weights(make_built_model(config, assets), str(tmp_path / "empty"))


def test_restore_ignores_the_optimizer_state_quietly(tmp_path, caplog):
    config = make_tiny_config()
    experiment, assets = make_tiny_assets(config, make_tiny_encoder(), tmp_path)
    batch = first_batch(experiment.train_examples)
    save_weights(_trained(config, assets, None, batch), str(tmp_path))
    names = [name for name, _ in tf.train.list_variables(checkpoint_path(str(tmp_path)))]
    assert any(name.startswith("model/optimizer/") for name in names)
    fresh = build_model(config, assets)  # not compiled: no optimizer to restore into
    fresh(batch)
    fresh.compute_loss(batch)
    restore_weights(fresh, str(tmp_path))
    del fresh
    assert "unrestored values" not in caplog.text


def test_finetune_modes_need_the_text_encoder_and_frozen_mode_its_table(tmp_path):
    config = make_tiny_config()
    _, assets = make_tiny_assets(config, make_tiny_encoder(), tmp_path)
    with pytest.raises(ValueError, match="text.mode='finetune' needs the text encoder"):
        build_model(make_tiny_config(text={"mode": "finetune"}), assets)
    with pytest.raises(ValueError, match="Frozen text mode needs assets.text_features"):
        build_model(config, dataclasses.replace(assets, text_features=None))
    ids_only = build_model(make_tiny_config(model={"use_text": False}), dataclasses.replace(assets, text_features=None))
    assert not ids_only.item_tower.use_text
    assert os.path.exists(tmp_path / "text_cache.npz")


@pytest.mark.parametrize("id_init", ["text", "auto"])
def test_text_initialised_ids_start_from_the_text_table(tmp_path, id_init):
    config = make_tiny_config(model={"id_init": id_init})
    _, assets = make_tiny_assets(config, make_tiny_encoder(), tmp_path)
    model = make_built_model(config, assets)
    rows = model.item_tower.id_embedding.embeddings.numpy()
    id_slots = model.item_tower.id_slots.numpy()
    std = DEFAULT_EMBEDDING_STD * config.model.id_init_scale
    expected = text_initial_id_rows(assets.text_features, id_slots, len(rows), config.model.embedding_dim, std)
    np.testing.assert_allclose(rows, expected, rtol=1e-6)


def test_loading_a_trained_text_rows_model_skips_the_text_start_it_overwrites(trained_model_dir, tmp_path, monkeypatch):
    directory = str(tmp_path / "model")
    shutil.copytree(trained_model_dir[0], directory)
    config_path = os.path.join(directory, "config.json")
    with open(config_path) as file:
        config = json.load(file)
    config["model"]["id_init"] = "text"
    with open(config_path, "w") as file:
        json.dump(config, file)
    expected = TrainedModel.load(trained_model_dir[0]).model.item_tower.id_embedding.embeddings.numpy()

    def no_svd(*args, **kwargs):
        raise AssertionError("the text start of the id rows was computed for a model restored from a checkpoint")

    monkeypatch.setattr(model_building, "text_initial_id_rows", no_svd)
    loaded = TrainedModel.load(directory)
    np.testing.assert_array_equal(loaded.model.item_tower.id_embedding.embeddings.numpy(), expected)


def test_id_init_scale_leaves_random_rows_at_keras_default(tmp_path):
    # Regression: at ceb8241 the scale also widened random rows, so the benchmark's id_only peers of a
    # config with id_init_scale 8 started from U(-0.4, 0.4) rows, which lowered their Recall@10.
    config = make_tiny_config(model={"use_text": False, "id_init_scale": 8.0})
    _, assets = make_tiny_assets(config, make_tiny_encoder(), tmp_path)
    rows = make_built_model(config, assets).item_tower.id_embedding.embeddings.numpy()
    assert np.abs(rows).max() <= 0.05


def test_random_ids_where_text_rows_do_not_apply_and_a_clear_error_where_asked_for(tmp_path):
    config = make_tiny_config()
    _, assets = make_tiny_assets(config, make_tiny_encoder(), tmp_path)
    random_rows = make_built_model(make_tiny_config(), assets)  # the default
    rows = random_rows.item_tower.id_embedding.embeddings.numpy()
    assert np.abs(rows).max() <= 0.05 and rows.std() > 0.01  # Keras' U(-0.05, 0.05)
    auto_finetuned = make_tiny_config(model={"id_init": "auto"}, text={"mode": "finetune"})
    finetuned = build_model(auto_finetuned, assets, make_tiny_encoder())  # "auto" falls back to random rows
    assert finetuned.item_tower.finetunes_text
    with pytest.raises(ValueError, match='model.id_init "text" reads the frozen BERT vectors'):
        build_model(make_tiny_config(model={"id_init": "text"}, text={"mode": "finetune"}), assets, make_tiny_encoder())


def test_the_id_text_prior_is_built_only_when_weighted_and_refused_without_frozen_text(tmp_path):
    _, assets = make_tiny_assets(make_tiny_config(), make_tiny_encoder(), tmp_path)
    assert not hasattr(make_built_model(make_tiny_config(), assets).item_tower, "id_prior_map")
    weighted = make_built_model(make_tiny_config(model={"id_text_prior_weight": 0.5}), assets)
    assert weighted.item_tower.id_prior_map.kernel.trainable
    assert any("id_prior_map" in variable.name for variable in weighted.trainable_variables)
    finetuned = make_tiny_config(model={"id_text_prior_weight": 0.5}, text={"mode": "finetune"})
    with pytest.raises(
        ValueError, match='model.id_text_prior_weight reads the frozen BERT vectors: it needs text.mode "frozen"'
    ):
        build_model(finetuned, assets, make_tiny_encoder())


@pytest.mark.parametrize("mode", ["frozen", "finetune"])
def test_mixed_precision_towers_compute_in_float16_and_the_loss_in_float32(tmp_path, mode):
    config = make_tiny_config(train={"mixed_precision": True}, text={"mode": mode})
    encoder = make_tiny_encoder()
    experiment, assets = make_tiny_assets(config, encoder, tmp_path)
    model = make_built_model(config, assets, encoder)
    assert model.item_tower.compute_dtype == "float16"
    assert model.user_tower.compute_dtype == "float16"
    assert model.item_tower.variable_dtype == "float32"
    assert tf_keras.mixed_precision.global_policy().name == "float32"  # not leaked
    loss = model.compute_loss(first_batch(experiment.train_examples), training=True)
    assert loss.dtype == tf.float32 and np.isfinite(loss.numpy())
