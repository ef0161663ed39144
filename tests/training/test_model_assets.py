"""Tests for ModelAssets: the non-weight tables of a model directory, saved without pickle."""

import dataclasses
import os

import numpy as np
import pytest

from tfrec_llm.training.model_assets import ASSETS_FILE, ModelAssets


def _full_assets():
    return ModelAssets(
        label_kind="click",
        item_ids=np.array(["m1", "m2", "m3"]),
        item_titles=np.array(["Alien (1979)", "Amélie", ""]),
        item_texts=np.array(["Alien (1979). sci-fi", "Amélie. romance", "m3"]),
        id_slots=np.array([0, 1, 2, 1, 3], np.int32),
        item_popularity=np.array([0, 0, 7, 0, 2], np.int64),
        cold_items=np.array([False, False, False, True, False]),
        token_ids=np.arange(20, dtype=np.int32).reshape(5, 4),
        text_features=np.linspace(0, 1, 15, dtype=np.float32).reshape(5, 3),
        item_attributes=np.eye(5, 2, dtype=np.float32),
        attribute_names=["sci-fi", "romance"],
        scenario_values=np.array(["app", "web"]),
        user_feature_values={"age": np.array(["18", "25"]), "gender": np.array(["F", "M"])},
    )


def _assert_equal(loaded, original):
    for field in dataclasses.fields(ModelAssets):
        expected, actual = getattr(original, field.name), getattr(loaded, field.name)
        if isinstance(expected, np.ndarray):
            np.testing.assert_array_equal(actual, expected, err_msg=field.name)
            assert actual.dtype.kind == expected.dtype.kind, field.name
        elif isinstance(expected, dict):
            assert sorted(actual) == sorted(expected)
            for name in expected:
                np.testing.assert_array_equal(actual[name], expected[name])
        else:
            assert actual == expected, field.name


def test_round_trip_with_every_optional_table(tmp_path):
    assets = _full_assets()
    assets.save(str(tmp_path))
    loaded = ModelAssets.load(str(tmp_path))
    _assert_equal(loaded, assets)
    assert loaded.label_kind == "click" and isinstance(loaded.label_kind, str)
    assert loaded.attribute_names == ["sci-fi", "romance"]
    assert loaded.num_index_rows == 5
    assert os.listdir(tmp_path) == [ASSETS_FILE]  # written atomically: no temporary file left


def test_round_trip_without_optional_tables(tmp_path):
    assets = dataclasses.replace(
        _full_assets(),
        label_kind="rating",
        text_features=None,
        item_attributes=None,
        attribute_names=[],
        scenario_values=np.zeros(0, str),
        user_feature_values={},
    )
    assets.save(str(tmp_path))
    loaded = ModelAssets.load(str(tmp_path))
    assert loaded.text_features is None and loaded.item_attributes is None
    assert loaded.attribute_names == [] and loaded.user_feature_values == {}
    assert loaded.scenario_values.tolist() == []
    _assert_equal(loaded, assets)


def test_saved_file_needs_no_pickle(tmp_path):
    _full_assets().save(str(tmp_path))
    with np.load(tmp_path / ASSETS_FILE, allow_pickle=False) as stored:
        assert all(stored[name].dtype != object for name in stored.files)


def test_saving_again_replaces_the_assets(tmp_path):
    _full_assets().save(str(tmp_path))
    smaller = dataclasses.replace(_full_assets(), text_features=None)
    smaller.save(str(tmp_path))
    assert ModelAssets.load(str(tmp_path)).text_features is None


def test_load_from_a_directory_without_assets_explains(tmp_path):
    with pytest.raises(FileNotFoundError, match="assets.npz not found: is .* a tfrec-llm model directory"):
        ModelAssets.load(str(tmp_path))
