"""An id-only model (model.use_text=false) trains, saves, reloads, exports and updates without a text encoder."""

import os

import pytest
import numpy as np
from tiny_fixtures import make_tiny_config, make_tiny_world

from tfrec_llm.cli import text_encoder_line
from tfrec_llm.data.data_split import split_interactions
from tfrec_llm.data.interaction_data import InteractionData
from tfrec_llm.experiment_config import UpdateConfig

from tfrec_llm.models.text.no_text_encoder import NO_TEXT_ENCODER_SOURCE, NoTextEncoder
from tfrec_llm.models.text.text_encoder import TextEncoder
from tfrec_llm.serving.export.exporter import export_models
from tfrec_llm.training.event_log import save_events
from tfrec_llm.training.incremental_update import update_model
from tfrec_llm.training.model_evaluation import catalog_embeddings
from tfrec_llm.training.trained_model import TEXT_ENCODER_DIR, TrainedModel
from tfrec_llm.training.trainer import train


def test_an_id_only_model_never_builds_a_text_encoder(tmp_path, monkeypatch):
    def no_encoder(*args, **kwargs):
        raise AssertionError("an id-only model built a text encoder")

    monkeypatch.setattr(TextEncoder, "__init__", no_encoder)
    model_dir = str(tmp_path / "model")
    config = make_tiny_config(model={"use_text": False}, train={"epochs": 1})
    world = make_tiny_world()
    base_items = world.catalog.item_ids[:40]  # the other 8 items arrive with the update
    base = InteractionData(
        "base",
        world.interactions.select(np.isin(world.interactions.item_ids, base_items)),
        world.catalog.select(np.arange(40)),
    )
    metrics = train(config, model_dir, data=base)

    assert metrics["training"]["text_encoder"] == NO_TEXT_ENCODER_SOURCE
    assert metrics["training"]["text_encoder_pretrained"] is False
    assert text_encoder_line(metrics["training"]) == f"text encoder: {NO_TEXT_ENCODER_SOURCE}"
    assert not os.path.exists(os.path.join(model_dir, TEXT_ENCODER_DIR))
    trained = TrainedModel.load(model_dir)
    assert isinstance(trained.text_encoder, NoTextEncoder)
    assert trained.assets.token_ids.shape[1] == 0 and trained.assets.text_features is None
    assert catalog_embeddings(trained.model, trained.assets.num_index_rows).shape[0] == trained.assets.num_index_rows
    paths = export_models(
        model_dir, str(tmp_path / "export"), validate=False, model_names=["item_encoder", "user_encoder"]
    )
    for path in paths.values():
        assert os.path.exists(os.path.join(path, "saved_model.pb"))
    save_events(model_dir, split_interactions(base.interactions, "leave_last_out").train)
    update_model(model_dir, world, str(tmp_path / "updated"), UpdateConfig(epochs=1))
    updated = TrainedModel.load(str(tmp_path / "updated"))
    assert len(updated.assets.item_ids) == len(world.catalog) and updated.assets.token_ids.shape[1] == 0


def test_the_stand_in_keeps_an_older_models_token_width_and_refuses_to_encode():
    tokens, lengths = NoTextEncoder(token_width=8).tokenize(["a", "b", "c"], 8, return_lengths=True)
    assert tokens.shape == (3, 8) and not tokens.any() and not lengths.any()
    with pytest.raises(ValueError, match="reads no item text"):
        NoTextEncoder().encode(tokens)
