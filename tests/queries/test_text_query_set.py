"""TextQuerySet: JSON request files, relevance from item attributes, clear errors for bad files."""

import json
import os

import numpy as np
import pytest

from tfrec_llm.queries.query_set import TextQuerySet, TextQuerySetError

NAMES = ["Horror", "Comedy", "War"]
SHIPPED = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "queries")


def write(tmp_path, content):
    path = tmp_path / "queries.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return str(path)


def test_reads_requests_and_marks_items_with_any_wanted_attribute(tmp_path):
    path = write(
        tmp_path,
        [
            {"query": " something scary ", "attributes": ["Horror"]},
            {"query": "laughs or battles", "attributes": ["Comedy", "War"]},
        ],
    )
    queries = TextQuerySet.read(path, NAMES)
    assert queries.queries == ["something scary", "laughs or battles"]
    items = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 0, 0]], np.float32)
    assert queries.relevance(items, NAMES).tolist() == [
        [True, False, False, True, False],
        [False, True, True, True, False],
    ]


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json", "cannot read"),
        ([], "non-empty JSON list"),
        ({"query": "x"}, "non-empty JSON list"),
        ([{"query": "x"}], "exactly the keys"),
        ([{"query": "x", "attributes": ["Horror"], "extra": 1}], "exactly the keys"),
        ([{"query": "  ", "attributes": ["Horror"]}], "non-empty string"),
        ([{"query": 3, "attributes": ["Horror"]}], "non-empty string"),
        ([{"query": "x", "attributes": []}], "non-empty list of strings"),
        ([{"query": "x", "attributes": "Horror"}], "non-empty list of strings"),
        ([{"query": "x", "attributes": ["Western"]}], r"unknown attributes \['Western'\]"),
    ],
)
def test_bad_files_name_the_problem(tmp_path, content, message):
    with pytest.raises(TextQuerySetError, match=message):
        TextQuerySet.read(write(tmp_path, content), NAMES)


def test_missing_and_undecodable_files_are_clear_errors(tmp_path):
    with pytest.raises(TextQuerySetError, match="cannot read"):
        TextQuerySet.read(str(tmp_path / "absent.json"), NAMES)
    path = tmp_path / "latin1.json"
    path.write_bytes('[{"query": "caf\xe9", "attributes": ["War"]}]'.encode("latin-1"))
    with pytest.raises(TextQuerySetError, match="cannot read"):
        TextQuerySet.read(str(path), NAMES)


def test_the_shipped_request_files_are_valid():
    from tfrec_llm.data.synthetic.builtin_world import generate_builtin_world  # pylint: disable=import-outside-toplevel

    builtin_names = generate_builtin_world().catalog.attribute_names
    assert len(TextQuerySet.read(os.path.join(SHIPPED, "builtin.json"), builtin_names).queries) == 28
    movielens_genres = [
        "Action",
        "Adventure",
        "Animation",
        "Children's",
        "Comedy",
        "Crime",
        "Documentary",
        "Drama",
        "Fantasy",
        "Film-Noir",
        "Horror",
        "Musical",
        "Mystery",
        "Romance",
        "Sci-Fi",
        "Thriller",
        "War",
        "Western",
    ]
    assert len(TextQuerySet.read(os.path.join(SHIPPED, "movielens-100k.json"), movielens_genres).queries) == 18
