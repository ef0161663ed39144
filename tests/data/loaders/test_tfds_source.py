import numpy as np
import pytest

import tfrec_llm  # noqa: F401  (selects legacy Keras before TensorFlow is imported)
import tensorflow_datasets as tfds

from tfrec_llm.data.loaders import tfds_source
from tfrec_llm.data.data_error import DataError
from tfrec_llm.data.loaders.fallback_recorder import FallbackRecorder
from tfrec_llm.data.loaders.movielens_directory import load_movielens_directory
from tfrec_llm.data.loaders.tfds_source import load_tfds
from tiny_fixtures import SHARED_DATA

LATEST_SMALL = SHARED_DATA / "ml-latest-small"


@pytest.fixture(scope="module")
def latest_small(tmp_path_factory):
    """movielens/latest-small-ratings built by TFDS from the shared zip (about 10 s)."""
    if not (LATEST_SMALL / "ml-latest-small.zip").is_file():
        pytest.skip(f"{LATEST_SMALL}/ml-latest-small.zip not available")
    return load_tfds(
        "movielens/latest-small-ratings",
        data_dir=str(tmp_path_factory.mktemp("tfds")),
        manual_dir=str(LATEST_SMALL),
    )


def test_real_latest_small_ratings_from_the_manual_zip(latest_small):
    data = latest_small

    assert data.name == "movielens/latest-small-ratings"
    assert data.label_kind == "rating"
    assert len(data.interactions) == 100_836
    assert len(np.unique(data.interactions.user_ids)) == 610
    assert len(data.catalog) == 9724  # the rated movies
    assert data.user_features is None
    assert data.report.skipped == {}
    assert set(np.unique(data.interactions.scenarios).tolist()) == {"default"}
    index = {item_id: i for i, item_id in enumerate(data.catalog.item_ids)}
    assert data.catalog.text_fields["title"][index["1"]] == "Toy Story (1995)"
    assert data.catalog.text_fields["genres"][index["1"]] == "Adventure, Animation, Children, Comedy, Fantasy"
    assert "(no genres listed)" not in data.catalog.attribute_names
    assert "Unknown" not in data.catalog.attribute_names


def test_real_latest_small_matches_the_raw_directory(latest_small):
    directory = load_movielens_directory(str(LATEST_SMALL))

    def events(data):
        i = data.interactions
        return sorted(zip(i.user_ids.tolist(), i.item_ids.tolist(), i.timestamps.tolist(), i.labels.tolist()))

    assert events(latest_small) == events(directory)
    rated = np.unique(directory.interactions.item_ids)
    assert latest_small.catalog.item_ids.tolist() == sorted(rated.tolist())
    directory_index = {item_id: i for i, item_id in enumerate(directory.catalog.item_ids)}
    rows = [directory_index[item_id] for item_id in latest_small.catalog.item_ids]
    assert latest_small.catalog.text_fields["title"].tolist() == directory.catalog.text_fields["title"][rows].tolist()
    names = latest_small.catalog.attribute_names
    directory_columns = [directory.catalog.attribute_names.index(name) for name in names]
    np.testing.assert_array_equal(
        latest_small.catalog.attributes, directory.catalog.attributes[rows][:, directory_columns]
    )


def test_mock_100k_ratings_with_demographics_across_several_batches(monkeypatch):
    monkeypatch.setattr(tfds_source, "TFDS_BATCH_SIZE", 7)  # several batches of different genre widths
    with tfds.testing.mock_data(num_examples=30):
        data = load_tfds("movielens/100k-ratings")

    assert len(data.interactions) == 30
    assert data.catalog.item_ids.tolist() == sorted(set(data.interactions.item_ids.tolist()))
    names = np.asarray(data.catalog.attribute_names)
    assert not {"Unknown", "(no genres listed)"} & set(names.tolist())
    for genres, flags in zip(data.catalog.text_fields["genres"], data.catalog.attributes):
        assert set(filter(None, genres.split(", "))) == set(names[flags > 0].tolist())
    users = data.user_features
    assert set(users.columns) == {"age_bucket", "gender", "occupation"}
    assert users.user_ids.tolist() == sorted(set(data.interactions.user_ids.tolist()))
    assert set(users.columns["gender"].tolist()) <= {"M", "F"}


def test_catalog_maps_genre_labels_to_names_and_drops_non_genres():
    genre_names = ["Action", "Comedy", "Unknown", "(no genres listed)"]
    columns = {
        "movie_title": np.array([b"B", b"A", b"B again", b""], dtype=object),
        "movie_genres": np.array([[1, 0, -1], [2, -1, -1], [1, 0, -1], [3, -1, -1]]),
    }
    movie_ids = np.array(["20", "10", "20", "30"])

    recorder = FallbackRecorder(strict=False)
    catalog = tfds_source._catalog("mock", movie_ids, columns, genre_names, recorder)  # pylint: disable=protected-access

    assert catalog.item_ids.tolist() == ["10", "20", "30"]
    assert catalog.text_fields["title"].tolist() == [
        "A",
        "B",
        "30",
    ]  # first example wins; no text -> id
    assert catalog.text_fields["genres"].tolist() == ["", "Comedy, Action", ""]
    assert catalog.attribute_names == ["Action", "Comedy"]
    assert catalog.attributes.tolist() == [[0, 0], [1, 1], [0, 0]]
    assert recorder.report.skipped == {"item without any text: its id is used as its text": [1, "mock:example 3"]}


def test_download_failure_says_to_pass_a_manual_dir(monkeypatch):
    def offline_load(*args, **kwargs):
        raise ConnectionError("Failed to resolve 'files.grouplens.org'")

    monkeypatch.setattr(tfds, "load", offline_load)

    with pytest.raises(
        DataError,
        match=r"could not download or prepare movielens/1m-ratings.*ml-1m\.zip.*--tfds-manual-dir",
    ):
        load_tfds("movielens/1m-ratings")
    with pytest.raises(DataError, match=r"manual directory '/nowhere' must hold the original ml-1m\.zip"):
        load_tfds("movielens/1m-ratings", manual_dir="/nowhere")


def test_manual_dir_is_passed_to_tfds_as_a_download_config(monkeypatch):
    calls = {}

    def recording_load(name, **kwargs):
        calls.update(kwargs, name=name)
        raise RuntimeError("stop here")

    monkeypatch.setattr(tfds, "load", recording_load)

    with pytest.raises(DataError):
        load_tfds("movielens/100k-ratings", data_dir="/data", manual_dir="/manual")
    assert calls["name"] == "movielens/100k-ratings"
    assert (calls["split"], calls["data_dir"]) == ("train", "/data")
    assert calls["download_and_prepare_kwargs"]["download_config"].manual_dir == "/manual"


@pytest.mark.parametrize("name", ["movielens/100k-movies", "mnist", "movielens/5k-ratings"])
def test_unsupported_name_lists_the_accepted_configs(name):
    with pytest.raises(DataError, match=r"Unsupported TFDS dataset .*movielens/100k-ratings.*latest-small-ratings"):
        load_tfds(name)
