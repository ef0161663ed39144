"""Serving test material: a toy world where text decides the topic, and its trained model.

Imported as `from serving_fixtures import ...` (a unique module name; see tests/tiny_fixtures.py).

The toy world makes text determine the topic: every item title holds a
topic word, and each user reads one topic, so a new item is recognisable
from its text alone.
"""

import numpy as np

import tfrec_llm  # noqa: F401  (legacy Keras before TensorFlow)
from tfrec_llm.data.interaction_data import InteractionData, Interactions, ItemCatalog, UserFeatures
from tfrec_llm.experiment_config import ExperimentConfig

TOPIC_WORDS = (
    ("space", "galaxy", "rocket"),
    ("love", "romance", "wedding"),
    ("crime", "detective", "murder"),
    ("war", "soldier", "battle"),
)
NUM_ITEMS = 48
NUM_USERS = 90
MAX_HISTORY = 4
TRAIN_SETTINGS = {
    "data": {"max_history": MAX_HISTORY},
    "text": {"encoder": "none", "mode": "frozen", "sequence_length": 8},  # "none": never download
    # The attribute task (topics from titles) and plain sum fusion make the random tiny BERT's text path
    # carry the topic, which the request tests need; the defaults (no attribute task, gate) do not here.
    "model": {"embedding_dim": 16, "lstm_units": 16, "item_id_dropout": 0.5, "attribute_weight": 0.5, "fusion": "sum"},
    "train": {"epochs": 6, "batch_size": 8, "verbose": 0, "learning_rate": 0.01, "early_stopping_patience": 0},
}


def item_topic(i: int) -> int:
    return i % len(TOPIC_WORDS)


def topic_world(seed: int = 0) -> InteractionData:
    rng = np.random.default_rng(seed)
    item_ids = [f"m{i}" for i in range(NUM_ITEMS)]
    titles = [
        f"{TOPIC_WORDS[item_topic(i)][i % 3]} {TOPIC_WORDS[item_topic(i)][(i + 1) % 3]} tale {i}"
        for i in range(NUM_ITEMS)
    ]
    topics = np.array([item_topic(i) for i in range(NUM_ITEMS)])
    catalog = ItemCatalog(item_ids, {"title": titles}, np.eye(len(TOPIC_WORDS))[topics], ["t0", "t1", "t2", "t3"])
    users, items, times, scenarios = [], [], [], []
    for u in range(NUM_USERS):
        liked = np.flatnonzero(topics == u % len(TOPIC_WORDS))
        for k in range(int(rng.integers(4, 10))):
            users.append(f"u{u}")
            items.append(item_ids[int(rng.choice(liked))])
            times.append(k * 100 + u)
            scenarios.append("web" if rng.random() < 0.5 else "app")
    interactions = Interactions(users, items, times, rng.integers(1, 6, len(users)), scenarios)
    features = UserFeatures(
        [f"u{u}" for u in range(NUM_USERS)], {"age": ["young" if u % 3 else "old" for u in range(NUM_USERS)]}
    )
    return InteractionData("topics", interactions, catalog, user_features=features)


def train_topic_model(model_dir: str, overrides: dict = None) -> str:
    from tfrec_llm.training.trainer import train  # pylint: disable=import-outside-toplevel

    config = ExperimentConfig.from_dict(TRAIN_SETTINGS)
    if overrides:
        config = config.updated(overrides)
    train(config, model_dir, data=topic_world())
    return model_dir


def with_empty_history_answer(scores: np.ndarray, histories, trained) -> np.ndarray:
    """`scores` [B, N] as `retrieval` answers them: rows whose last MAX_HISTORY ids hold no catalog item
    get the popularity prior when the model's `empty_history_answer` is "popularity" (the default)."""
    from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX  # pylint: disable=import-outside-toplevel
    from tfrec_llm.serving.catalog.item_popularity import popularity_prior  # pylint: disable=import-outside-toplevel

    if trained.config.model.empty_history_answer != "popularity":
        return scores
    scores = np.array(scores, np.float32)
    catalog = set(trained.assets.item_ids.tolist())
    prior = popularity_prior(trained.assets.item_popularity[FIRST_ITEM_INDEX:])
    for row, history in enumerate(histories):
        if not catalog & set([item_id for item_id in history if item_id][-MAX_HISTORY:]):
            scores[row] = prior
    return scores
