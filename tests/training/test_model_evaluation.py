"""Tests for the glue between a trained model and the full-catalog evaluator."""

import dataclasses
import gc
import logging
import weakref

import numpy as np
import pytest
import tensorflow_recommenders as tfrs
from tiny_fixtures import make_built_model, make_tiny_assets, make_tiny_config, make_tiny_encoder

from tfrec_llm.benchmark.popularity_baseline import PopularityBaseline
from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX, PAD_INDEX, UNKNOWN_INDEX
from tfrec_llm.evaluation import full_catalog_evaluator
from tfrec_llm.training.model_evaluation import (
    HISTORY_CUTS,
    catalog_embeddings,
    cut_histories,
    evaluate_model,
    factorized_top_k_accuracy,
    query_embeddings,
)


@pytest.fixture(name="setup", scope="module")
def _setup(tmp_path_factory):
    config = make_tiny_config()
    experiment, assets = make_tiny_assets(config, make_tiny_encoder(), tmp_path_factory.mktemp("cache"))
    return make_built_model(config, assets), assets, experiment


def test_cut_histories_keeps_the_most_recent_items_oldest_first():
    history = np.array([[2, 3, 4, 0], [5, 0, 0, 0], [0, 0, 0, 0], [6, 7, 8, 9]], np.int32)
    assert cut_histories(history, 2).tolist() == [[3, 4], [5, 0], [0, 0], [8, 9]]
    assert cut_histories(history, 1).tolist() == [[4], [5], [0], [9]]
    assert cut_histories(history, 5).tolist() == [[2, 3, 4, 0, 0], [5, 0, 0, 0, 0], [0] * 5, [6, 7, 8, 9, 0]]
    assert cut_histories(history, 2).dtype == np.int32


def test_catalog_embeddings_are_the_item_towers_output_for_every_index(setup):
    model, assets, _ = setup
    table = catalog_embeddings(model, assets.num_index_rows, batch_size=7)
    assert table.shape == (assets.num_index_rows, 16) and table.dtype == np.float32
    expected = model.item_embeddings(np.arange(assets.num_index_rows), training=False).numpy()
    np.testing.assert_allclose(table, expected, rtol=1e-5, atol=1e-6)


def test_query_embeddings_match_the_models_user_embeddings(setup):
    model, assets, experiment = setup
    features = experiment.test_examples.features()
    table = catalog_embeddings(model, assets.num_index_rows)
    users = query_embeddings(model, features, table, batch_size=10)
    assert users.shape == (len(experiment.test_examples), 16)
    np.testing.assert_allclose(users, model(features)["user_embedding"].numpy(), rtol=1e-4, atol=1e-5)


def test_factorized_top_k_accuracy_by_hand():
    # 12 items on a half circle: scores for user [1, 0] fall with the item index.
    angles = np.linspace(0, np.pi, 12)
    catalog = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)
    users = np.array([[1, 0], [1, 0], [1, 0]], np.float32)
    targets = np.array([2, 11, 9])  # ranks 3, 12 and 10
    assert factorized_top_k_accuracy(users, catalog, targets) == {"top_10_accuracy": pytest.approx(2 / 3)}


def test_factorized_top_k_accuracy_scores_a_bounded_number_of_users_at_a_time(monkeypatch):
    """At 1M items a batch of 1024 users would score 4 GB: batches shrink with the catalog."""
    random = np.random.default_rng(0)
    catalog = random.normal(size=(30, 4)).astype(np.float32)
    users = random.normal(size=(7, 4)).astype(np.float32)
    targets = random.integers(0, 30, size=7)
    expected = factorized_top_k_accuracy(users, catalog, targets)
    batches = []
    original = tfrs.metrics.FactorizedTopK.update_state
    monkeypatch.setattr(
        tfrs.metrics.FactorizedTopK,
        "update_state",
        lambda self, query, *a, **k: batches.append(len(query)) or original(self, query, *a, **k),
    )
    monkeypatch.setattr(full_catalog_evaluator, "MAX_SCORES_PER_CHUNK", 60)  # 2 users x 30 items
    assert factorized_top_k_accuracy(users, catalog, targets) == expected
    assert batches == [2, 2, 2, 1]


def test_evaluate_model_returns_the_documented_report(setup):
    model, assets, experiment = setup
    examples = experiment.test_examples
    report = evaluate_model(model, assets, examples, exclude_seen=True)
    assert {"overall", "strata", "lists", "n", "factorized_top_k"} <= set(report)
    assert report["overall"]["n"] == int((examples.target >= FIRST_ITEM_INDEX).sum()) == len(examples)
    assert {"cold_items", "warm_items", "sparse_users"} <= set(report["strata"])
    assert set(report["factorized_top_k"]) == {"top_10_accuracy"}  # 48 items: k=50 and 100 do not fit
    assert 0.0 <= report["overall"]["recall@10"] <= report["overall"]["recall@50"] <= 1.0


def test_history_cuts_rescore_every_example_and_are_not_strata(setup):
    model, assets, experiment = setup
    examples = experiment.test_examples
    report = evaluate_model(model, assets, examples, exclude_seen=True)
    assert not [name for name in report["strata"] if "history_cut" in name]
    assert list(report["history_cuts"]) == [f"last_{keep}" for keep in HISTORY_CUTS]
    for keep in HISTORY_CUTS:
        cut = report["history_cuts"][f"last_{keep}"]
        assert set(cut) == set(report["overall"])
        assert cut["n"] == report["overall"]["n"] == len(examples)  # every example, not a subset
    # last_1 is the overall report of the same examples with their histories cut by hand.
    cut_by_hand = evaluate_model(
        model, assets, dataclasses.replace(examples, history=cut_histories(examples.history, 1))
    )
    assert report["history_cuts"]["last_1"] == cut_by_hand["overall"] != report["overall"]


def test_without_context_is_the_report_of_requests_that_send_no_scenario_or_user_features(setup):
    """What serving_default answers a TF Serving client that sends only a history."""
    model, assets, experiment = setup
    examples = experiment.test_examples
    assert examples.scenario.any()  # the tiny world has scenarios to drop (and no user features)
    report = evaluate_model(model, assets, examples)
    unknown = dataclasses.replace(
        examples,
        scenario=np.zeros_like(examples.scenario),
        user_features={name: np.zeros_like(values) for name, values in examples.user_features.items()},
    )
    assert report["without_context"] == evaluate_model(model, assets, unknown)["overall"]


def test_the_popularity_answer_ranks_examples_without_a_known_history_item_as_popularity(setup, monkeypatch):
    """model.empty_history_answer "popularity": what the retrieval export answers, in metrics.json."""
    model, assets, experiment = setup
    examples = experiment.test_examples
    history = examples.history.copy()
    history[::3] = PAD_INDEX  # no history
    history[1::3, 1:] = PAD_INDEX
    history[1::3, 0] = UNKNOWN_INDEX  # unknown ids only
    examples = dataclasses.replace(examples, history=history)
    empty = np.flatnonzero((history < FIRST_ITEM_INDEX).all(axis=1))
    known = np.flatnonzero((history >= FIRST_ITEM_INDEX).any(axis=1))
    assert len(empty) and len(known)
    monkeypatch.setattr(model, "config", dataclasses.replace(model.config, empty_history_answer="model"))
    by_model = {
        name: evaluate_model(model, assets, examples.subset(rows)) for name, rows in [("e", empty), ("k", known)]
    }
    monkeypatch.setattr(model, "config", dataclasses.replace(model.config, empty_history_answer="popularity"))
    by_rule = {
        name: evaluate_model(model, assets, examples.subset(rows)) for name, rows in [("e", empty), ("k", known)]
    }
    popularity = evaluate_model(PopularityBaseline(assets.item_popularity), assets, examples.subset(empty))
    for part in ("overall", "lists"):
        assert by_rule["e"][part] == popularity[part] != by_model["e"][part]
        assert by_rule["k"][part] == by_model["k"][part]  # a known history keeps the user tower's answer
    assert by_rule["e"]["without_context"] == popularity["overall"]
    # The history cuts keep a history's last items: rows of unknown ids only stay on the rule.
    assert by_rule["e"]["history_cuts"]["last_1"] == popularity["overall"]
    mixed = evaluate_model(model, assets, examples)
    assert mixed["overall"]["n"] == len(empty) + len(known)
    # Counted and scored: the "no_history" stratum is those examples, and the report names the answer.
    assert mixed["strata"]["no_history"] == popularity["overall"]
    assert mixed["empty_history_answer"] == "popularity" and popularity["empty_history_answer"] is None
    assert "no_history" not in by_rule["k"]["strata"]  # only when some example lacks a history


def test_evaluate_model_reports_one_line_off_a_terminal(setup, caplog):
    model, assets, experiment = setup
    with caplog.at_level(logging.INFO, logger="tfrec_llm.progress"):
        report = evaluate_model(model, assets, experiment.test_examples, max_examples=10)
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 1
    assert lines[0].startswith(f"Evaluated {report['overall']['n']} test examples (full histories, history cuts")


def test_evaluate_model_subsamples_with_max_examples(setup):
    model, assets, experiment = setup
    report = evaluate_model(model, assets, experiment.test_examples, max_examples=20, seed=3)
    assert report["overall"]["n"] == 20
    again = evaluate_model(model, assets, experiment.test_examples, max_examples=20, seed=3)
    assert again["overall"] == report["overall"]


def test_excluding_seen_items_never_ranks_a_target_lower(setup):
    model, assets, experiment = setup
    excluded = evaluate_model(model, assets, experiment.test_examples, exclude_seen=True)
    kept = evaluate_model(model, assets, experiment.test_examples, exclude_seen=False)
    assert excluded["overall"]["mrr"] >= kept["overall"]["mrr"]
    assert excluded["overall"]["recall@10"] >= kept["overall"]["recall@10"]


def test_an_evaluated_model_is_freed_once_deleted(tmp_path):
    # Evaluation caches its traced functions; the cache must not keep the model (and its weights) alive.
    config = make_tiny_config()
    experiment, assets = make_tiny_assets(config, make_tiny_encoder(), tmp_path)
    model = make_built_model(config, assets)
    evaluate_model(model, assets, experiment.test_examples)
    model_ref = weakref.ref(model)
    del model
    gc.collect()
    assert model_ref() is None
