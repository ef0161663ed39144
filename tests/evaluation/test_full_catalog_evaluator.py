"""Tests for FullCatalogEvaluator on a hand-computed popularity baseline."""

import json
import math

import numpy as np
import pytest

from tfrec_llm.evaluation.evaluation_report import report_to_json
from tfrec_llm.evaluation import ranking_metrics
from tfrec_llm.evaluation.full_catalog_evaluator import FullCatalogEvaluator, chunk_rows

# Catalog of 5 items; total 100 interactions -> head {0, 1} (50% + 30% = 80%),
# tail {2, 3}, cold {4}.
POPULARITY = np.array([50, 30, 10, 10, 0])
COLD = np.array([False, False, False, False, True])
FEATURES = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])

# Popularity baseline: every user is [1], every item its popularity.
#   example 0: target 0, nothing excluded           -> rank 1, list [0, 1]
#   example 1: target 2 (ties with item 3)          -> rank 4, list [0, 1]
#   example 2: target 3, items 0 and 2 excluded     -> rank 2, list [1, 3]
#   example 3: target 4 (cold), lists itself        -> rank 5, list [0, 1]
TARGETS = np.array([0, 2, 3, 4])
EXCLUSIONS = [np.array([], dtype=int), np.array([], dtype=int), np.array([0, 2]), np.array([4])]
ACTIVITY = np.array([0, 10, 25, 6])  # new (and sparse), medium, heavy, medium
SCENARIOS = np.array(["a", "b", "a", "b"])
RANKS = [1, 4, 2, 5]


def _toy_report(**overrides):
    evaluator = FullCatalogEvaluator(
        item_popularity=POPULARITY,
        cold_item_mask=COLD,
        item_features_for_diversity=FEATURES,
        ks=(1, 2),
        list_k=2,
        num_popularity_buckets=5,
        **overrides,
    )
    return evaluator.evaluate(
        user_embeddings=np.ones((4, 1)),
        item_embeddings=POPULARITY[:, None].astype(np.float64),
        target_items=TARGETS,
        exclude_items=EXCLUSIONS,
        user_activity=ACTIVITY,
        scenarios=SCENARIOS,
        extra_strata={"long_history": np.array([True, False, False, True])},
    )


def test_overall_metrics_by_hand():
    overall = _toy_report()["overall"]
    assert overall["n"] == 4
    assert overall["recall@1"] == pytest.approx(1 / 4)
    assert overall["recall@2"] == pytest.approx(2 / 4)
    assert overall["ndcg@1"] == pytest.approx(1 / 4)
    assert overall["ndcg@2"] == pytest.approx((1 + 1 / math.log2(3)) / 4)
    assert overall["mrr"] == pytest.approx((1 + 1 / 4 + 1 / 2 + 1 / 5) / 4)
    # every rank <= 50: Wilson interval of 4/4
    low, high = overall["ci95_recall@50"]
    assert low == pytest.approx(0.5101, abs=1e-4)
    assert high == pytest.approx(1.0)


def test_item_and_user_strata_by_hand():
    report_strata = _toy_report()["strata"]
    assert list(report_strata) == [
        "head",
        "tail",
        "cold_items",
        "warm_items",
        "new_users",
        "sparse_users",
        "medium_users",
        "heavy_users",
        "scenario:a",
        "scenario:b",
        "long_history",
    ]
    counts = {name: summary["n"] for name, summary in report_strata.items()}
    assert counts == {
        "head": 1,
        "tail": 2,
        "cold_items": 1,
        "warm_items": 3,
        "new_users": 1,
        "sparse_users": 1,
        "medium_users": 2,
        "heavy_users": 1,
        "scenario:a": 2,
        "scenario:b": 2,
        "long_history": 2,
    }
    assert report_strata["head"]["recall@1"] == pytest.approx(1.0)
    assert report_strata["tail"]["recall@2"] == pytest.approx(0.5)  # ranks 4, 2
    assert report_strata["tail"]["mrr"] == pytest.approx((1 / 4 + 1 / 2) / 2)
    assert report_strata["cold_items"]["mrr"] == pytest.approx(1 / 5)
    assert report_strata["medium_users"]["mrr"] == pytest.approx((1 / 4 + 1 / 5) / 2)
    assert report_strata["new_users"] == report_strata["sparse_users"]  # the same one example
    assert report_strata["scenario:a"]["recall@1"] == pytest.approx(0.5)  # ranks 1, 2
    assert report_strata["long_history"]["recall@1"] == pytest.approx(0.5)  # ranks 1, 5
    low, high = report_strata["cold_items"]["ci95_recall@50"]
    assert 0.0 < low < high == pytest.approx(1.0)


def test_empty_stratum_reports_zero_and_none():
    evaluator = FullCatalogEvaluator(POPULARITY, COLD, ks=(1, 2), list_k=2)
    report = evaluator.evaluate(
        user_embeddings=np.ones((1, 1)),
        item_embeddings=POPULARITY[:, None].astype(np.float64),
        target_items=np.array([0]),
        exclude_items=None,
        user_activity=np.array([2]),
    )
    for name in ["tail", "cold_items", "medium_users", "heavy_users"]:
        assert report["strata"][name] == {
            "recall@1": None,
            "recall@2": None,
            "ndcg@1": None,
            "ndcg@2": None,
            "mrr": None,
            "n": 0,
            "ci95_recall@50": None,
        }
    assert not any(name.startswith("scenario:") for name in report["strata"])
    assert report["lists"]["intra_list_diversity@2"] is None


def test_popularity_buckets_and_counts():
    report = _toy_report()
    # one item per bucket, in popularity order 0, 1, 2, 3, 4 (2 before 3 on the tie)
    assert [bucket["items"] for bucket in report["popularity_buckets"]] == [1] * 5
    assert [bucket["n"] for bucket in report["popularity_buckets"]] == [1, 0, 1, 1, 1]
    assert [bucket["recall@50"] for bucket in report["popularity_buckets"]] == [
        1.0,
        None,
        1.0,
        1.0,
        1.0,
    ]
    assert report["popularity_buckets"][0]["max_popularity"] == 50
    assert report["n"] == {
        "examples": 4,
        "items": 5,
        "head_items": 2,
        "tail_items": 2,
        "cold_items": 1,
    }


def test_list_metrics_by_hand():
    lists = _toy_report()["lists"]
    # slots 0,1 | 0,1 | 1,3 | 0,1 -> exposure [3, 4, 0, 1, 0]
    assert lists["coverage@2"] == pytest.approx(3 / 5)
    assert lists["tail_share@2"] == pytest.approx(1 / 8)
    assert lists["exposure_gini@2"] == pytest.approx(0.55)
    # [0,1] orthogonal -> 1 (three times); [1,3] -> 1 - 1/sqrt(2)
    assert lists["intra_list_diversity@2"] == pytest.approx((3 + 1 - 1 / math.sqrt(2)) / 4)
    # p = (popularity + 1) / (100 + 5)
    expected_novelty = (3 * -math.log2(51 / 105) + 4 * -math.log2(31 / 105) + -math.log2(11 / 105)) / 8
    assert lists["novelty@2"] == pytest.approx(expected_novelty)


def test_chunking_gives_identical_reports():
    random = np.random.default_rng(3)
    num_items, num_examples = 40, 23
    popularity = random.integers(0, 20, size=num_items)
    cold = popularity == 0
    user_embeddings = random.integers(-2, 3, size=(num_examples, 3)).astype(np.float32)
    item_embeddings = random.integers(-2, 3, size=(num_items, 3)).astype(np.float32)
    arguments = dict(
        user_embeddings=user_embeddings,
        item_embeddings=item_embeddings,
        target_items=random.integers(0, num_items, size=num_examples),
        exclude_items=[random.choice(num_items, size=5, replace=False) for _ in range(num_examples)],
        user_activity=random.integers(0, 40, size=num_examples),
    )
    reports = [
        FullCatalogEvaluator(
            popularity, cold, item_embeddings, ks=(1, 5, 10), list_k=5, chunk_size=chunk_size
        ).evaluate(**arguments)
        for chunk_size in (1, 4, 1024)
    ]
    assert reports[0] == reports[1] == reports[2]


def test_chunks_hold_at_most_max_chunk_scores_scores(monkeypatch):
    """A large catalog scores fewer examples at a time (1024 x 1M float32 scores would be 4 GB a copy)."""
    random = np.random.default_rng(5)
    num_items, num_examples = 50, 30
    popularity = random.integers(1, 20, size=num_items)
    item_embeddings = random.normal(size=(num_items, 4)).astype(np.float32)
    arguments = dict(
        user_embeddings=random.normal(size=(num_examples, 4)).astype(np.float32),
        item_embeddings=item_embeddings,
        target_items=random.integers(0, num_items, size=num_examples),
        exclude_items=[random.choice(num_items, size=3, replace=False) for _ in range(num_examples)],
        user_activity=random.integers(0, 40, size=num_examples),
    )
    unbounded = FullCatalogEvaluator(popularity, popularity == 0, ks=(1, 5)).evaluate(**arguments)
    shapes = []
    original = ranking_metrics.mask_excluded_items
    monkeypatch.setattr(
        ranking_metrics, "mask_excluded_items", lambda scores, *a: shapes.append(scores.shape) or original(scores, *a)
    )
    bounded = FullCatalogEvaluator(popularity, popularity == 0, ks=(1, 5), max_chunk_scores=200)
    assert bounded.evaluate(**arguments) == unbounded
    assert max(rows * items for rows, items in shapes) <= 200
    assert sum(rows for rows, _ in shapes) == num_examples
    assert chunk_rows(1_000_000, 1024) == 16 and chunk_rows(100, 1024) == 1024 and chunk_rows(10**9, 1024) == 1


def test_report_is_json_ready():
    report = _toy_report()
    assert json.loads(report_to_json(report)) == report


def test_invalid_inputs_are_rejected():
    evaluator = FullCatalogEvaluator(POPULARITY, COLD)
    arguments = dict(
        user_embeddings=np.ones((4, 1)),
        item_embeddings=np.ones((5, 1)),
        target_items=TARGETS,
        exclude_items=EXCLUSIONS,
        user_activity=ACTIVITY,
    )
    with pytest.raises(ValueError, match="item_embeddings has 4 rows but the catalog has 5"):
        evaluator.evaluate(**{**arguments, "item_embeddings": np.ones((4, 1))})
    with pytest.raises(ValueError, match="Embedding sizes differ"):
        evaluator.evaluate(**{**arguments, "item_embeddings": np.ones((5, 2))})
    with pytest.raises(ValueError, match=r"target_items must be integer catalog indices"):
        evaluator.evaluate(**{**arguments, "target_items": np.array([0, 1, 2, 5])})
    with pytest.raises(ValueError, match=r"user_activity must have shape \(4,\)"):
        evaluator.evaluate(**{**arguments, "user_activity": np.ones(3)})
    with pytest.raises(ValueError, match="clashes with a built-in stratum"):
        evaluator.evaluate(**arguments, extra_strata={"head": np.ones(4, dtype=bool)})
    with pytest.raises(ValueError, match="must be a bool mask"):
        evaluator.evaluate(**arguments, extra_strata={"x": np.ones(4)})
    with pytest.raises(ValueError, match="no test examples"):
        evaluator.evaluate(**{**arguments, "user_embeddings": np.ones((0, 1))})
    with pytest.raises(ValueError, match="item_features_for_diversity must have shape"):
        FullCatalogEvaluator(POPULARITY, COLD, np.ones((4, 2)))
    with pytest.raises(ValueError, match="chunk_size must hold positive integers"):
        FullCatalogEvaluator(POPULARITY, COLD, chunk_size=0)
