"""Fresh-process validation catches exports that differ from the in-memory model."""

import os

import numpy as np
import pytest

from tfrec_llm.serving.export.export_info import ExportInfo
from tfrec_llm.serving.export.export_validation import ExportValidationError, compare_outputs, validate_saved_model
from tfrec_llm.serving.catalog.item_catalog_file import read_item_catalog
from tfrec_llm.serving.signatures.item_encoder_module import ItemEncoderModule
from tfrec_llm.serving.catalog.item_lookup import ItemLookup
from tfrec_llm.serving.saved_model_loading import load_saved_model
from tfrec_llm.serving.catalog.serving_catalog import ServingCatalog


def test_validation_rejects_a_module_that_differs_from_the_export(export_dir, tmp_path):
    path = os.path.join(export_dir, "item_encoder", "1")
    items = load_saved_model(path).items
    ids, titles = read_item_catalog(path)
    shifted = ServingCatalog(ids, titles, items.item_vectors.numpy() + 0.01, items.reserved_vectors.numpy())
    module = ItemEncoderModule(ItemLookup(shifted, str(tmp_path)))
    with pytest.raises(ExportValidationError, match="'item_embedding' differs from the in-memory model"):
        validate_saved_model(path, module)
    assert ExportInfo.read(path).model_name == "item_encoder"


def test_validation_reports_a_model_that_cannot_load(tmp_path, export_dir):
    module = ItemEncoderModule(load_saved_model(os.path.join(export_dir, "item_encoder", "1")).items)
    with pytest.raises(ExportValidationError, match="fresh TensorFlow process failed"):
        validate_saved_model(str(tmp_path), module)


def test_compare_outputs_tolerates_swaps_within_score_ties_only():
    expected = {"item_ids": np.array([[b"a", b"b", b"c"]]), "scores": np.array([[0.9, 0.9, 0.1]], np.float32)}
    swapped = {"item_ids": np.array([[b"b", b"a", b"c"]]), "scores": np.array([[0.9, 0.9, 0.1]], np.float32)}
    compare_outputs(expected, swapped, "tie")
    wrong = {"item_ids": np.array([[b"a", b"c", b"b"]]), "scores": np.array([[0.9, 0.9, 0.1]], np.float32)}
    with pytest.raises(ExportValidationError, match=r"'item_ids' at \(0, 2\) is 'b', expected 'c'"):
        compare_outputs(expected, wrong, "no tie")
    with pytest.raises(ExportValidationError, match="has shape"):
        compare_outputs({"scores": np.zeros((1, 2))}, {"scores": np.zeros((1, 3))}, "shape")
    with pytest.raises(ExportValidationError, match="no output 'scores'"):
        compare_outputs({"scores": np.zeros(1)}, {}, "missing")
    compare_outputs({"scores": np.array([-np.inf, 1.0])}, {"scores": np.array([-np.inf, 1.00001])}, "inf")
