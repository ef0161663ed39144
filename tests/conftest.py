"""Pytest fixtures over `tiny_fixtures` (shared tiny BERT, world and configs)."""

import pytest

from tfrec_llm.data.interaction_data import InteractionData
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
    from tfrec_llm.recommender_trainer import train  # pylint: disable=import-outside-toplevel

    directory = str(tmp_path_factory.mktemp("trained_model"))
    metrics = train(make_tiny_config(train={"epochs": TRAINED_MODEL_EPOCHS}), directory, data=make_tiny_world())
    return directory, metrics
