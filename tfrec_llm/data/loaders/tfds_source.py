"""Loads a TensorFlow Datasets `movielens/*-ratings` config.

Each TFDS example is one rating joined with its movie (and, for 100k and
1m, its user's demographics). The catalog is built from the distinct movies
(first occurrence), genre labels are mapped to names through the dataset's
feature info. Conversion is vectorised: the dataset is read in large
batches with `tfds.as_numpy`.

Offline, TFDS can build the dataset from the original GroupLens zip placed
in a manual directory (`manual_dir`, the CLI's `--tfds-manual-dir`).
"""

import re
from typing import Dict, List, Optional, Tuple

import numpy as np

from tfrec_llm.data.data_error import DataError
from tfrec_llm.data.loaders.fallback_recorder import FallbackRecorder
from tfrec_llm.data.interaction_data import InteractionData, ItemCatalog, Interactions, UserFeatures
from tfrec_llm.data.loaders.movielens_directory import NOT_A_GENRE, age_bucket_labels

TFDS_NAME_PATTERN = re.compile(r"^movielens/(?P<version>[a-z0-9-]+)-ratings$")
TFDS_VERSIONS = ("100k", "1m", "20m", "25m", "latest-small")
TFDS_BATCH_SIZE = 1_000_000
GENRE_PADDING = -1
MANUAL_DIR_OPTION = "--tfds-manual-dir"
GENDER_LABELS = {True: "M", False: "F"}  # TFDS: user_gender True = male.
REQUIRED_FEATURES = (
    "user_id",
    "movie_id",
    "movie_title",
    "movie_genres",
    "timestamp",
    "user_rating",
)


def _decode(values: np.ndarray) -> np.ndarray:
    """bytes (object) array -> str array."""
    if values.size == 0:
        return np.asarray([], dtype=str)
    return np.char.decode(values.astype(bytes), "utf-8", errors="replace")


def _check_name(name: str) -> str:
    match = TFDS_NAME_PATTERN.match(name)
    if not match or match.group("version") not in TFDS_VERSIONS:
        accepted = ", ".join(f"movielens/{v}-ratings" for v in TFDS_VERSIONS)
        raise DataError(f"Unsupported TFDS dataset {name!r}: use one of {accepted}.")
    return match.group("version")


def load_tfds(
    name: str,
    data_dir: Optional[str] = None,
    manual_dir: Optional[str] = None,
    strict: bool = False,
) -> InteractionData:
    """Loads `movielens/<version>-ratings` from TensorFlow Datasets.

    Args:
        name: e.g. "movielens/100k-ratings".
        data_dir: where TFDS stores prepared data (default: TFDS's own).
        manual_dir: a directory holding the original GroupLens zip (e.g.
            `ml-latest-small.zip`), for machines without internet.
        strict: raise a `DataError` instead of applying any fallback.

    Returns:
        InteractionData with label_kind "rating", scenario "default".
    """
    version = _check_name(name)
    batches, genre_names = _read_batches(name, version, data_dir, manual_dir)
    if not batches:
        raise DataError(f"TFDS dataset {name} has no examples.")
    columns = _concatenate(batches)
    recorder = FallbackRecorder(strict)
    finite = np.isfinite(columns["user_rating"])
    if not finite.all():
        first = int(np.flatnonzero(~finite)[0])
        recorder.record("non-finite user_rating: row dropped", f"{name}:example {first}", int((~finite).sum()))
        columns = {key: values[finite] for key, values in columns.items()}
    if len(columns["user_id"]) == 0:
        raise DataError(f"TFDS dataset {name} has no usable examples.")
    user_ids = _decode(columns["user_id"])
    movie_ids = _decode(columns["movie_id"])
    interactions = Interactions(
        user_ids=user_ids,
        item_ids=movie_ids,
        timestamps=columns["timestamp"],
        labels=columns["user_rating"],
        scenarios=None,
    )
    catalog = _catalog(name, movie_ids, columns, genre_names, recorder)
    _, first_index, counts = np.unique(user_ids, return_index=True, return_counts=True)
    if (counts == 1).any():
        recorder.note(
            "user with a single interaction",
            f"{name}:example {int(first_index[counts == 1].min())}",
            int((counts == 1).sum()),
        )
    return InteractionData(
        name=name,
        interactions=interactions,
        catalog=catalog,
        label_kind="rating",
        user_features=_user_features(user_ids, columns),
        report=recorder.report,
    )


def _read_batches(
    name: str, version: str, data_dir: Optional[str], manual_dir: Optional[str]
) -> Tuple[List[Dict[str, np.ndarray]], List[str]]:
    """The dataset as NumPy batches (genres padded with -1) and the genre names."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel

    prepare_kwargs = None
    if manual_dir:
        prepare_kwargs = {"download_config": tfds.download.DownloadConfig(manual_dir=manual_dir)}
    try:
        dataset, info = tfds.load(
            name,
            split="train",
            data_dir=data_dir,
            with_info=True,
            download_and_prepare_kwargs=prepare_kwargs,
        )
    except Exception as error:  # pylint: disable=broad-except
        archive = f"ml-{version}.zip"
        where = (
            f"the manual directory {manual_dir!r} must hold the original {archive}"
            if manual_dir
            else f"without internet, download {archive} from GroupLens elsewhere and pass "
            f"its folder with {MANUAL_DIR_OPTION} (manual_dir=...)"
        )
        raise DataError(
            f"TensorFlow Datasets could not download or prepare {name}: {type(error).__name__}: {error}. Fix: {where}."
        ) from error
    missing = [f for f in REQUIRED_FEATURES if f not in info.features]
    if missing:
        raise DataError(f"TFDS dataset {name} lacks the features {missing}; it has {list(info.features)}.")
    genre_names = list(info.features["movie_genres"].feature.names)
    padding = {key: _padding_value(tf, spec) for key, spec in dataset.element_spec.items()}
    padded = dataset.padded_batch(TFDS_BATCH_SIZE, padding_values=padding)
    return list(tfds.as_numpy(padded)), genre_names


def _padding_value(tf, spec):
    if spec.dtype == tf.string:
        return tf.constant("", dtype=tf.string)
    if spec.dtype == tf.bool:
        return tf.constant(False)
    return tf.constant(GENRE_PADDING, dtype=spec.dtype)


def _concatenate(batches: List[Dict[str, np.ndarray]]) -> Dict[str, np.ndarray]:
    """Joins batches; genre matrices of different widths are padded first."""
    width = max(batch["movie_genres"].shape[1] for batch in batches)
    columns = {}
    for key in batches[0]:
        parts = [batch[key] for batch in batches]
        if key == "movie_genres":
            parts = [np.pad(p, ((0, 0), (0, width - p.shape[1])), constant_values=GENRE_PADDING) for p in parts]
        columns[key] = np.concatenate(parts)
    return columns


def _catalog(
    name: str,
    movie_ids: np.ndarray,
    columns: Dict[str, np.ndarray],
    genre_names: List[str],
    recorder: FallbackRecorder,
) -> ItemCatalog:
    """One item per distinct movie id, described by its first example."""
    item_ids, first = np.unique(movie_ids, return_index=True)
    titles = np.char.strip(_decode(columns["movie_title"][first]))
    labels = columns["movie_genres"][first]
    is_genre = np.array([genre not in NOT_A_GENRE for genre in genre_names] + [False])
    labels = np.where(labels >= 0, labels, len(genre_names))  # padding -> the extra "no genre" slot
    flags = np.zeros((len(item_ids), len(genre_names) + 1), dtype=np.float32)
    flags[np.arange(len(item_ids))[:, None], labels] = 1.0
    used = is_genre & (flags.sum(axis=0) > 0)
    attribute_names = [genre for genre, keep in zip(genre_names, used) if keep]
    named = np.asarray(genre_names + [""])
    genre_text = np.array([", ".join(dict.fromkeys(named[row][is_genre[row]])) for row in labels], dtype=str)
    no_text = (titles == "") & (genre_text == "")
    if no_text.any():
        first_missing = int(first[np.flatnonzero(no_text)[0]])
        recorder.record(
            "item without any text: its id is used as its text",
            f"{name}:example {first_missing}",
            int(no_text.sum()),
        )
        titles = np.where(no_text, item_ids, titles)
    return ItemCatalog(
        item_ids=item_ids,
        text_fields={"title": titles, "genres": genre_text},
        attributes=flags[:, used],
        attribute_names=attribute_names,
    )


def _user_features(user_ids: np.ndarray, columns: Dict[str, np.ndarray]) -> Optional[UserFeatures]:
    """Demographics per user (first example), or None when the config has none."""
    if not any(key in columns for key in ("user_gender", "bucketized_user_age", "user_occupation_text")):
        return None
    unique_users, first = np.unique(user_ids, return_index=True)
    features = {}
    if "bucketized_user_age" in columns:
        features["age_bucket"] = age_bucket_labels(columns["bucketized_user_age"][first].astype(str))
    if "user_gender" in columns:
        features["gender"] = np.where(columns["user_gender"][first], GENDER_LABELS[True], GENDER_LABELS[False])
    if "user_occupation_text" in columns:
        features["occupation"] = np.char.strip(_decode(columns["user_occupation_text"][first]))
    return UserFeatures(user_ids=unique_users, columns=features)
