"""PersonalRetriever: (1 - w) * request + w * user(history), in memory, from an export and from the CLI."""

import logging

import numpy as np
import pytest

from serving_fixtures import TOPIC_WORDS, item_topic
from tfrec_llm.cli import main
from tfrec_llm.queries import personal_blend
from tfrec_llm.queries.personal_blend import (
    EQUAL_SPREAD,
    blend_vectors,
    fused_scores,
    profile_history_weight,
    profile_popularity_weight,
    profile_text_similarity_weight,
    with_popularity,
)
from tfrec_llm.queries.personal_retriever import PersonalRetriever, personal_recommendations
from tfrec_llm.queries.retriever import TextQueryRetriever
from tfrec_llm.serving.catalog.item_popularity import popularity_prior

WAR = " ".join(TOPIC_WORDS[3])
SPACE_ITEMS = ["m0", "m4", "m8"]  # topic 0


@pytest.fixture(scope="module")
def in_memory(trained):
    return PersonalRetriever.from_trained_model(trained)


@pytest.fixture(scope="module")
def from_export(export_dir):
    return PersonalRetriever.from_export(export_dir)


def test_weight_0_is_the_plain_request_minus_the_history_items(from_export, export_dir):
    plain = TextQueryRetriever.from_export(export_dir).scores([WAR])[0]
    scores = from_export.scores([WAR, WAR], [[], ["m3"]], 0.0)
    np.testing.assert_allclose(scores[0], plain, atol=1e-6)
    assert scores[1][3] == -np.inf and np.allclose(np.delete(scores[1], 3), np.delete(plain, 3), atol=1e-6)


def test_export_and_in_memory_agree_and_weight_1_is_the_history_alone(in_memory, from_export):
    histories = [["m1", "m5"], [], ["m2"]]
    for weight in (0.0, 0.4, 1.0):
        np.testing.assert_allclose(
            in_memory.scores([WAR, "galaxy", "love"], histories, weight),
            from_export.scores([WAR, "galaxy", "love"], histories, weight),
            atol=1e-5,
        )
    users = from_export.user_vectors(histories)
    alone = from_export.scores(["x", "y", "z"], histories, 1.0)
    np.testing.assert_allclose(alone[1], users[1] @ from_export.catalog.item_vectors.T, atol=1e-6)


def test_the_history_personalises_a_request(from_export):
    """A war request from a space reader: the blend brings in more space items than the plain request."""

    def space_items(weight):
        rows = from_export.search(WAR, SPACE_ITEMS, weight, k=6)
        return sum(item_topic(int(row.item_id[1:])) == 0 for row in rows)

    assert space_items(0.7) > space_items(0.0)


def test_unknown_history_ids_are_named_and_dropped(from_export, caplog):
    with caplog.at_level(logging.WARNING):
        scores = from_export.scores([WAR], [["nope", "m1", ""]], 0.5)
    assert "1 of 2 history ids are unknown" in caplog.text and "nope" in caplog.text
    np.testing.assert_allclose(scores, from_export.scores([WAR], [["m1"]], 0.5), atol=1e-6)
    # Only unknown ids: the empty history, i.e. the model's no-history user (documented fallback).
    np.testing.assert_allclose(
        from_export.scores([WAR], [["nope"]], 0.5), from_export.scores([WAR], [[]], 0.5), atol=1e-6
    )


def test_bad_weights_and_lengths_are_refused(from_export):
    with pytest.raises(ValueError, match="history weight must be in"):
        from_export.search(WAR, ["m1"], 1.5)
    with pytest.raises(ValueError, match="2 texts for 1 histories"):
        from_export.scores([WAR, WAR], [[]], 0.5)
    with pytest.raises(ValueError, match="shape"):
        blend_vectors(np.ones((1, 2)), np.ones((2, 2)), 0.5)


def test_profiles_use_the_measured_weight_of_their_history_length(export_dir, from_export):
    for history in ([], ["m3"], ["m3", "m7", "m11", "m15"]):
        rows = personal_recommendations(export_dir, "soldier battle", history, k=5, profile=True)
        n = len(history)
        expected = from_export.search(
            "soldier battle",
            history,
            profile_history_weight(n),
            5,
            profile_text_similarity_weight(n),
            profile_popularity_weight(n),
        )
        assert rows == expected


def test_profiles_use_the_measured_text_similarity_weight(export_dir, from_export, monkeypatch):
    monkeypatch.setitem(personal_blend.PROFILE_TEXT_SIMILARITY_WEIGHTS, 1, 0.7)
    rows = personal_recommendations(export_dir, "soldier battle", ["m3"], k=5, profile=True)
    beta = profile_popularity_weight(1)
    assert rows == from_export.search("soldier battle", ["m3"], profile_history_weight(1), 5, 0.7, beta)
    assert rows != from_export.search("soldier battle", ["m3"], profile_history_weight(1), 5, 0.0, beta)


def test_popularity_prior_is_log_counts_scaled_to_the_most_popular_item():
    np.testing.assert_allclose(popularity_prior(np.array([0, 1, 3])), [0.0, 0.5, 1.0], atol=1e-7)
    np.testing.assert_allclose(popularity_prior(np.array([0, 0])), [0.0, 0.0])  # no counts: no prior
    np.testing.assert_allclose(with_popularity(np.zeros((2, 3)), [0.0, 0.5, 1.0], 2.0), [[0.0, 1.0, 2.0]] * 2)
    with pytest.raises(ValueError, match="counts >= 0"):
        popularity_prior(np.array([1, -1]))
    with pytest.raises(ValueError, match="popularity weight must be a finite number >= 0"):
        with_popularity(np.zeros((1, 3)), [0.0, 0.5, 1.0], -1.0)


def test_the_popularity_weight_adds_the_trained_items_prior(in_memory, from_export, trained):
    """beta * prior on top of the blend, the same in memory and from the export; a large beta lists the most
    popular training items first; profiles of users without history are served with the measured beta."""
    prior = popularity_prior(trained.assets.item_popularity[2:])
    np.testing.assert_allclose(from_export.item_popularity_prior, prior, atol=1e-6)
    blend = from_export.scores([WAR], [["m1"]], 0.4)
    np.testing.assert_allclose(from_export.scores([WAR], [["m1"]], 0.4, 0.0, 0.5), blend + 0.5 * prior, atol=1e-5)
    np.testing.assert_allclose(
        in_memory.scores([WAR], [["m1"]], 0.4, 0.0, 0.5), from_export.scores([WAR], [["m1"]], 0.4, 0.0, 0.5), atol=1e-5
    )
    top = [row.item_id for row in from_export.search(WAR, [], 0.4, k=5, popularity_weight=1e4)]
    position = {item_id: i for i, item_id in enumerate(from_export.catalog.item_ids.tolist())}
    np.testing.assert_allclose([prior[position[i]] for i in top], np.sort(prior)[::-1][:5])  # ties: any order
    assert profile_popularity_weight(0) > 0  # measured: a profile without history leans on popularity


def test_text_similarity_adds_the_standardised_bert_cosine(from_export):
    """alpha * z(cos(BERT(text), BERT(item))) on top of the blend; alpha = 0 is the blend alone."""
    blend = from_export.scores([WAR], [["m1"]], 0.4)
    features = from_export.text_features([WAR])
    cosines = (features / np.linalg.norm(features)) @ (
        from_export.item_text_features / np.linalg.norm(from_export.item_text_features, axis=1, keepdims=True)
    ).T
    expected = blend + 0.3 * (cosines - cosines.mean()) / cosines.std()
    np.testing.assert_allclose(from_export.scores([WAR], [["m1"]], 0.4, 0.3), expected, atol=1e-5)
    np.testing.assert_allclose(fused_scores(blend, features, from_export.item_text_features, 0.0), blend)


def test_equal_spread_gives_each_request_the_spread_of_its_own_scores():
    """alpha < 0: alpha_row = std(model scores of that row), so the terms rank as z(model) + z(cosine)."""
    model = np.array([[0.0, 2.0, 1.0], [0.0, 0.2, 0.1]])  # row stds 0.816 and 0.0816
    features, items = np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    fused = fused_scores(model, features, items, EQUAL_SPREAD)
    cosines = np.array([1.0, 0.0, np.sqrt(0.5)])
    z = (cosines - cosines.mean()) / cosines.std()
    np.testing.assert_allclose(fused, model + model.std(axis=1, keepdims=True) * z, atol=1e-6)
    np.testing.assert_allclose(fused_scores(model, features, items, -7.0), fused)  # any negative alpha
    zmodel = (model - model.mean(axis=1, keepdims=True)) / model.std(axis=1, keepdims=True)
    assert (np.argsort(-fused, axis=1) == np.argsort(-(zmodel + z), axis=1)).all()  # same ranking both rows


def test_a_request_alone_is_served_by_the_equal_spread_rule(export_dir, from_export):
    rows = personal_recommendations(export_dir, WAR, [], k=5)
    assert rows == from_export.search(WAR, [], 0.0, 5, similarity_weight=EQUAL_SPREAD)
    assert rows != from_export.search(WAR, [], 0.0, 5, similarity_weight=0.0)  # not the embedding alone
    with_history = personal_recommendations(export_dir, WAR, ["m3"], k=5)  # a history: the measured request blend
    assert with_history == from_export.search(WAR, ["m3"], personal_blend.REQUEST_HISTORY_WEIGHT, 5, 0.0)


def test_cli_recommend_profile_and_personal_query(export_dir, capsys):
    assert main(["recommend", "--export-dir", export_dir, "--profile", "likes war films", "--k", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and all(len(line.split("\t")) == 3 for line in lines)
    argv = ["recommend", "--export-dir", export_dir, "--profile", WAR, "--history", "m0"]
    argv += ["--text-similarity-weight", "5"]
    assert main(argv) == 0
    rows = [line.split("\t")[0] for line in capsys.readouterr().out.strip().splitlines()]
    retriever = PersonalRetriever.from_export(export_dir)
    expected = retriever.search(WAR, ["m0"], profile_history_weight(1), 10, 5.0, profile_popularity_weight(1))
    assert rows == [r.item_id for r in expected]
    assert main(argv + ["--popularity-weight", "3"]) == 0
    rows = [line.split("\t")[0] for line in capsys.readouterr().out.strip().splitlines()]
    assert rows == [r.item_id for r in retriever.search(WAR, ["m0"], profile_history_weight(1), 10, 5.0, 3.0)]
    assert main(["recommend", "--export-dir", export_dir, "--query", WAR]) == 0  # a request alone: equal spread
    rows = [line.split("\t")[0] for line in capsys.readouterr().out.strip().splitlines()]
    assert rows == [r.item_id for r in PersonalRetriever.from_export(export_dir).search(WAR, [], 0.0, 10, EQUAL_SPREAD)]
    assert main(["recommend", "--export-dir", export_dir, "--query", WAR, "--text-similarity-weight", "0.2"]) == 0
    rows = [line.split("\t")[0] for line in capsys.readouterr().out.strip().splitlines()]
    assert rows == [r.item_id for r in PersonalRetriever.from_export(export_dir).search(WAR, [], 0.0, 10, 0.2)]
    argv = ["recommend", "--export-dir", export_dir, "--query", WAR, "--history", "m0,m4", "--history-weight", "0"]
    assert main(argv) == 0
    rows = [line.split("\t")[0] for line in capsys.readouterr().out.strip().splitlines()]
    assert rows == [r.item_id for r in PersonalRetriever.from_export(export_dir).search(WAR, ["m0", "m4"], 0.0)]
    assert main(["recommend", "--export-dir", export_dir, "--history", "m0", "--history-weight", "0.5"]) == 2
    assert "--history-weight, --text-similarity-weight and --popularity-weight blend" in capsys.readouterr().err
    assert main(["recommend", "--export-dir", export_dir, "--history", "m0", "--text-similarity-weight", "1"]) == 2
    assert main(["recommend", "--export-dir", export_dir]) == 2
    assert "needs --history, --query or --profile" in capsys.readouterr().err
