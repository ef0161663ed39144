"""With the cold-item head, exported cold items (item_text_encoder, add-items) are the library's."""

import csv
import os

import numpy as np
import pytest
import tensorflow as tf
from serving_fixtures import train_topic_model

from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX, OOV_SLOT
from tfrec_llm.serving.catalog.catalog_growth import add_items, exported_catalog
from tfrec_llm.serving.export.exporter import export_models
from tfrec_llm.serving.saved_model_loading import load_saved_model
from tfrec_llm.training.trained_model import TrainedModel

ATOL = 1e-4


@pytest.fixture(scope="module", name="headed")
def _headed(tmp_path_factory):
    """A topic model trained with the head (gate fusion), exported (retrieval and item_text_encoder)."""
    root = tmp_path_factory.mktemp("cold_head")
    overrides = {"model": {"cold_item_head": True, "fusion": "gate"}, "train": {"epochs": 1}}
    model_dir = train_topic_model(str(root / "model"), overrides)
    export_dir = str(root / "export")
    export_models(model_dir, export_dir, validate=False, model_names=["retrieval", "item_text_encoder"])
    return TrainedModel.load(model_dir), export_dir


def _as_cold_items(trained, indices):
    """The library's embeddings of `indices` had they no id slot (cold items with the same text)."""
    tower = trained.model.item_tower
    saved = tower.id_slots.numpy()
    tower.id_slots.assign(np.full_like(saved, OOV_SLOT))
    try:
        return trained.model.item_embeddings(tf.constant(indices), training=False).numpy()
    finally:
        tower.id_slots.assign(saved)


def test_item_text_encoder_gives_cold_items_the_head_vectors(headed):
    trained, export_dir = headed
    indices = np.arange(FIRST_ITEM_INDEX, FIRST_ITEM_INDEX + 6)
    expected = _as_cold_items(trained, indices)
    projected_only = tf.math.l2_normalize(trained.model.item_tower.text_vectors(tf.constant(indices)), -1).numpy()
    assert not np.allclose(expected, projected_only, atol=ATOL)  # the head, not the projected text
    texts = trained.assets.item_texts[indices - FIRST_ITEM_INDEX]
    encode = load_saved_model(os.path.join(export_dir, "item_text_encoder", "1")).signatures["serving_default"]
    np.testing.assert_allclose(encode(text=tf.constant(texts))["item_embedding"].numpy(), expected, atol=ATOL)


def test_added_items_get_the_vectors_the_library_gives_cold_items(headed, tmp_path):
    trained, export_dir = headed
    indices = np.arange(FIRST_ITEM_INDEX, FIRST_ITEM_INDEX + 3)
    texts = trained.assets.item_texts[indices - FIRST_ITEM_INDEX]
    csv_path = str(tmp_path / "new.csv")
    with open(csv_path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["item_id", "title"])
        writer.writerows([[f"new{i}", text] for i, text in enumerate(texts)])
    path = add_items(export_dir, csv_path, validate=False)
    catalog = exported_catalog(load_saved_model(path), path)
    np.testing.assert_allclose(catalog.item_vectors[-3:], _as_cold_items(trained, indices), atol=ATOL)
