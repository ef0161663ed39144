"""Loads a trained model back from its model directory (written by `train`)."""

import dataclasses
import os

from tfrec_llm.experiment_config import ExperimentConfig
from tfrec_llm.training.model_assets import ModelAssets
from tfrec_llm.training.model_building import build_model, example_batch, restore_weights
from tfrec_llm.models.text.encoder_loading import load_text_encoder
from tfrec_llm.models.text.no_text_encoder import NoTextEncoder

CONFIG_FILE = "config.json"
TEXT_ENCODER_DIR = "text_encoder"


@dataclasses.dataclass
class TrainedModel:
    """A restored `TwoTowerRecommender` with its config, assets and text encoder.

    `text_encoder` is a `NoTextEncoder` for a model without item text.

    Example:
        trained = TrainedModel.load("runs/builtin")
        table = catalog_embeddings(trained.model, trained.assets.num_index_rows)
    """

    model: object
    config: ExperimentConfig
    assets: ModelAssets
    text_encoder: object

    @classmethod
    def load(cls, model_dir: str) -> "TrainedModel":
        config_path = os.path.join(model_dir, CONFIG_FILE)
        if not os.path.exists(config_path):
            raise FileNotFoundError(f"{config_path} not found: is {model_dir!r} a tfrec-llm model directory?")
        config = ExperimentConfig.from_json_file(config_path)
        assets = ModelAssets.load(model_dir)
        if config.model.use_text:
            encoder = load_text_encoder(os.path.join(model_dir, TEXT_ENCODER_DIR), [], config.text)
        else:  # an id-only model reads no text: its (older models') text_encoder/ is not loaded
            encoder = NoTextEncoder(assets.token_ids.shape[1])
        model = build_model(config, assets, encoder, restoring=True)
        batch = example_batch(assets, config.data.max_history)
        model(batch)
        model.compute_loss(batch, training=False)
        restore_weights(model, model_dir)
        return cls(model, config, assets, encoder)
