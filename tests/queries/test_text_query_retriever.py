"""TextQueryRetriever: natural-language requests scored by the item tower's text path, in memory and from an export."""

import os
import shutil

import numpy as np
import pytest

from serving_fixtures import TOPIC_WORDS, item_topic
from tfrec_llm.cli import main
from tfrec_llm.queries.retriever import TextQueryRetriever


@pytest.fixture(scope="module")
def in_memory(trained):
    return TextQueryRetriever.from_trained_model(trained)


@pytest.fixture(scope="module")
def from_export(export_dir):
    return TextQueryRetriever.from_export(export_dir)


def test_export_and_in_memory_retrievers_agree(in_memory, from_export):
    queries = ["galaxy rocket", "a wedding and romance", "battle"]
    np.testing.assert_array_equal(in_memory.catalog.item_ids, from_export.catalog.item_ids)
    np.testing.assert_allclose(in_memory.scores(queries), from_export.scores(queries), atol=1e-5)
    vectors = from_export.query_vectors(queries)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_a_request_in_a_topics_words_finds_that_topics_items(from_export):
    for topic, words in enumerate(TOPIC_WORDS):
        rows = from_export.search(" ".join(words), k=6)
        topics = [item_topic(int(row.item_id[1:])) for row in rows]
        # Chance is 1 in 4; the text path must put the topic's items first.
        assert topics.count(topic) >= 5, (words, topics)


def test_search_returns_titled_rows_best_first_and_caps_k(from_export, trained):
    rows = from_export.search("detective murder", k=5)
    titles = dict(zip(trained.assets.item_ids, trained.assets.item_titles))
    assert len(rows) == 5 and all(row.title == titles[row.item_id] for row in rows)
    assert [row.score for row in rows] == sorted((row.score for row in rows), reverse=True)
    assert len(from_export.search("detective", k=10_000)) == len(trained.assets.item_ids)


@pytest.mark.parametrize(
    "queries, error, message",
    [
        (["ok", ""], ValueError, "request 1"),
        (["   "], ValueError, "request 0"),
        ([None], ValueError, "request 0"),
        ("one string", TypeError, "list of requests"),
    ],
)
def test_bad_requests_are_refused_clearly(from_export, queries, error, message):
    with pytest.raises(error, match=message):
        from_export.query_vectors(queries)


def test_k_below_one_is_refused(from_export):
    with pytest.raises(ValueError, match="k must be >= 1"):
        from_export.search("battle", k=0)


def test_an_export_without_the_text_encoder_says_what_is_missing(export_dir, tmp_path):
    directory = str(tmp_path / "export")
    shutil.copytree(export_dir, directory)
    shutil.rmtree(os.path.join(directory, "item_text_encoder"))
    with pytest.raises(FileNotFoundError, match="Text requests need item_text_encoder"):
        TextQueryRetriever.from_export(directory)


def test_cli_recommend_query_prints_k_rows(export_dir, capsys):
    assert main(["recommend", "--export-dir", export_dir, "--query", "soldier battle", "--k", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and all(len(line.split("\t")) == 3 for line in lines)
    assert main(["recommend", "--export-dir", export_dir, "--query", "war", "--explain"]) == 2
    assert "--explain" in capsys.readouterr().err
