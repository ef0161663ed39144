"""Tests for EASE: the closed form by hand, l2 selection, scoring through evaluate_model, the size limit."""

import json
import os

import numpy as np
import pytest

import tfrec_llm  # noqa: F401  (legacy Keras before TensorFlow)
from tfrec_llm.benchmark.ease_baseline import (
    EaseBaseline,
    EaseTooLarge,
    check_ease_fits,
    gram_matrix,
    item_weights_from_gram,
    select_l2,
    train_ease_baseline,
    with_seen_histories,
)
from tfrec_llm.data.interaction_data import InteractionData, Interactions, ItemCatalog
from tfrec_llm.data.item_vocabulary import ItemVocabulary
from tfrec_llm.experiment_config import ExperimentConfig
from tfrec_llm.training.experiment_data import prepare_experiment_data

NUM_ITEMS = 40
CLUSTER_SIZE = 5
NUM_USERS = 80
GRID = (0.1, 1.0, 10.0, 100.0, 1000.0)


def ridge_item_weights(x: np.ndarray, l2: float) -> np.ndarray:
    """EASE by its definition, one column at a time: ridge-regress item j on every other item."""
    num_items = x.shape[1]
    weights = np.zeros((num_items, num_items))
    for j in range(num_items):
        others = np.delete(np.arange(num_items), j)
        x_others = x[:, others]
        weights[others, j] = np.linalg.solve(x_others.T @ x_others + l2 * np.eye(num_items - 1), x_others.T @ x[:, j])
    return weights


def pessimistic_rank(scores: np.ndarray, target: int, excluded) -> int:
    """1 + the candidates (not excluded, not the target) scoring at least the target's score."""
    candidates = np.ones(len(scores), bool)
    candidates[list(excluded)] = False
    candidates[target] = False
    return 1 + int(np.count_nonzero(scores[candidates] >= scores[target]))


def cluster_events(seed: int = 0):
    """Users take 4 of their cluster's 5 items and one random item, in a random order: (user, item, time)."""
    rng = np.random.default_rng(seed)
    events = []
    for user in range(NUM_USERS):
        members = (user % (NUM_ITEMS // CLUSTER_SIZE)) * CLUSTER_SIZE + np.arange(CLUSTER_SIZE)
        picks = [*rng.permutation(members)[:4], int(rng.integers(NUM_ITEMS))]
        rng.shuffle(picks)
        events += [(user, int(item), time) for time, item in enumerate(picks)]
    return events


def as_interactions(events) -> Interactions:
    return Interactions(
        [f"u{u}" for u, _, _ in events],
        [f"i{i}" for _, i, _ in events],
        [t for _, _, t in events],
        np.ones(len(events)),
        None,
    )


def catalog_ids():
    return np.array([f"i{i}" for i in range(NUM_ITEMS)])


def split_last(events):
    """Per user: (items before the last event, the last event's item), events in time order."""
    by_user = {}
    for user, item, _ in sorted(events, key=lambda e: (e[0], e[2])):
        by_user.setdefault(user, []).append(item)
    return {user: (items[:-1], items[-1]) for user, items in by_user.items()}


def binary_matrix(histories) -> np.ndarray:
    x = np.zeros((len(histories), NUM_ITEMS))
    for row, items in enumerate(histories):
        x[row, items] = 1.0
    return x


def test_two_items_by_hand():
    # Items 0 and 1 each have 3 users, 2 of them shared: G = [[3, 2], [2, 3]]. With l2 = 1,
    # B_01 = G_01 / (G_00 + l2) = 2 / 4 (ridge of item 1 on item 0), and likewise B_10.
    rows = np.array([0, 0, 1, 2, 3, 3])
    items = np.array([0, 1, 0, 1, 0, 1])
    gram = gram_matrix(rows, items, 2)
    assert gram.tolist() == [[3.0, 2.0], [2.0, 3.0]]
    weights = item_weights_from_gram(gram, 1.0)
    np.testing.assert_allclose(weights, [[0.0, 0.5], [0.5, 0.0]])
    baseline = EaseBaseline(weights)
    users = baseline.user_embeddings({"history": np.array([[2, 0, 0], [3, 1, 0]])}, None).numpy()
    items = baseline.item_embeddings(np.array([2, 3])).numpy()
    # A user with item 0 scores [0, 0.5]; the unknown index 1 and padding add nothing.
    np.testing.assert_allclose(users @ items.T, [[0.0, 0.5], [0.5, 0.0]])


def test_closed_form_matches_the_column_by_column_ridge_definition():
    histories = [[0, 1], [1, 2], [0, 1, 2, 3], [3]]
    x = binary_matrix(histories)[:, :4]
    rows = np.concatenate([[row] * len(items) for row, items in enumerate(histories)]).astype(int)
    weights = item_weights_from_gram(gram_matrix(rows, np.concatenate(histories), 4), 2.0)
    np.testing.assert_allclose(weights, ridge_item_weights(x, 2.0), atol=1e-12)
    assert np.diag(weights).tolist() == [0.0] * 4
    # Scores of the user who had items 0 and 1: x_u B.
    scores = EaseBaseline(weights).user_embeddings({"history": np.array([[2, 3]])}, None).numpy() @ weights
    np.testing.assert_allclose(scores[0], x[0] @ ridge_item_weights(x, 2.0), rtol=1e-6)


def test_l2_selection_picks_the_grid_value_with_the_best_validation_recall():
    events = cluster_events()
    held_out = split_last(events)  # every user's last (training) event is the validation target
    x = binary_matrix([before for before, _ in held_out.values()])
    expected = {}
    for l2 in GRID:
        scores = x @ ridge_item_weights(x, l2)
        ranks = [
            pessimistic_rank(scores[row], target, before) for row, (before, target) in enumerate(held_out.values())
        ]
        expected[f"{l2:g}"] = np.mean(np.array(ranks) <= 10)
    selection = select_l2(as_interactions(events), ItemVocabulary(catalog_ids(), catalog_ids()), GRID)
    assert selection["validation_recall@10"] == pytest.approx(expected)
    assert selection["validation_users"] == NUM_USERS
    best = max(expected.values())
    assert selection["l2"] == next(l2 for l2 in GRID if expected[f"{l2:g}"] == best)
    # The constructed case discriminates: the grid's values differ and the first one is not the best.
    assert len(set(expected.values())) > 2 and expected[f"{GRID[0]:g}"] < best


def test_l2_selection_needs_users_with_two_events():
    one_each = as_interactions([(user, user, 0) for user in range(5)])
    with pytest.raises(ValueError, match="two or more catalog events"):
        select_l2(one_each, ItemVocabulary(catalog_ids(), catalog_ids()))


def test_an_over_large_catalog_is_skipped_with_the_reason():
    check_ease_fits(1000)
    with pytest.raises(EaseTooLarge, match=r"EASE skipped: 30001 items need dense 30001 x 30001 matrices"):
        check_ease_fits(30_001, memory_budget_bytes=10**15)
    with pytest.raises(EaseTooLarge, match=r"about 0\.2 GiB.*0\.1 GiB of memory"):
        check_ease_fits(3000, memory_budget_bytes=2**27)


def cluster_world() -> InteractionData:
    catalog = ItemCatalog(catalog_ids(), {"title": [f"title {i}" for i in range(NUM_ITEMS)]})
    return InteractionData("clusters", as_interactions(cluster_events(seed=1)), catalog)


def cluster_config() -> ExperimentConfig:
    # max_history 2 < the 4 items each user had: EASE must read every seen item, not the model's window.
    return ExperimentConfig.from_dict({"data": {"split": "leave_last_out", "max_history": 2}})


@pytest.fixture(name="ease_run", scope="module")
def _ease_run(tmp_path_factory):
    output_dir = str(tmp_path_factory.mktemp("ease"))
    return output_dir, train_ease_baseline(cluster_config(), output_dir, cluster_world(), l2_grid=GRID)


def test_test_examples_are_scored_with_every_item_seen_before_the_target(ease_run):
    output_dir, metrics = ease_run
    l2 = metrics["training"]["ease"]["l2"]
    assert f"{l2:g}" in metrics["training"]["ease"]["validation_recall@10"]
    test_split = split_last(cluster_events(seed=1))
    x = binary_matrix([before for before, _ in test_split.values()])
    weights = ridge_item_weights(x, l2)  # leave-last-out: training = every event but each user's last
    expected = {"overall": [], "last_1": []}
    for row, (before, target) in enumerate(test_split.values()):
        expected["overall"].append(1 / pessimistic_rank(x[row] @ weights, target, before))
        last_item = np.zeros(NUM_ITEMS)
        last_item[before[-1]] = 1.0
        expected["last_1"].append(1 / pessimistic_rank(last_item @ weights, target, before))
    assert metrics["overall"]["n"] == NUM_USERS
    assert metrics["overall"]["mrr"] == pytest.approx(np.mean(expected["overall"]))
    assert metrics["history_cuts"]["last_1"]["mrr"] == pytest.approx(np.mean(expected["last_1"]))
    assert not [name for name in metrics["strata"] if "history_cut" in name]
    with open(os.path.join(output_dir, "metrics.json"), encoding="utf-8") as f:
        assert json.load(f)["overall"] == metrics["overall"]


def test_with_seen_histories_widens_the_models_window():
    experiment = prepare_experiment_data(cluster_config(), cluster_world())
    examples = experiment.test_examples
    widened = with_seen_histories(examples)
    assert examples.history.shape[1] == 2 and widened.history.shape[1] >= 4
    for i in range(len(examples)):
        seen = examples.seen_before(i)
        assert widened.history[i, : len(seen)].tolist() == seen.tolist()
        assert not widened.history[i, len(seen) :].any()
    np.testing.assert_array_equal(widened.target, examples.target)


def test_a_tight_memory_budget_stops_before_fitting(tmp_path):
    with pytest.raises(EaseTooLarge, match="EASE skipped: 40 items"):
        train_ease_baseline(cluster_config(), str(tmp_path), cluster_world(), memory_budget_bytes=1000)
    assert not os.path.exists(tmp_path / "metrics.json")


def test_rejects_a_non_square_matrix_and_a_non_positive_l2():
    with pytest.raises(ValueError, match="square"):
        EaseBaseline(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="must be positive"):
        item_weights_from_gram(np.eye(2), 0.0)
