"""Generated TFDS MovieLens examples for `load_tfds`, its download replaced by the batches."""

import functools
from unittest import mock

import numpy as np
from hypothesis import strategies as st

from tfrec_llm.data.interaction_data import InteractionData
from tfrec_llm.data.loaders import tfds_source
from tfrec_llm.testing.file_strategies import ITEM_IDS
from tfrec_llm.testing.loader_invariant import GeneratedSource


TFDS_GENRE_NAMES = ["Action", "Comedy", "unknown", "(no genres listed)"]
TFDS_RATINGS = st.one_of(st.sampled_from([1.0, 2.5, 5.0]), st.floats(width=32))


@st.composite
def tfds_batch(draw, with_demographics: bool):
    """One padded TFDS batch: ids, titles (maybe empty), genres (-1 padding), ratings (NaN, inf)."""
    size = draw(st.integers(0, 8))
    width = draw(st.integers(1, 3))

    def column(values, dtype):
        return np.array(draw(st.lists(values, min_size=size, max_size=size)), dtype=dtype)

    batch = {
        "user_id": column(st.sampled_from([b"1", b"2", b"3"]), object),
        "movie_id": column(st.sampled_from([item.encode() for item in ITEM_IDS[:4]]), object),
        "movie_title": column(st.one_of(st.sampled_from([b"", b"  "]), st.binary(max_size=6)), object),
        "movie_genres": column(
            st.lists(st.integers(-1, len(TFDS_GENRE_NAMES) - 1), min_size=width, max_size=width),
            np.int64,
        ).reshape(size, width),
        "timestamp": column(st.integers(0, 2**40), np.int64),
        "user_rating": column(TFDS_RATINGS, np.float32),
    }
    if with_demographics:
        batch["user_gender"] = column(st.booleans(), bool)
        batch["bucketized_user_age"] = column(st.sampled_from([1.0, 25.0, 56.0]), np.float32)
    return batch


def _load_tfds_batches(batches, genre_names, folder: str, strict: bool) -> InteractionData:
    del folder  # TFDS needs no files: its download is replaced by the batches
    with mock.patch.object(tfds_source, "_read_batches", return_value=(batches, genre_names)):
        return tfds_source.load_tfds("movielens/100k-ratings", strict=strict)


@st.composite
def tfds_sources(draw) -> GeneratedSource:
    """1-2 TFDS batches (same keys, genre matrices of different widths)."""
    with_demographics = draw(st.booleans())
    batches = draw(st.lists(tfds_batch(with_demographics), min_size=1, max_size=2))
    columns = {key: np.concatenate([b[key] for b in batches]) for key in ("user_id", "movie_id")}
    ratings = np.concatenate([b["user_rating"] for b in batches])
    timestamps = np.concatenate([b["timestamp"] for b in batches])
    expected = [
        (user.decode(), item.decode(), int(timestamp), float(rating))
        for user, item, timestamp, rating in zip(columns["user_id"], columns["movie_id"], timestamps, ratings)
        if np.isfinite(rating)
    ]
    return GeneratedSource(
        kind="tfds",
        files={},
        load=functools.partial(_load_tfds_batches, batches, TFDS_GENRE_NAMES),
        rows_per_file={"examples": len(ratings)},
        expected=expected,
        structured_users=("1", "2", "3"),
        counts_items_and_users=False,
    )
