"""What `train` leaves in, and reuses from, its output directory.

A run that fails during setup leaves nothing; the frozen text cache is
reused only for the very same encoder. (A backup is resumed only by the
training config that wrote it: tests/training/test_recommender_trainer.py.)
"""

import numpy as np
import pytest
from tiny_fixtures import make_tiny_config, make_tiny_encoder, make_tiny_world

from tfrec_llm.data.data_error import DataError
from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX
from tfrec_llm.models.text.encoder_loading import TextEncoderError
from tfrec_llm.training.experiment_data import prepare_experiment_data
from tfrec_llm.training.trainer import train, text_tables


def _is_empty(directory) -> bool:
    return not directory.exists() or not any(directory.iterdir())


def test_a_train_failing_on_bad_data_leaves_no_config_or_other_artifact(tmp_path):
    (tmp_path / "ratings.csv").write_text("", encoding="utf-8")
    (tmp_path / "items.csv").write_text("", encoding="utf-8")
    config = make_tiny_config(data={"source": str(tmp_path / "ratings.csv"), "items": str(tmp_path / "items.csv")})
    with pytest.raises(DataError):
        train(config, str(tmp_path / "run"))
    assert _is_empty(tmp_path / "run")


def test_a_train_failing_on_a_bad_text_encoder_leaves_no_config_or_other_artifact(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"not a model directory")
    config = make_tiny_config(text={"encoder": str(tmp_path / "model.safetensors")})
    with pytest.raises(TextEncoderError):
        train(config, str(tmp_path / "run"), data=make_tiny_world())
    assert _is_empty(tmp_path / "run")


@pytest.fixture(name="experiment", scope="module")
def _experiment():
    config = make_tiny_config()
    return config, prepare_experiment_data(config, make_tiny_world())


@pytest.mark.parametrize("other", [{"seed": 1}, {"hidden_dim": 32}], ids=["seed", "width"])
def test_the_text_cache_is_not_reused_for_another_encoder_of_the_same_source(tmp_path, experiment, other):
    config, data = experiment
    _, _, stale = text_tables(config, data, make_tiny_encoder(seed=0), str(tmp_path))
    encoder = make_tiny_encoder(**other)  # same source ("tiny-test"), other weights
    _, token_table, features = text_tables(config, data, encoder, str(tmp_path))
    np.testing.assert_allclose(
        features[FIRST_ITEM_INDEX:], encoder.encode(token_table[FIRST_ITEM_INDEX:]), rtol=1e-5, atol=1e-6
    )
    assert features.shape != stale.shape or not np.allclose(features, stale)


def test_the_text_cache_is_reused_for_the_same_encoder_rebuilt(tmp_path, experiment, monkeypatch):
    config, data = experiment
    _, _, first = text_tables(config, data, make_tiny_encoder(seed=0), str(tmp_path))
    again = make_tiny_encoder(seed=0)
    monkeypatch.setattr(again, "encode", lambda *args, **kwargs: pytest.fail("the cache was not reused"))
    _, _, features = text_tables(config, data, again, str(tmp_path))
    np.testing.assert_array_equal(features, first)
