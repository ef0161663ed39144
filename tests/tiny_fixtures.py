"""Tiny shared test material: a random BERT, a topic world, configs and model builders.

The tiny world has 4 topics; every item's title names its topic, and every
user only interacts with items of one topic, so text alone predicts what a
user will pick next. Imported as `from tiny_fixtures import ...`: a unique
module name, since `conftest` is ambiguous once several test folders have one.
"""

import copy
import json
import os
import pathlib

import tfrec_llm  # noqa: F401  (selects tf_keras before TensorFlow is imported)

import numpy as np

from tfrec_llm.data.interaction_data import InteractionData, ItemCatalog, Interactions
from tfrec_llm.experiment_config import ExperimentConfig

# ../shared/data beside the checkout (MovieLens: read at test time, never copied into the project).
SHARED_DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"

TOPIC_WORDS = (
    ("space", "galaxy", "star"),
    ("love", "romance", "heart"),
    ("crime", "detective", "murder"),
    ("war", "soldier", "battle"),
)
RESERVED_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
FILLER_WORDS = ["story", "the", "of", "a"]
DIGIT_TOKENS = [str(d) for d in range(10)] + [f"##{d}" for d in range(10)]
TINY_VOCABULARY = RESERVED_TOKENS + [w for words in TOPIC_WORDS for w in words] + FILLER_WORDS + DIGIT_TOKENS

TINY_NUM_ITEMS = 48
TINY_NUM_USERS = 64
TINY_WORLD_SEED = 0
TINY_SEQUENCE_LENGTH = 8
TRAINED_MODEL_EPOCHS = 12  # per-position training on 83 sequences: about 10 steps an epoch

TINY_CONFIG_VALUES = {
    "data": {"split": "leave_last_out", "max_history": 6},
    # "none": the catalog-vocabulary fallback BERT; the suite never downloads the pretrained default.
    "text": {
        "encoder": "none",
        "mode": "frozen",
        "sequence_length": TINY_SEQUENCE_LENGTH,
        "fallback_vocabulary_size": 200,
        "fallback_num_layers": 1,
        "fallback_hidden_dim": 16,
        "fallback_num_heads": 2,
        "fallback_intermediate_dim": 32,
        "encode_batch_size": 64,
    },
    "model": {"embedding_dim": 16, "lstm_units": 16, "ranking_hidden_units": [16]},
    # Early stopping off: tests that train a fixed number of epochs; tests of early stopping turn it on.
    "train": {"epochs": 2, "batch_size": 8, "learning_rate": 0.01, "verbose": 0, "early_stopping_patience": 0},
}


# CLI tests that train through `tfrec-llm train`: a small built-in world and a `--config` of tiny towers.
SMALL_BUILTIN = "builtin:num_items=100,num_users=60,num_interactions=600"
TINY_CLI_CONFIG_VALUES = {
    "data": {"max_history": 5},
    "model": {"embedding_dim": 8, "lstm_units": 8},
    "train": {"batch_size": 32, "verbose": 0, "early_stopping_patience": 0},
}


def write_tiny_cli_config(path) -> str:
    """Writes `TINY_CLI_CONFIG_VALUES` as JSON to `path` (for `--config`); returns the path as str."""
    pathlib.Path(path).write_text(json.dumps(TINY_CLI_CONFIG_VALUES), encoding="utf-8")
    return str(path)


def make_tiny_config(**section_overrides) -> ExperimentConfig:
    """The tiny config with `section={key: value}` overrides, e.g. `train={"epochs": 3}`."""
    values = copy.deepcopy(TINY_CONFIG_VALUES)
    for section, overrides in section_overrides.items():
        values.setdefault(section, {}).update(overrides)
    return ExperimentConfig.from_dict(values)


def make_tiny_world(num_items=TINY_NUM_ITEMS, num_users=TINY_NUM_USERS, seed=TINY_WORLD_SEED) -> InteractionData:
    """Items titled by topic; each user picks 4-10 items of a single topic."""
    rng = np.random.default_rng(seed)
    item_topic = np.arange(num_items) % len(TOPIC_WORDS)
    titles = [
        f"{TOPIC_WORDS[t][rng.integers(3)]} {TOPIC_WORDS[t][rng.integers(3)]} story {i}"
        for i, t in enumerate(item_topic)
    ]
    catalog = ItemCatalog(
        item_ids=[f"i{i}" for i in range(num_items)],
        text_fields={"title": titles},
        attributes=np.eye(len(TOPIC_WORDS))[item_topic],
        attribute_names=["space", "love", "crime", "war"],
    )
    users, items, timestamps = [], [], []
    for user in range(num_users):
        candidates = np.flatnonzero(item_topic == user % len(TOPIC_WORDS))
        for step in range(rng.integers(4, 11)):
            users.append(f"u{user}")
            items.append(f"i{rng.choice(candidates)}")
            timestamps.append(1000 * step + user)
    interactions = Interactions(users, items, timestamps, rng.integers(1, 6, len(users)), None)
    return InteractionData("tiny", interactions, catalog)


def make_tiny_encoder(seed=0, num_layers=1, hidden_dim=16):
    """A `TextEncoder` around a random tiny `BertBackbone` and a hand-written vocabulary."""
    import keras  # pylint: disable=import-outside-toplevel
    import keras_hub  # pylint: disable=import-outside-toplevel

    from tfrec_llm.models.text.text_encoder import TextEncoder  # pylint: disable=import-outside-toplevel

    keras.utils.set_random_seed(seed)
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=list(TINY_VOCABULARY), lowercase=True)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(TINY_VOCABULARY),
        num_layers=num_layers,
        num_heads=2,
        hidden_dim=hidden_dim,
        intermediate_dim=2 * hidden_dim,
        max_sequence_length=TINY_SEQUENCE_LENGTH,
    )
    return TextEncoder(backbone, tokenizer, pretrained=False, source="tiny-test")


def make_tiny_assets(config, encoder, cache_dir, data=None):
    """(ExperimentData, ModelAssets) of the tiny world, built as `train` builds them.

    `cache_dir` receives the frozen-mode text cache.
    """
    from tfrec_llm.training.experiment_data import prepare_experiment_data  # pylint: disable=import-outside-toplevel
    from tfrec_llm.training.trainer import build_assets, text_tables  # pylint: disable=import-outside-toplevel

    os.makedirs(cache_dir, exist_ok=True)
    experiment = prepare_experiment_data(config, make_tiny_world() if data is None else data)
    texts, token_table, text_features = text_tables(config, experiment, encoder, str(cache_dir))
    return experiment, build_assets(experiment, texts, token_table, text_features)


def make_built_model(config, assets, encoder=None):
    """A fresh model from `build_model` with every variable created, compiled with Adam."""
    import tf_keras  # pylint: disable=import-outside-toplevel

    from tfrec_llm.training.model_building import build_model  # pylint: disable=import-outside-toplevel
    from tfrec_llm.training.trainer import build_variables  # pylint: disable=import-outside-toplevel

    model = build_model(config, assets, encoder)
    build_variables(model, assets, config)
    model.compile(optimizer=tf_keras.optimizers.Adam(config.train.learning_rate))
    return model


def first_batch(examples, batch_size=16):
    """The first `batch_size` training examples as a feature dict."""
    return {name: values[:batch_size] for name, values in examples.features().items()}
