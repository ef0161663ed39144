"""Fixtures shared by tests/serving: one tiny trained model and one export per run."""

import pytest

from serving_fixtures import train_topic_model


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    return train_topic_model(str(tmp_path_factory.mktemp("trained") / "model"))


@pytest.fixture(scope="session")
def trained(model_dir):
    from tfrec_llm.trained_model import TrainedModel  # pylint: disable=import-outside-toplevel
    return TrainedModel.load(model_dir)


@pytest.fixture(scope="session")
def export_dir(model_dir, tmp_path_factory):
    """Every model exported once, with the fresh-process validation on."""
    from tfrec_llm.serving.saved_model_exporter import export_models  # pylint: disable=import-outside-toplevel
    directory = str(tmp_path_factory.mktemp("exports") / "export")
    export_models(model_dir, directory, max_k=10, validate=True)
    return directory
