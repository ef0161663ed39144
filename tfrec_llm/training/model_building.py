"""Builds a `TwoTowerRecommender` from a config, assets and a text encoder.

The single place where towers and tasks are wired, shared by training
(fresh model) and evaluation/export (model restored from a checkpoint).
"""

import contextlib
import logging
import dataclasses
import os

import numpy as np
import tensorflow as tf
import tf_keras

from tfrec_llm.experiment_config import ExperimentConfig
from tfrec_llm.training.model_assets import ModelAssets
from tfrec_llm.training.lazy_adam import LazyAdam
from tfrec_llm.models import id_hashing
from tfrec_llm.models.item_tower import ItemTower
from tfrec_llm.models.text_initialised_ids import (
    DEFAULT_EMBEDDING_STD,
    text_initial_id_rows,
    text_initialisation_applies,
)
from tfrec_llm.models.two_tower_recommender import TwoTowerRecommender
from tfrec_llm.models.two_path_user_tower import TwoPathUserTower
from tfrec_llm.models.user_tower import UserTower

logger = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoint"
CHECKPOINT_PREFIX = "model"


@contextlib.contextmanager
def tower_precision(policy_name: str):
    """Builds layers under `policy_name` (e.g. "mixed_float16"), leaving the global policy float32.

    Only the towers compute in mixed precision. TFRS tasks stay float32: they
    create layers inside `call` (e.g. RemoveAccidentalHits) under whatever
    global policy is active, and tf_keras autocasts only a layer's first
    input, which would mix float16 and float32 operands.
    """
    previous = tf_keras.mixed_precision.global_policy()
    tf_keras.mixed_precision.set_global_policy(policy_name)
    try:
        yield
    finally:
        tf_keras.mixed_precision.set_global_policy(previous)


def mixed_precision_policy(config: ExperimentConfig) -> str:
    """The towers' dtype policy: mixed_bfloat16 on TPU, mixed_float16 elsewhere, or float32."""
    if not config.train.mixed_precision:
        return "float32"
    return "mixed_bfloat16" if config.train.strategy == "tpu" else "mixed_float16"


def make_optimizer(config: ExperimentConfig) -> tf_keras.optimizers.Optimizer:
    """Adam at `train.learning_rate` (lazy on large tables), in a `LossScaleOptimizer` when towers compute in float16.

    Tables of at least `train.lazy_adam_min_rows` rows update only the rows
    each step touches (`LazyAdam`): Keras' Adam would move all of a 1M-item
    table every step.

    float16 gradients below ~6e-8 round to zero: the loss-scale optimizer
    multiplies the loss before differentiating and divides the gradients
    after (skipping steps whose scaled gradients overflow). bfloat16 has
    float32's range and needs none. The model's own policy stays float32,
    so `compile` would not add the wrapper by itself.

    Example:
        model.compile(optimizer=make_optimizer(config))
    """
    momentum = config.train.weight_average_momentum  # 0: no moving average of the weights
    optimizer = LazyAdam(
        config.train.learning_rate,
        min_rows=config.train.lazy_adam_min_rows,
        use_ema=momentum > 0,
        ema_momentum=momentum if momentum > 0 else 0.99,
    )
    if mixed_precision_policy(config) == "mixed_float16":
        optimizer = tf_keras.mixed_precision.LossScaleOptimizer(optimizer)
    return optimizer


def build_model(
    config: ExperimentConfig, assets: ModelAssets, text_encoder=None, restoring=False
) -> TwoTowerRecommender:
    """A fresh (untrained) model; call inside `strategy.scope()` to distribute it.

    `restoring=True`: a checkpoint's weights are restored next, so the id
    rows' text start (`model.id_init`), which they overwrite, is not computed
    (an SVD of the catalog's BERT vectors: 14 s at 100,000 items).
    """
    model_config = config.model
    use_text = model_config.use_text
    finetune = use_text and config.text.mode in ("finetune", "lora")
    text_kwargs = {}
    if use_text and finetune:
        if text_encoder is None:
            raise ValueError(f"text.mode={config.text.mode!r} needs the text encoder.")
        if config.text.mode == "lora":
            text_encoder.enable_lora(config.text.lora_rank)
        text_kwargs = {"token_ids": assets.token_ids, "text_encoder": text_encoder.bridge_layer()}
    elif use_text:
        if assets.text_features is None:
            raise ValueError("Frozen text mode needs assets.text_features (the encoded catalog).")
        text_kwargs = {"text_features": assets.text_features}
    with tower_precision(mixed_precision_policy(config)):
        item_tower, user_tower = _build_towers(config, assets, text_kwargs, restoring)
    popularity = assets.item_popularity.astype(np.float64)
    sampling = (popularity / max(popularity.sum(), 1.0)).astype(np.float32)
    negatives = config.negatives_for(len(assets.item_ids))  # "auto" resolved
    # In-batch negatives chosen for the catalog's size are logQ-corrected (popularity-biased otherwise).
    logq = model_config.logq_correction or negatives != config.negatives
    model_config = dataclasses.replace(model_config, negatives=negatives, logq_correction=logq)
    return TwoTowerRecommender(
        item_tower,
        user_tower,
        model_config,
        label_kind=assets.label_kind,
        item_attributes=assets.item_attributes,
        item_sampling_probability=sampling,
        static_shapes=config.train.strategy == "tpu",  # TPUs compile with XLA: every shape known when tracing
    )


def _build_towers(config: ExperimentConfig, assets: ModelAssets, text_kwargs: dict, restoring: bool):
    model_config = config.model
    use_text = model_config.use_text
    # Id dropout teaches the text path to carry items alone; without text it would only erase items.
    item_id_dropout = model_config.item_id_dropout if use_text else 0.0
    id_slots, feature_slots, _ = hashed_tables(config, assets)
    id_initial_rows = None if restoring else _text_initial_id_rows(config, id_slots, text_kwargs.get("text_features"))
    if model_config.id_text_prior_weight > 0 and "text_features" not in text_kwargs:
        raise ValueError(
            f'model.id_text_prior_weight reads the frozen BERT vectors: it needs text.mode "frozen", '
            f"got {config.text.mode!r} (or set model.id_text_prior_weight to 0)."
        )
    item_tower = ItemTower(
        id_slots,
        model_config.embedding_dim,
        use_text=use_text,
        use_item_ids=model_config.use_item_ids,
        item_id_dropout=item_id_dropout,
        fusion=model_config.fusion,
        item_popularity=assets.item_popularity,
        id_initial_rows=id_initial_rows,
        maps_cold_ids=model_config.cold_item_ids == "from_text",
        id_text_prior=model_config.id_text_prior_weight > 0,
        name="item_tower",
        **text_kwargs,
    )

    def user_tower_named(name):
        return UserTower(
            model_config.embedding_dim,
            model_config.lstm_units,
            num_scenarios=len(assets.scenario_values) + 1,
            user_feature_sizes={k: len(v) + 1 for k, v in assets.user_feature_values.items()},
            sequence_encoder=model_config.user_tower,
            max_history=config.data.max_history,
            dropout=model_config.dropout,
            context_dropout=model_config.context_dropout,
            num_blocks=model_config.attention_blocks,
            num_heads=model_config.attention_heads,
            attention_dropout=model_config.attention_dropout,
            feed_forward_multiplier=model_config.attention_feed_forward_multiplier,
            feature_slots=feature_slots,
            scenario_heads=model_config.scenario_heads,
            name=name,
        )

    if item_tower.paths:  # fusion "paths": one user tower per half of the item vectors
        ids, text = user_tower_named("user_tower_ids"), user_tower_named("user_tower_text")
        return item_tower, TwoPathUserTower(ids, text, model_config.embedding_dim, name="user_tower")
    return item_tower, user_tower_named("user_tower")


def hashed_tables(config: ExperimentConfig, assets: ModelAssets):
    """(item id slots, user-feature slot tables or None, collision report) under `model.id_hash_buckets`.

    Without hashing: the vocabulary's own slots, None, None. With it: see
    `models.id_hashing`; the report is {"item_ids": {...}, "user_<name>": {...}}.
    """
    buckets = config.model.id_hash_buckets
    if not buckets:
        return assets.id_slots, None, None
    id_slots, item_report = id_hashing.hashed_item_slots(assets.item_ids, assets.id_slots, buckets)
    feature_slots, report = {}, {"item_ids": item_report}
    for name, values in assets.user_feature_values.items():
        feature_slots[name], report[f"user_{name}"] = id_hashing.hashed_feature_categories(values, buckets)
    for name, part in report.items():
        logger.info(
            "Id hashing, %s: %d ids into %d buckets, %.2f%% of the ids share their bucket.",
            name,
            part["ids"],
            buckets,
            100 * part["collision_rate"],
        )
    return id_slots, feature_slots, report


def example_batch(assets: ModelAssets, max_history: int, batch_size: int = 2) -> dict:
    """A tiny all-padding batch that builds every layer's variables."""
    batch = {
        "history": np.zeros((batch_size, max_history), np.int32),
        "target": np.full(batch_size, 2, np.int32),
        "label": np.zeros(batch_size, np.float32),
        "scenario": np.zeros(batch_size, np.int32),
    }
    for name in assets.user_feature_values:
        batch[f"user_{name}"] = np.zeros(batch_size, np.int32)
    return batch


def checkpoint_path(model_dir: str) -> str:
    return os.path.join(model_dir, CHECKPOINT_DIR, CHECKPOINT_PREFIX)


def save_weights(model, model_dir: str) -> str:
    """Writes the model's variables with `tf.train.Checkpoint` (not .h5: it misses BERT)."""
    return tf.train.Checkpoint(model=model).write(checkpoint_path(model_dir))


def restore_weights(model, model_dir: str):
    """Restores weights written by `save_weights`; fails if any model variable is unmatched.

    Raises ValueError (naming the checkpoint) when the model was built with
    other sizes, text mode or tasks than the checkpoint. The optimizer state
    the checkpoint also holds is not needed to predict and is ignored.
    """
    path = checkpoint_path(model_dir)
    if not tf.io.gfile.exists(path + ".index"):
        raise FileNotFoundError(f"No checkpoint at {path}: was training finished in {model_dir!r}?")
    try:
        status = tf.train.Checkpoint(model=model).read(path)
        status.assert_existing_objects_matched()
    except (AssertionError, ValueError) as error:
        raise ValueError(
            f"The checkpoint {path} does not match this model: it was built with other sizes, text mode "
            f"or tasks than the checkpoint was trained with (see {model_dir}/config.json). {error}"
        ) from error
    status.expect_partial()
    return status


def fit_cold_item_ids(model, config: ExperimentConfig):
    """After training: fits the map that gives items without an id row their text's id vector, if configured."""
    if config.model.cold_item_ids == "from_text":
        model.item_tower.fit_cold_id_map(config.model.cold_item_ids_l2)


def _text_initial_id_rows(config: ExperimentConfig, id_slots, text_features):
    """The id embedding's initial rows under `model.id_init` "text" (or "auto" where text applies), else None."""
    model_config = config.model
    if model_config.id_init == "random":
        return None
    if model_config.id_init == "auto" and not text_initialisation_applies(
        text_features, model_config.embedding_dim, model_config.use_text and model_config.use_item_ids
    ):
        return None
    if text_features is None:
        raise ValueError(
            f'model.id_init "text" reads the frozen BERT vectors: it needs text.mode "frozen", '
            f'got {config.text.mode!r} (or set model.id_init to "random").'
        )
    std = DEFAULT_EMBEDDING_STD * model_config.id_init_scale
    return text_initial_id_rows(text_features, id_slots, int(np.max(id_slots)) + 1, model_config.embedding_dim, std)
