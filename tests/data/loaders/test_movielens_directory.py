import numpy as np
import pytest

from tfrec_llm.data.data_error import DataError
from tfrec_llm.data.loaders.movielens_directory import (
    age_bucket_labels,
    detect_layout,
    load_movielens_directory,
)
from tiny_fixtures import SHARED_DATA

GENRES_100K = "unknown|0\nAction|1\nComedy|2\n\n"


def _shared(name):
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"{path} not available")
    return str(path)


def _write(path, text, encoding="latin-1"):
    path.write_bytes(text.encode(encoding))


def _item_100k(item_id, title, flags):
    return f"{item_id}|{title}|01-Jan-1995||http://x|{'|'.join(flags)}\n"


def _fake_100k(tmp_path, ratings, items=None, users=None):
    """A tiny ml-100k directory with genres unknown, Action, Comedy."""
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    if items is None:
        items = _item_100k(1, "Toy Story (1995)", "001") + _item_100k(2, "Heat (1995)", "010")
    _write(folder / "u.genre", GENRES_100K)
    _write(folder / "u.item", items)
    _write(folder / "u.data", ratings)
    if users is not None:
        _write(folder / "u.user", users)
    return folder


GOOD_RATINGS = "1\t1\t5\t100\n1\t2\t3\t200\n2\t1\t4\t300\n2\t2\t1\t400\n2\t1\t2\t500\n"


def test_real_ml_100k_has_all_ratings_users_items_and_demographics():
    data = load_movielens_directory(_shared("ml-100k"))

    interactions = data.interactions
    assert data.name == "ml-100k"
    assert len(interactions) == 100_000
    assert len(np.unique(interactions.user_ids)) == 943
    assert len(np.unique(interactions.item_ids)) == 1682
    assert len(data.catalog) == 1682
    assert data.report.skipped == {}
    assert data.label_kind == "rating"
    assert set(np.unique(interactions.labels).tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert set(np.unique(interactions.scenarios).tolist()) == {"default"}
    # First line of u.data: 196 242 3 881250949.
    assert (interactions.user_ids[0], interactions.item_ids[0]) == ("196", "242")
    assert (interactions.labels[0], interactions.timestamps[0]) == (3.0, 881250949)

    catalog = data.catalog
    assert len(catalog.attribute_names) == 18 and "unknown" not in catalog.attribute_names
    assert catalog.attributes.shape == (1682, 18)
    index = {item_id: i for i, item_id in enumerate(catalog.item_ids)}
    assert catalog.text_fields["title"][index["543"]] == "Misérables, Les (1995)"  # latin-1
    assert catalog.text_fields["genres"][index["1"]] == "Animation, Children's, Comedy"
    assert catalog.texts()[index["1"]] == "Toy Story (1995). Animation, Children's, Comedy"
    # Item 267 is flagged only "unknown": no genre text, no attribute.
    assert catalog.text_fields["genres"][index["267"]] == ""
    assert catalog.attributes[index["267"]].sum() == 0

    users = data.user_features
    assert len(users.user_ids) == 943
    first = int(np.flatnonzero(users.user_ids == "1")[0])  # 1|24|M|technician|85711
    assert users.columns["age_bucket"][first] == "18-24"
    assert users.columns["gender"][first] == "M"
    assert users.columns["occupation"][first] == "technician"


def test_real_ml_latest_small_has_ratings_genres_and_tags():
    data = load_movielens_directory(_shared("ml-latest-small"))

    assert data.name == "ml-latest-small"
    assert len(data.interactions) == 100_836
    assert len(np.unique(data.interactions.user_ids)) == 610
    assert len(np.unique(data.interactions.item_ids)) == 9724
    assert len(data.catalog) == 9742  # 18 movies were never rated
    assert data.report.skipped == {}
    assert data.user_features is None
    assert 0.5 in data.interactions.labels

    catalog = data.catalog
    assert set(catalog.text_fields) == {"title", "genres", "tags"}
    assert len(catalog.attribute_names) == 19
    assert "(no genres listed)" not in catalog.attribute_names
    assert int((catalog.attributes.sum(axis=1) == 0).sum()) == 34
    index = {item_id: i for i, item_id in enumerate(catalog.item_ids)}
    assert catalog.text_fields["title"][index["73"]] == "Misérables, Les (1995)"
    # tags.csv holds pixar, pixar, fun for movie 1: distinct tags in file order.
    assert catalog.text_fields["tags"][index["1"]] == "pixar, fun"
    assert catalog.texts()[index["1"]] == (
        "Toy Story (1995). Adventure, Animation, Children, Comedy, Fantasy. pixar, fun"
    )


def test_ml_1m_layout_with_latin1_titles_occupation_codes_and_age_codes(tmp_path):
    folder = tmp_path / "ml-1m"
    folder.mkdir()
    _write(folder / "ratings.dat", "1::10::5::978300760\n1::20::3::978302109\n2::10::4::978301968\n")
    _write(
        folder / "movies.dat",
        "10::Misérables, Les (1995)::Drama|War\n20::Toy Story (1995)::Animation|Children's|Comedy\n",
    )
    _write(folder / "users.dat", "1::F::1::10::48067\n2::M::25::12::70072\n")

    data = load_movielens_directory(str(folder))

    assert len(data.interactions) == 3
    assert data.interactions.labels.tolist() == [5.0, 3.0, 4.0]
    assert data.catalog.item_ids.tolist() == ["10", "20"]
    assert data.catalog.text_fields["title"][0] == "Misérables, Les (1995)"
    assert data.catalog.text_fields["genres"][1] == "Animation, Children's, Comedy"
    assert data.catalog.attribute_names == ["Animation", "Children's", "Comedy", "Drama", "War"]
    assert data.catalog.attributes.tolist() == [[0, 0, 0, 1, 1], [1, 1, 1, 0, 0]]
    assert data.user_features.columns["age_bucket"].tolist() == ["Under 18", "25-34"]
    assert data.user_features.columns["occupation"].tolist() == ["K-12 student", "programmer"]
    assert data.user_features.columns["gender"].tolist() == ["F", "M"]


def test_ml_1m_unknown_occupation_code_is_kept_and_counted(tmp_path):
    folder = tmp_path / "ml-1m"
    folder.mkdir()
    _write(folder / "ratings.dat", "1::10::5::1\n1::10::4::2\n")
    _write(folder / "movies.dat", "10::Heat (1995)::Action\n")
    _write(folder / "users.dat", "1::F::1::99::48067\n")

    data = load_movielens_directory(str(folder))

    assert data.user_features.columns["occupation"].tolist() == ["99"]
    assert data.report.skipped["unknown occupation code: kept as written"] == [
        1,
        f"{folder}/users.dat:1",
    ]


def test_fake_100k_users_get_age_buckets(tmp_path):
    folder = _fake_100k(tmp_path, GOOD_RATINGS, users="1|17|F|student|1\n2|56|M|retired|2\n")

    users = load_movielens_directory(str(folder)).user_features

    assert users.columns["age_bucket"].tolist() == ["Under 18", "56+"]
    assert users.columns["occupation"].tolist() == ["student", "retired"]


def test_age_bucket_labels_bounds():
    ages = np.array(["1", "17", "18", "24", "25", "45", "49", "50", "55", "56", "73", "", "x"])
    assert age_bucket_labels(ages).tolist() == [
        "Under 18",
        "Under 18",
        "18-24",
        "18-24",
        "25-34",
        "45-49",
        "45-49",
        "50-55",
        "50-55",
        "56+",
        "56+",
        "",
        "",
    ]


@pytest.mark.parametrize(
    "bad_line, reason",
    [
        ("2\t2\t1\n", "wrong number of fields (expected 4 separated by '\\t'): row dropped"),
        ("2\t2\tx\t400\n", "non-numeric rating: row dropped"),
        ("2\t2\t1\tsoon\n", "non-numeric timestamp: row dropped"),
        ("2\t2\tnan\t400\n", "non-numeric rating: row dropped"),
        ("2\t2\t\t400\n", "empty rating: row dropped"),
        ("\t2\t1\t400\n", "empty user_id: row dropped"),
    ],
)
def test_malformed_rating_line_is_dropped_and_counted_or_refused_in_strict_mode(tmp_path, bad_line, reason):
    folder = _fake_100k(tmp_path, GOOD_RATINGS.replace("2\t2\t1\t400\n", bad_line))

    data = load_movielens_directory(str(folder))

    assert len(data.interactions) == 4
    assert data.report.skipped == {reason: [1, f"{folder}/u.data:4"]}
    with pytest.raises(DataError, match=r"u\.data:4: .*strict"):
        load_movielens_directory(str(folder), strict=True)


def test_blank_lines_are_ignored_and_line_numbers_stay_physical(tmp_path):
    folder = _fake_100k(tmp_path, "\n1\t1\t5\t100\n\n1\t2\tbad\t200\n2\t1\t4\t300\n")

    data = load_movielens_directory(str(folder))

    assert len(data.interactions) == 2
    assert data.report.skipped["non-numeric rating: row dropped"] == [1, f"{folder}/u.data:4"]


def test_file_in_another_separator_is_refused_with_the_expected_layout(tmp_path):
    folder = _fake_100k(tmp_path, "1,1,5,100\n1,2,3,200\n")

    with pytest.raises(DataError, match=r"u\.data:1: expected 4 fields separated by '\\t'"):
        load_movielens_directory(str(folder))


def test_interaction_with_item_missing_from_catalog_is_dropped_and_counted(tmp_path):
    folder = _fake_100k(tmp_path, GOOD_RATINGS + "3\t99\t4\t500\n3\t1\t4\t600\n")

    data = load_movielens_directory(str(folder))

    assert "99" not in data.interactions.item_ids
    assert data.report.skipped["item not in the catalog: row dropped"] == [1, f"{folder}/u.data:6"]
    with pytest.raises(DataError, match=r"u\.data:6: item not in the catalog.*'99'"):
        load_movielens_directory(str(folder), strict=True)


def test_item_without_text_keeps_its_id_as_title(tmp_path):
    items = _item_100k(1, "Toy Story (1995)", "001") + _item_100k(2, "", "100")
    folder = _fake_100k(tmp_path, GOOD_RATINGS, items=items)

    data = load_movielens_directory(str(folder))

    assert data.catalog.texts().tolist() == ["Toy Story (1995). Comedy", "2"]
    assert data.report.skipped["item without any text: its id is used as its text"] == [
        1,
        f"{folder}/u.item:2",
    ]
    with pytest.raises(DataError, match=r"u\.item:2: item without any text"):
        load_movielens_directory(str(folder), strict=True)


def test_duplicate_catalog_id_is_an_error_naming_both_lines(tmp_path):
    items = _item_100k(1, "Toy Story (1995)", "001") + _item_100k(2, "Heat", "010")
    items += _item_100k(1, "Toy Story again", "001")
    folder = _fake_100k(tmp_path, GOOD_RATINGS, items=items)

    with pytest.raises(DataError, match=r"u\.item:3: item id '1' is already defined at .*u\.item:1"):
        load_movielens_directory(str(folder))


def test_genre_flag_other_than_0_or_1_drops_the_item(tmp_path):
    items = _item_100k(1, "Toy Story (1995)", "001") + _item_100k(2, "Heat", "0y0")
    folder = _fake_100k(tmp_path, GOOD_RATINGS, items=items)

    data = load_movielens_directory(str(folder))

    assert data.catalog.item_ids.tolist() == ["1"]
    assert data.report.skipped["genre flag other than 0 or 1: row dropped"] == [
        1,
        f"{folder}/u.item:2",
    ]
    assert data.report.skipped["item not in the catalog: row dropped"][0] == 2


def test_single_interaction_users_are_kept_as_a_note_even_in_strict_mode(tmp_path):
    folder = _fake_100k(tmp_path, GOOD_RATINGS + "7\t1\t2\t900\n")

    data = load_movielens_directory(str(folder), strict=True)

    assert "7" in data.interactions.user_ids
    assert data.report.skipped == {"note (kept): user with a single interaction": [1, f"{folder}/u.data:6"]}


def test_empty_ratings_file_is_an_error(tmp_path):
    folder = _fake_100k(tmp_path, "")

    with pytest.raises(DataError, match=r"u\.data is empty"):
        load_movielens_directory(str(folder))


def test_missing_layout_file_names_it_and_lists_the_directory(tmp_path):
    folder = _fake_100k(tmp_path, GOOD_RATINGS)
    (folder / "u.item").unlink()

    with pytest.raises(DataError, match=r"looks like ml-100k .* lacks u\.item; it holds: u\.data, u\.genre"):
        load_movielens_directory(str(folder))


def test_directory_of_no_known_layout_lists_layouts_and_contents(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")

    with pytest.raises(DataError, match=r"not a MovieLens directory.*ml-100k: u\.data.*holds: notes\.txt"):
        detect_layout(str(tmp_path))


def _fake_latest(tmp_path, ratings, movies=None, tags=None):
    folder = tmp_path / "ml-latest-small"
    folder.mkdir()
    if movies is None:
        movies = 'movieId,title,genres\n1,"Toy Story (1995)",Animation|Comedy\n2,Heat (1995),(no genres listed)\n'
    (folder / "ratings.csv").write_bytes(ratings.encode("utf-8") if isinstance(ratings, str) else ratings)
    (folder / "movies.csv").write_bytes(movies.encode("utf-8") if isinstance(movies, str) else movies)
    if tags is not None:
        (folder / "tags.csv").write_text(tags, encoding="utf-8")
    return folder


LATEST_RATINGS = "userId,movieId,rating,timestamp\n1,1,4.5,10\n1,2,3.0,20\n2,1,0.5,30\n2,2,5.0,40\n"


def test_latest_layout_genres_exclude_no_genres_listed_and_tags_are_joined(tmp_path):
    tags = "userId,movieId,tag,timestamp\n1,1,Pixar,1\n2,1,pixar,2\n2,1,fun,3\n1,5,orphan,4\n1,2,,5\n"
    folder = _fake_latest(tmp_path, LATEST_RATINGS, tags=tags)

    data = load_movielens_directory(str(folder))

    assert data.interactions.labels.tolist() == [4.5, 3.0, 0.5, 5.0]
    assert data.catalog.attribute_names == ["Animation", "Comedy"]
    assert data.catalog.attributes.tolist() == [[1, 1], [0, 0]]
    assert data.catalog.text_fields["genres"].tolist() == ["Animation, Comedy", ""]
    assert data.catalog.text_fields["tags"].tolist() == ["Pixar, fun", ""]
    assert data.report.skipped == {
        "tag of a movie not in the catalog: row dropped": [1, f"{folder}/tags.csv:5"],
        "empty tag: row dropped": [1, f"{folder}/tags.csv:6"],
    }


def test_latest_repeated_header_row_is_dropped_and_counted(tmp_path):
    ratings = LATEST_RATINGS + "userId,movieId,rating,timestamp\n3,1,2.0,50\n"
    folder = _fake_latest(tmp_path, ratings)

    data = load_movielens_directory(str(folder))

    assert len(data.interactions) == 5
    assert data.report.skipped["repeated header row: row dropped"] == [1, f"{folder}/ratings.csv:6"]


def test_latest_invalid_utf8_names_file_and_line(tmp_path):
    movies = b"movieId,title,genres\n1,Toy Story (1995),Comedy\n2,Mis\xe9rables (1995),Drama\n"
    folder = _fake_latest(tmp_path, LATEST_RATINGS, movies=movies)

    with pytest.raises(DataError, match=r"movies\.csv:3: bytes that are not valid UTF-8"):
        load_movielens_directory(str(folder))


def test_latest_missing_column_names_it_and_the_existing_ones(tmp_path):
    folder = _fake_latest(tmp_path, "userId,movieId,score,timestamp\n1,1,4.5,10\n")

    with pytest.raises(
        DataError,
        match=r"ratings\.csv: .*lacks column\(s\) 'rating'; its columns are 'userId', 'movieId', 'score'",
    ):
        load_movielens_directory(str(folder))
