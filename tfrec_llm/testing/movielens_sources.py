"""Generated MovieLens directories (ml-100k, ml-1m, ml-latest) for `load_movielens_directory`."""

from hypothesis import strategies as st

from tfrec_llm.data.interaction_data import InteractionData
from tfrec_llm.data.loaders.movielens_directory import load_movielens_directory
from tfrec_llm.testing.file_strategies import (
    ITEM_IDS,
    LATIN1_NUMBER_TEXT,
    SAFE_TITLE,
    UTF8_TEXT,
    corrupted,
    csv_table,
    lines_file,
    structured_events,
)
from tfrec_llm.testing.loader_invariant import GeneratedSource
from tfrec_llm.testing.row_oracle import STRUCTURED_USERS, UNKNOWN_ITEM

ML_100K_GENRES = "unknown|0\nAction|1\nComedy|2\n"
ML_100K_FLAGS = ("0", "1") * 8 + (" 1 ", "2", "", "x")  # mostly valid
ML_1M_GENRES = ("Action", "Comedy", "Drama", "(no genres listed)", "")


def load_directory(folder: str, strict: bool) -> InteractionData:
    return load_movielens_directory(folder, strict=strict)


@st.composite
def movielens_100k_sources(draw) -> GeneratedSource:
    """u.data, u.item (flags of 3 genres), u.genre and maybe u.user, every kind of flaw."""
    item_ids = draw(st.lists(st.sampled_from(ITEM_IDS), min_size=1, max_size=5, unique=True))
    flags = {item: draw(st.lists(st.sampled_from(ML_100K_FLAGS), min_size=3, max_size=3)) for item in item_ids}
    known = [item for item in item_ids if all(flag.strip() in ("0", "1") for flag in flags[item])]
    item_lines = [f"{item}|{draw(SAFE_TITLE)}|01-Jan-1995||http://x|{'|'.join(flags[item])}" for item in item_ids]
    events = draw(st.lists(structured_events(item_ids, LATIN1_NUMBER_TEXT), min_size=1, max_size=8))
    rating_lines = [f"{e.user}\t{e.item}\t{e.label}\t{e.timestamp}" for e in events]
    files, rows = {"u.genre": ML_100K_GENRES.encode("latin-1")}, {}
    files["u.item"], rows["u.item"] = draw(lines_file(item_lines, "|", [UNKNOWN_ITEM]))
    files["u.data"], rows["u.data"] = draw(lines_file(rating_lines, "\t", STRUCTURED_USERS))
    if draw(st.booleans()):
        user_lines = draw(
            st.lists(
                st.builds(
                    "{}|{}|{}|{}|{}".format,
                    st.sampled_from(["1", "2", " "]),
                    st.sampled_from(["17", "30", "x", ""]),
                    st.sampled_from("MF"),
                    SAFE_TITLE,
                    SAFE_TITLE,
                ),
                min_size=1,
                max_size=4,
            )
        )
        files["u.user"], rows["u.user"] = draw(lines_file(user_lines, "|", ()))
    expected = [event.expected(known) for event in events]
    return GeneratedSource(
        kind="ml-100k",
        files=files,
        load=load_directory,
        rows_per_file=rows,
        expected=[row for row in expected if row is not None],
    )


@st.composite
def movielens_1m_sources(draw) -> GeneratedSource:
    """ratings.dat, movies.dat and maybe users.dat ("::"-separated), every kind of flaw."""
    item_ids = draw(st.lists(st.sampled_from(ITEM_IDS), min_size=1, max_size=5, unique=True))
    genres = st.lists(st.sampled_from(ML_1M_GENRES), max_size=3).map("|".join)
    movie_lines = [f"{item}::{draw(SAFE_TITLE)}::{draw(genres)}" for item in item_ids]
    events = draw(st.lists(structured_events(item_ids, LATIN1_NUMBER_TEXT), min_size=1, max_size=8))
    rating_lines = [f"{e.user}::{e.item}::{e.label}::{e.timestamp}" for e in events]
    files, rows = {}, {}
    files["movies.dat"], rows["movies.dat"] = draw(lines_file(movie_lines, "::", [UNKNOWN_ITEM]))
    files["ratings.dat"], rows["ratings.dat"] = draw(lines_file(rating_lines, "::", STRUCTURED_USERS))
    if draw(st.booleans()):
        user_lines = draw(
            st.lists(
                st.builds(
                    "{}::{}::{}::{}::{}".format,
                    st.sampled_from(["1", "2", ""]),
                    st.sampled_from("MF"),
                    st.sampled_from(["1", "25", "x"]),
                    st.sampled_from(["0", "20", "21", "-1", "x", ""]),
                    SAFE_TITLE,
                ),
                min_size=1,
                max_size=4,
            )
        )
        files["users.dat"], rows["users.dat"] = draw(lines_file(user_lines, "::", ()))
    expected = [event.expected(item_ids) for event in events]
    return GeneratedSource(
        kind="ml-1m",
        files=files,
        load=load_directory,
        rows_per_file=rows,
        expected=[row for row in expected if row is not None],
    )


@st.composite
def movielens_latest_sources(draw) -> GeneratedSource:
    """ratings.csv, movies.csv and maybe tags.csv, every kind of flaw."""
    item_ids = draw(st.lists(st.sampled_from(ITEM_IDS), min_size=1, max_size=5, unique=True))
    genres = st.lists(st.sampled_from(ML_1M_GENRES), max_size=3).map("|".join)
    movie_records = [[item, draw(st.one_of(SAFE_TITLE, UTF8_TEXT)), draw(genres)] for item in item_ids]
    events = draw(st.lists(structured_events(item_ids), min_size=1, max_size=8))
    rating_records = [[e.user, e.item, e.label, e.timestamp] for e in events]
    files, rows = {}, {}
    files["movies.csv"], rows["movies.csv"] = draw(
        csv_table(["movieId", "title", "genres"], movie_records, [UNKNOWN_ITEM])
    )
    files["ratings.csv"], rows["ratings.csv"] = draw(
        csv_table(["userId", "movieId", "rating", "timestamp"], rating_records, STRUCTURED_USERS)
    )
    has_tags = draw(st.booleans())
    if has_tags:
        tag_records = draw(
            st.lists(
                st.builds(
                    lambda item, tag: ["1", item, tag, "5"],
                    st.sampled_from(list(item_ids) + [UNKNOWN_ITEM, ""]),
                    UTF8_TEXT,
                ),
                max_size=5,
            )
        )
        files["tags.csv"], rows["tags.csv"] = draw(
            csv_table(["userId", "movieId", "tag", "timestamp"], tag_records, ())
        )
    invalid = draw(corrupted(files, list(files)))
    expected = [event.expected(item_ids) for event in events]
    return GeneratedSource(
        kind="ml-latest",
        files=files,
        load=load_directory,
        rows_per_file=rows,
        expected=[row for row in expected if row is not None],
        must_refuse=invalid,
        unobserved_file="tags.csv" if has_tags else None,
    )
