"""Loads a raw MovieLens directory (ml-100k, ml-1m, ml-latest[-small]).

The layout is detected by its files:

- ml-100k: `u.data` (user, item, rating, timestamp; tab-separated),
  `u.item` (id|title|release date|video release|IMDb URL|19 genre flags),
  `u.genre` (genre|index) and, optionally, `u.user`
  (id|age|gender|occupation|zip). Latin-1.
- ml-1m: `ratings.dat`, `movies.dat` (id::title::Genre|Genre) and,
  optionally, `users.dat` (id::gender::age code::occupation code::zip).
  Latin-1, `::`-separated.
- ml-latest / ml-latest-small: `ratings.csv`, `movies.csv`
  (movieId,title,genres with `|`-separated genres) and, optionally,
  `tags.csv` (userId,movieId,tag,timestamp). UTF-8 CSV.

Items get the text fields "title", "genres" (genre names joined by ", ")
and, with `tags.csv`, "tags" (each movie's distinct tags joined by ", ").
Genres are also the catalog attributes; "unknown" and "(no genres listed)"
are no genre. Users get "age_bucket", "gender" and "occupation" where the
layout has them. Bad rows follow the fallbacks of `row_checks`.
"""

import os
from typing import List, Optional, Tuple

import numpy as np
import pandas as pd

from tfrec_llm.data.loaders import row_checks
from tfrec_llm.data.data_error import DataError
from tfrec_llm.data.loaders.fallback_recorder import FallbackRecorder
from tfrec_llm.data.interaction_data import InteractionData, ItemCatalog, UserFeatures
from tfrec_llm.data.loaders.text_table import TextTable

MOVIELENS_ENCODING = "latin-1"
NOT_A_GENRE = ("unknown", "Unknown", "(no genres listed)")
# Lower bounds of MovieLens' age groups (ml-1m's age codes are these bounds).
AGE_BUCKET_BOUNDS = (18, 25, 35, 45, 50, 56)
AGE_BUCKET_LABELS = ("Under 18", "18-24", "25-34", "35-44", "45-49", "50-55", "56+")
ML_1M_OCCUPATIONS = (
    "other",
    "academic/educator",
    "artist",
    "clerical/admin",
    "college/grad student",
    "customer service",
    "doctor/health care",
    "executive/managerial",
    "farmer",
    "homemaker",
    "K-12 student",
    "lawyer",
    "programmer",
    "retired",
    "sales/marketing",
    "scientist",
    "self-employed",
    "technician/engineer",
    "tradesman/craftsman",
    "unemployed",
    "writer",
)
ML_100K_GENRE_FLAGS = {"0": 0.0, "1": 1.0}
ML_100K_ITEM_COLUMNS = ["item_id", "title", "release_date", "video_release_date", "imdb_url"]
RATING_COLUMNS = ("user_id", "item_id", "rating", "timestamp")
LATEST_RATING_COLUMNS = ("userId", "movieId", "rating", "timestamp")
# Files that identify each layout; the first one decides.
LAYOUT_FILES = {
    "ml-100k": ("u.data", "u.item", "u.genre"),
    "ml-1m": ("ratings.dat", "movies.dat"),
    "ml-latest": ("ratings.csv", "movies.csv"),
}


def age_bucket_labels(ages: np.ndarray) -> np.ndarray:
    """MovieLens age group of each age ("" where the age is not a number).

    Works for raw ages (ml-100k) and for ml-1m's age codes, which are the
    groups' lower bounds.

    Examples:
        >>> age_bucket_labels(np.array(["17", "18", "24", "56", "x"])).tolist()
        ['Under 18', '18-24', '18-24', '56+', '']
    """
    numbers = pd.to_numeric(pd.Series(np.asarray(ages, dtype=str)), errors="coerce").to_numpy(dtype=np.float64)
    bucket = np.searchsorted(np.asarray(AGE_BUCKET_BOUNDS, dtype=np.float64), np.nan_to_num(numbers), side="right")
    labels = np.asarray(AGE_BUCKET_LABELS)[bucket]
    return np.where(np.isfinite(numbers), labels, "")


def detect_layout(path: str) -> str:
    """ "ml-100k", "ml-1m" or "ml-latest", or a `DataError` listing what exists."""
    if not os.path.isdir(path):
        raise DataError(f"MovieLens directory not found: {path}")
    existing = set(os.listdir(path))
    for layout, files in LAYOUT_FILES.items():
        if files[0] in existing:
            missing = [f for f in files if f not in existing]
            if missing:
                raise DataError(
                    f"{path} looks like {layout} (it has {files[0]}) but lacks "
                    f"{', '.join(missing)}; it holds: {', '.join(sorted(existing)) or 'nothing'}."
                )
            return layout
    expected = "; ".join(f"{layout}: {', '.join(files)}" for layout, files in LAYOUT_FILES.items())
    raise DataError(
        f"{path} is not a MovieLens directory: expected the files of one layout "
        f"({expected}); it holds: {', '.join(sorted(existing)) or 'nothing'}."
    )


def load_movielens_directory(path: str, strict: bool = False) -> InteractionData:
    """Loads a raw MovieLens directory into the canonical schema.

    Args:
        path: the directory (e.g. "ml-100k" as extracted from GroupLens' zip).
        strict: raise a `DataError` instead of applying any fallback.

    Returns:
        InteractionData with label_kind "rating", scenario "default", named
        after the directory.
    """
    layout = detect_layout(path)
    recorder = FallbackRecorder(strict)
    loaders = {"ml-100k": _load_100k, "ml-1m": _load_1m, "ml-latest": _load_latest}
    ratings, rating_columns, catalog, user_features = loaders[layout](path, recorder)
    user_column, item_column, rating_column, timestamp_column = rating_columns
    interactions, positions = row_checks.build_interactions(
        ratings, recorder, user_column, item_column, timestamp_column, label_column=rating_column
    )
    interactions, positions = row_checks.drop_unknown_items(interactions, positions, ratings, catalog, recorder)
    row_checks.note_single_interaction_users(interactions, positions, ratings, recorder)
    return InteractionData(
        name=os.path.basename(os.path.normpath(path)),
        interactions=interactions,
        catalog=catalog,
        label_kind="rating",
        user_features=user_features,
        report=recorder.report,
    )


LayoutContent = Tuple[TextTable, Tuple[str, str, str, str], ItemCatalog, Optional[UserFeatures]]


def _load_100k(path: str, recorder: FallbackRecorder) -> LayoutContent:
    ratings = TextTable.from_separated_lines(
        os.path.join(path, "u.data"), "\t", RATING_COLUMNS, MOVIELENS_ENCODING, recorder
    )
    genre_names = _read_100k_genres(os.path.join(path, "u.genre"), recorder)
    items = TextTable.from_separated_lines(
        os.path.join(path, "u.item"),
        "|",
        ML_100K_ITEM_COLUMNS + genre_names,
        MOVIELENS_ENCODING,
        recorder,
    )
    positions = row_checks.catalog_rows(items, "item_id", recorder)
    flags = np.stack([items.stripped(name) for name in genre_names], axis=1)
    valid_flags = np.isin(flags, list(ML_100K_GENRE_FLAGS)).all(axis=1)
    bad = np.zeros(len(items), dtype=bool)
    bad[positions] = ~valid_flags[positions]
    row_checks.record_rows(recorder, items, bad, "genre flag other than 0 or 1: row dropped")
    positions = positions[valid_flags[positions]]
    is_genre = [name not in NOT_A_GENRE for name in genre_names]
    genre_flags = (flags[:, is_genre] == "1").astype(np.float32)
    attribute_names = [name for name, keep in zip(genre_names, is_genre) if keep]
    genre_text = np.array([", ".join(np.asarray(attribute_names)[row > 0]) for row in genre_flags], dtype=str)
    catalog = row_checks.build_catalog(
        items,
        positions,
        "item_id",
        {"title": items.values("title"), "genres": genre_text},
        recorder,
        fallback_field="title",
        attributes=genre_flags,
        attribute_names=attribute_names,
    )
    user_features = None
    users_path = os.path.join(path, "u.user")
    if os.path.exists(users_path):
        users = TextTable.from_separated_lines(
            users_path,
            "|",
            ["user_id", "age", "gender", "occupation", "zip_code"],
            MOVIELENS_ENCODING,
            recorder,
        )
        user_features = _user_features(
            users, age_bucket_labels(users.stripped("age")), users.stripped("occupation"), recorder
        )
    return ratings, RATING_COLUMNS, catalog, user_features


def _read_100k_genres(path: str, recorder: FallbackRecorder) -> List[str]:
    genres = TextTable.from_separated_lines(path, "|", ["genre", "index"], MOVIELENS_ENCODING, recorder)
    indices = pd.to_numeric(pd.Series(genres.stripped("index")), errors="coerce").to_numpy(dtype=np.float64)
    expected = np.arange(len(genres))
    if not np.array_equal(np.sort(indices), expected):
        raise DataError(
            f"{path}: genre indices must be 0..{len(genres) - 1} (one per line, "
            f"`name|index`), got {genres.stripped('index').tolist()}."
        )
    return genres.stripped("genre")[np.argsort(indices)].tolist()


def _load_1m(path: str, recorder: FallbackRecorder) -> LayoutContent:
    ratings = TextTable.from_separated_lines(
        os.path.join(path, "ratings.dat"), "::", RATING_COLUMNS, MOVIELENS_ENCODING, recorder
    )
    movies = TextTable.from_separated_lines(
        os.path.join(path, "movies.dat"),
        "::",
        ["item_id", "title", "genres"],
        MOVIELENS_ENCODING,
        recorder,
    )
    catalog = _catalog_with_genre_lists(movies, "item_id", recorder)
    user_features = None
    users_path = os.path.join(path, "users.dat")
    if os.path.exists(users_path):
        users = TextTable.from_separated_lines(
            users_path,
            "::",
            ["user_id", "gender", "age", "occupation", "zip_code"],
            MOVIELENS_ENCODING,
            recorder,
        )
        codes = pd.to_numeric(pd.Series(users.stripped("occupation")), errors="coerce").to_numpy(dtype=np.float64)
        known = np.isfinite(codes) & (codes >= 0) & (codes < len(ML_1M_OCCUPATIONS))
        row_checks.record_rows(
            recorder,
            users,
            ~known,
            "unknown occupation code: kept as written",
            users.stripped("occupation"),
        )
        occupations = np.where(
            known,
            np.asarray(ML_1M_OCCUPATIONS)[np.where(known, codes, 0).astype(int)],
            users.stripped("occupation"),
        )
        user_features = _user_features(users, age_bucket_labels(users.stripped("age")), occupations, recorder)
    return ratings, RATING_COLUMNS, catalog, user_features


def _load_latest(path: str, recorder: FallbackRecorder) -> LayoutContent:
    ratings = TextTable.from_csv(os.path.join(path, "ratings.csv"), recorder)
    ratings.require_columns(LATEST_RATING_COLUMNS, "ratings file")
    movies = TextTable.from_csv(os.path.join(path, "movies.csv"), recorder)
    movies.require_columns(["movieId", "title", "genres"], "movies file")
    tags_path = os.path.join(path, "tags.csv")
    catalog = _catalog_with_genre_lists(movies, "movieId", recorder, tags_path if os.path.exists(tags_path) else None)
    return ratings, LATEST_RATING_COLUMNS, catalog, None


def _catalog_with_genre_lists(
    movies: TextTable, id_column: str, recorder: FallbackRecorder, tags_path: Optional[str] = None
) -> ItemCatalog:
    positions = row_checks.catalog_rows(movies, id_column, recorder)
    genre_flags, attribute_names, genre_text = row_checks.multi_hot(
        movies.stripped("genres"), "|", excluded=NOT_A_GENRE
    )
    text_fields = {"title": movies.values("title"), "genres": genre_text}
    if tags_path is not None:
        movie_ids = movies.stripped(id_column)
        tags = _movie_tags(tags_path, movie_ids[positions], recorder)
        text_fields["tags"] = tags.reindex(movie_ids).fillna("").to_numpy(dtype=str)
    return row_checks.build_catalog(
        movies,
        positions,
        id_column,
        text_fields,
        recorder,
        fallback_field="title",
        attributes=genre_flags,
        attribute_names=attribute_names,
    )


def _movie_tags(tags_path: str, known_movie_ids: np.ndarray, recorder: FallbackRecorder) -> pd.Series:
    """Movie id -> its distinct tags (case-insensitive), in file order, joined by ", "."""
    tags = TextTable.from_csv(tags_path, recorder)
    tags.require_columns(["movieId", "tag"], "tags file")
    keep = row_checks.drop_repeated_headers(tags, np.ones(len(tags), dtype=bool), recorder)
    keep = row_checks.drop_empty(tags, keep, ["movieId", "tag"], recorder)
    movie_ids, texts = tags.stripped("movieId"), tags.stripped("tag")
    unknown = keep & ~np.isin(movie_ids, known_movie_ids)
    row_checks.record_rows(recorder, tags, unknown, "tag of a movie not in the catalog: row dropped", movie_ids)
    keep &= ~unknown
    frame = pd.DataFrame({"movie": movie_ids[keep], "tag": texts[keep]})
    frame = frame.assign(key=frame["tag"].str.lower()).drop_duplicates(["movie", "key"])
    return frame.groupby("movie", sort=False)["tag"].agg(row_checks.TEXT_JOINER.join)


def _user_features(
    users: TextTable, age_buckets: np.ndarray, occupations: np.ndarray, recorder: FallbackRecorder
) -> UserFeatures:
    keep = row_checks.drop_empty(users, np.ones(len(users), dtype=bool), ["user_id"], recorder)
    user_ids = users.stripped("user_id")
    duplicate = keep & pd.Series(user_ids).duplicated().to_numpy()
    row_checks.record_rows(recorder, users, duplicate, "user defined twice: later row dropped", user_ids)
    keep &= ~duplicate
    return UserFeatures(
        user_ids=user_ids[keep],
        columns={
            "age_bucket": age_buckets[keep],
            "gender": users.stripped("gender")[keep],
            "occupation": np.asarray(occupations, dtype=str)[keep],
        },
    )
