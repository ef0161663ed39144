"""The models the training-throughput benchmark times, each with its input pipeline.

`build(name, world_config, cache_dir, seed)` returns a `ThroughputSetup`:
a traced training step, one epoch of batches, and how to count examples.
Our models are built by the trainer's own functions (`prepare_experiment_data`,
`text_tables`, `build_model`) and fed by its `epoch_stream`, so the
benchmark times what `tfrec-llm train` runs.
"""

import dataclasses
from typing import Callable

import numpy as np
import tensorflow as tf
import tensorflow_recommenders as tfrs
import tf_keras

from tfrec_llm.experiment_config import ExperimentConfig

PLAIN_BATCH_SIZE = 4096
PLAIN_SHUFFLE_BUFFER = 100_000  # as the TFRS tutorial
PLAIN_EMBEDDING_DIM = 64
# Our model's cells: config overrides on top of `ExperimentConfig()` (+ the fallback encoder).
# `frozen_text_in_batch` and `id_only_full_catalog` separate the costs: the text tower with the
# plain model's in-batch negatives (no logQ correction), and the full-catalog softmax without the
# text tower (what "auto" picks up to `full_catalog_max_items` items);
# `id_only` is `frozen_text` without the text tower at any size (what text adds on top).
MODEL_SETTINGS = {
    "frozen_text": {"text": {"mode": "frozen"}},
    "finetune_text": {"text": {"mode": "finetune"}},
    "frozen_text_in_batch": {"text": {"mode": "frozen"}, "model": {"negatives": "in_batch"}},
    "id_only_full_catalog": {"model": {"use_text": False, "negatives": "full_catalog"}},
    "id_only": {"model": {"use_text": False}},  # our model without text, negatives as `auto` picks them
    # `frozen_text` with Keras' Adam on every table (before LazyAdam: it moved all of a 1M-item table every step)
    "frozen_text_keras_adam": {"text": {"mode": "frozen"}, "train": {"lazy_adam_min_rows": 0}},
}


@dataclasses.dataclass
class ThroughputSetup:
    """What `training_throughput.time_steps` runs for one model."""

    step: Callable
    dataset: tf.data.Dataset
    count_examples: Callable
    steps_per_epoch: int
    examples_per_epoch: int
    negatives: str
    parts: dict = None  # our models: config, experiment, encoder, assets, model (what `scale_run` saves)


class PlainTwoTower(tfrs.models.Model):
    """The TFRS tutorial retrieval model: user-id and item-id embeddings, in-batch softmax.

    Args:
        user_ids, item_ids: the vocabularies (strings).
        embedding_dim: width of both embeddings.

    Example:
        model = PlainTwoTower(np.array(["u1"]), np.array(["i1", "i2"]))
        model.compile(tf_keras.optimizers.Adagrad(0.1))
    """

    def __init__(self, user_ids, item_ids, embedding_dim: int = PLAIN_EMBEDDING_DIM):
        super().__init__()
        self.user_model = _id_embedding(user_ids, embedding_dim)
        self.item_model = _id_embedding(item_ids, embedding_dim)
        self.task = tfrs.tasks.Retrieval()

    def compute_loss(self, features, training=False):
        users = self.user_model(features["user_id"])
        items = self.item_model(features["item_id"])
        return self.task(users, items, compute_metrics=False)


def _id_embedding(ids, dim):
    return tf_keras.Sequential(
        [tf_keras.layers.StringLookup(vocabulary=ids, mask_token=None), tf_keras.layers.Embedding(len(ids) + 1, dim)]
    )


def build(name: str, world_config, cache_dir: str, seed: int = 0, batch_size: int = 0, data=None) -> ThroughputSetup:
    """The setup of model `name` ("tfrs_plain", "frozen_text" or "finetune_text") on that world.

    `batch_size` (0 = each model's default: `PLAIN_BATCH_SIZE` events, `train.batch_size`
    sequence rows) overrides our models' rows per batch; `data` replaces generating the world.
    """
    from tfrec_llm.data.synthetic.builtin_world import generate_builtin_world  # pylint: disable=import-outside-toplevel

    if name not in MODEL_SETTINGS and name != "tfrs_plain":
        raise ValueError(f"Unknown benchmark model {name!r}: use one of tfrs_plain, {', '.join(MODEL_SETTINGS)}.")
    data = generate_builtin_world(world_config) if data is None else data
    if name == "tfrs_plain":
        return _plain_setup(data, seed)
    return _our_setup(data, MODEL_SETTINGS[name], cache_dir, seed, batch_size)


def _plain_setup(data, seed) -> ThroughputSetup:
    from tfrec_llm.data.data_split import split_interactions  # pylint: disable=import-outside-toplevel

    defaults = ExperimentConfig().data
    train = split_interactions(data.interactions, defaults.split, defaults.time_cut_quantile).train
    tf_keras.utils.set_random_seed(seed)
    model = PlainTwoTower(np.unique(train.user_ids), np.unique(train.item_ids))
    model.compile(optimizer=tf_keras.optimizers.Adagrad(0.1))
    dataset = (
        tf.data.Dataset.from_tensor_slices({"user_id": train.user_ids, "item_id": train.item_ids})
        .shuffle(PLAIN_SHUFFLE_BUFFER, seed=seed)
        .batch(PLAIN_BATCH_SIZE, drop_remainder=True)
        .prefetch(tf.data.AUTOTUNE)
    )
    steps = len(train.user_ids) // PLAIN_BATCH_SIZE
    return ThroughputSetup(
        tf.function(model.train_step), dataset, lambda _: PLAIN_BATCH_SIZE, steps, steps * PLAIN_BATCH_SIZE, "in_batch"
    )


def _our_setup(data, settings: dict, cache_dir, seed, batch_size=0) -> ThroughputSetup:
    from tfrec_llm.data.training_sequences import count_targets  # pylint: disable=import-outside-toplevel
    from tfrec_llm.models.text.encoder_loading import load_text_encoder  # pylint: disable=import-outside-toplevel
    from tfrec_llm.training import trainer  # pylint: disable=import-outside-toplevel
    from tfrec_llm.training.experiment_data import prepare_experiment_data  # pylint: disable=import-outside-toplevel
    from tfrec_llm.training.model_building import build_model, make_optimizer  # pylint: disable=import-outside-toplevel
    from tfrec_llm.training.resume import epoch_stream  # pylint: disable=import-outside-toplevel

    config = ExperimentConfig.from_dict(
        {
            "text": {"encoder": "none", **settings.get("text", {})},
            "model": settings.get("model", {}),
            "train": {
                "early_stopping_patience": 0,
                "seed": seed,
                "deterministic": False,
                **({"batch_size": batch_size} if batch_size else {}),
                **settings.get("train", {}),
            },
        }
    )
    trainer.set_seeds(seed, deterministic=False)
    experiment = prepare_experiment_data(config, data)
    encoder = load_text_encoder("none", data.catalog.texts(config.text.text_fields), config.text, seed)
    texts, token_table, text_features = trainer.text_tables(config, experiment, encoder, cache_dir)
    assets = trainer.build_assets(experiment, texts, token_table, text_features)
    model = build_model(config, assets, encoder)
    trainer.build_variables(model, assets, config)
    model.compile(optimizer=make_optimizer(config))
    features = experiment.training_features(config.model.training_targets, config.model.empty_history_targets)
    rows = len(features["next_items"])
    batch_size = min(config.train.batch_size, rows)
    steps = rows // batch_size
    examples = count_targets({name: values[: steps * batch_size] for name, values in features.items()})
    return ThroughputSetup(
        tf.function(model.train_step),
        epoch_stream(features, batch_size, seed, epochs=1),
        count_targets,  # per batch too: its tensors read as arrays
        steps,
        examples,
        model.config.negatives,
        {"config": config, "experiment": experiment, "encoder": encoder, "assets": assets, "model": model},
    )
