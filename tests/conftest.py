"""Pytest fixtures over `tiny_fixtures` (shared tiny BERT, world and configs)."""

import os

# The suite never uses the network: with the Hugging Face Hub offline, a config that forgot to pin
# `text.encoder` ("none" in the tiny configs) falls back at once instead of downloading MiniLM.
os.environ["HF_HUB_OFFLINE"] = "1"

import pytest  # noqa: E402  (after the environment above)

from tfrec_llm.data.interaction_data import InteractionData
from serving_fixtures import train_topic_model
from tiny_fixtures import TRAINED_MODEL_EPOCHS, make_tiny_config, make_tiny_encoder, make_tiny_world


@pytest.fixture
def tiny_config():
    """A factory: `tiny_config(train={"epochs": 1})` -> ExperimentConfig."""
    return make_tiny_config


@pytest.fixture(scope="session")
def tiny_world() -> InteractionData:
    """The tiny topic world (treat as read-only: it is shared by the session)."""
    return make_tiny_world()


@pytest.fixture
def tiny_encoder():
    """A fresh tiny random BERT `TextEncoder` (fresh per test: LoRA mutates it)."""
    return make_tiny_encoder()


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory):
    """A model directory written by `train` on the tiny world (frozen fallback text encoder).

    Returns (directory, metrics). Shared: tests must not write into it.
    """
    from tfrec_llm.training.trainer import train  # pylint: disable=import-outside-toplevel

    directory = str(tmp_path_factory.mktemp("trained_model"))
    metrics = train(make_tiny_config(train={"epochs": TRAINED_MODEL_EPOCHS}), directory, data=make_tiny_world())
    return directory, metrics


# One tiny trained topic model and one export per run (serving, queries and benchmark tests).
@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    return train_topic_model(str(tmp_path_factory.mktemp("trained") / "model"))


@pytest.fixture(scope="session")
def trained(model_dir):
    from tfrec_llm.training.trained_model import TrainedModel  # pylint: disable=import-outside-toplevel

    return TrainedModel.load(model_dir)


@pytest.fixture(scope="session")
def export_dir(model_dir, tmp_path_factory):
    """Every model exported once, with the fresh-process validation on."""
    from tfrec_llm.serving.export.exporter import export_models  # pylint: disable=import-outside-toplevel

    directory = str(tmp_path_factory.mktemp("exports") / "export")
    export_models(model_dir, directory, max_k=10, validate=True)
    return directory
