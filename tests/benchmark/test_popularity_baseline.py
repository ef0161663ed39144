"""Tests for the most-popular baseline on a hand-made world with hand-computed ranks."""

import json
import os

import numpy as np
import pytest

import tfrec_llm  # noqa: F401  (legacy Keras before TensorFlow)
from tfrec_llm.data.interaction_data import InteractionData, Interactions, ItemCatalog
from tfrec_llm.experiment_config import ExperimentConfig
from tfrec_llm.benchmark.popularity_baseline import PopularityBaseline, train_popularity_baseline

TRAIN_TIME = 1
TEST_TIME = 100

# Six filler items nobody ever had: like e they have popularity 0 (and are cold).
FILLER_ITEMS = [f"f{i}" for i in range(6)]
# Training events (all before the time cut): popularity a=3, b=2, c=2, d=1, e=0.
TRAIN_EVENTS = [("u1", "a"), ("u1", "b"), ("u1", "c"), ("u2", "a"), ("u2", "b"), ("u3", "a"), ("u3", "c"), ("u4", "d")]
# Test events (after the cut) and the pessimistic rank of each target among
# the items its user has not had yet:
# - u9 (new user, nothing excluded) wants a: a (3) is the most popular -> rank 1;
# - u4 (had d) wants b: a (3) above, c (2) tied with b -> rank 3 (ties count above);
# - u2 (had a, b) wants c: c (2) is the most popular left -> rank 1;
# - u1 (had a, b, c) wants e (cold, 0): d and the six fillers tied with it -> rank 8. (d's one event, the
#   last training event, is the validation slice early stopping holds out: no model trains on it, so d is
#   served and counted as cold, popularity 0; see `experiment_data.drop_unfitted_id_slots`.)
TEST_EVENTS = [("u9", "a"), ("u4", "b"), ("u2", "c"), ("u1", "e")]
EXPECTED_RANKS = {"a": 1, "b": 3, "c": 1, "e": 8}


def hand_made_world() -> InteractionData:
    events = TRAIN_EVENTS + TEST_EVENTS
    timestamps = [TRAIN_TIME + i for i in range(len(TRAIN_EVENTS))] + [TEST_TIME] * len(TEST_EVENTS)
    interactions = Interactions(
        [u for u, _ in events], [i for _, i in events], timestamps, np.full(len(events), 4.0), None
    )
    item_ids = ["a", "b", "c", "d", "e"] + FILLER_ITEMS
    catalog = ItemCatalog(item_ids, {"title": [f"title {i}" for i in item_ids]})
    return InteractionData("hand", interactions, catalog)


def hand_config() -> ExperimentConfig:
    return ExperimentConfig.from_dict({"data": {"split": "time_cut", "time_cut_quantile": 0.8}})


@pytest.fixture(scope="module")
def metrics(tmp_path_factory):
    return train_popularity_baseline(hand_config(), str(tmp_path_factory.mktemp("pop")), hand_made_world())


def test_most_popular_first_and_ties_pessimistic(metrics):
    expected_mrr = np.mean([1 / rank for rank in EXPECTED_RANKS.values()])  # (1 + 1/3 + 1 + 1/8) / 4
    assert metrics["overall"]["n"] == 4
    assert metrics["overall"]["mrr"] == pytest.approx(expected_mrr)
    assert metrics["overall"]["mrr"] == pytest.approx(0.6145833)
    # Every rank is <= 10; one relevant item: NDCG = 1 / log2(rank + 1).
    assert metrics["overall"]["recall@10"] == 1.0
    assert metrics["overall"]["ndcg@10"] == pytest.approx((1 + 1 / 2 + 1 + 1 / np.log2(9)) / 4)


def test_strata_follow_the_hand_ranks(metrics):
    strata = metrics["strata"]
    assert strata["cold_items"]["n"] == 1 and strata["cold_items"]["mrr"] == pytest.approx(1 / 8)
    # Head = a, b, c (7 of 8 events >= 80%): targets a, b, c with ranks 1, 3, 1.
    assert strata["head"]["n"] == 3 and strata["head"]["mrr"] == pytest.approx((1 + 1 / 3 + 1) / 3)
    assert metrics["n"]["cold_items"] == 2 + len(FILLER_ITEMS) and metrics["n"]["head_items"] == 3  # e, d, fillers


def test_history_cuts_change_nothing_for_a_model_that_ignores_history(metrics):
    assert list(metrics["history_cuts"]) == ["last_1", "last_3", "last_5"]
    for cut in metrics["history_cuts"].values():
        assert cut == metrics["overall"]


def test_factorized_top_k_and_training_record(metrics):
    # 11 items: only top-10 exists. a, b, c are surely in it; e (tied at 0 with
    # the fillers) depends on TFRS's own tie order.
    assert list(metrics["factorized_top_k"]) == ["top_10_accuracy"]
    assert metrics["factorized_top_k"]["top_10_accuracy"] >= 0.75
    assert metrics["training"]["loss"] == []
    assert metrics["training"]["train_examples"] == len(TRAIN_EVENTS)


def test_writes_metrics_and_config(tmp_path):
    train_popularity_baseline(hand_config(), str(tmp_path), hand_made_world())
    with open(os.path.join(tmp_path, "metrics.json"), encoding="utf-8") as f:
        written = json.load(f)
    assert written["overall"]["mrr"] == pytest.approx(0.6145833)
    assert ExperimentConfig.from_json_file(os.path.join(tmp_path, "config.json")).data.split == "time_cut"


def test_embeddings_score_items_by_popularity():
    baseline = PopularityBaseline(np.array([0, 0, 3, 1, 2]))
    items = baseline.item_embeddings(np.arange(5)).numpy()
    users = baseline.user_embeddings({"history": np.zeros((3, 4), np.int32)}, None).numpy()
    assert (users @ items.T).tolist() == [[0.0, 0.0, 3.0, 1.0, 2.0]] * 3


def test_rejects_negative_counts():
    with pytest.raises(ValueError, match="non-negative counts"):
        PopularityBaseline(np.array([0, 0, -1]))
