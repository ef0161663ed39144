"""The cold-user benchmark on the tiny topic model: its methods, weights chosen on validation, its table."""

import numpy as np
import pytest

from serving_fixtures import topic_world
from tfrec_llm.queries.cold_user_benchmark import (
    HISTORY_SIZES,
    cold_user_targets,
    format_cold_user_report,
    run_cold_user_benchmark,
)

WEIGHTS = (0.0, 0.5, 1.0)
ALPHAS = (0.0, 0.1, 1.0)
BETAS = (0.0, 0.5, 100.0)


@pytest.fixture(scope="module")
def report(model_dir):
    return run_cold_user_benchmark(
        model_dir, weights=WEIGHTS, data=topic_world(), similarity_weights=ALPHAS, prior_weights=BETAS
    )


def test_every_method_is_scored_on_the_test_users(report):
    expected = {"popularity", "history_0", "history_1", "history_2", "history_3", "history_all", "profile"}
    expected |= {"bert_profile", "bert_profile+popularity"}
    expected |= {f"profile+history_{n}" for n in HISTORY_SIZES} | {f"profile+history_{n}+bert" for n in HISTORY_SIZES}
    expected |= {f"profile+history_{n}+bert+popularity" for n in HISTORY_SIZES}
    assert set(report["rows"]) == expected
    sizes = {metrics["n"] for metrics in report["rows"].values()}
    assert len(sizes) == 1 and sizes.pop() > 0
    assert all(0.0 <= metrics["recall@10"] <= 1.0 for metrics in report["rows"].values())


def test_weights_are_chosen_on_validation_and_reported_on_test(report):
    for n in HISTORY_SIZES:
        curve = report["validation"][n]
        best = max(curve.values())
        assert report["weights"][n] == min(w for w in WEIGHTS if curve[w] == best)
        assert report["rows"][f"profile+history_{n}"]["recall@10"] == report["test_curves"][n][report["weights"][n]]
    # alpha is chosen on validation at the chosen w; alpha = 0 is the plain blend.
    for n in HISTORY_SIZES:
        curve = report["similarity_validation"][n]
        assert report["similarity_weights"][n] == min(a for a in ALPHAS if curve[a] == max(curve.values()))
        assert curve[0.0] == pytest.approx(report["validation"][n][report["weights"][n]])
        if report["similarity_weights"][n] == 0.0:
            assert report["rows"][f"profile+history_{n}+bert"] == report["rows"][f"profile+history_{n}"]
    # The endpoints of the blend are the profile alone and the history alone.
    assert report["test_curves"][1][0.0] == pytest.approx(report["rows"]["profile"]["recall@10"])
    assert report["test_curves"][3][1.0] == pytest.approx(report["rows"]["history_3"]["recall@10"])
    assert report["test_curves"][0][1.0] == pytest.approx(report["rows"]["history_0"]["recall@10"])


def test_the_served_blend_chooses_w_and_beta_together_on_validation(report):
    """For each history size: (w, beta) the best validation Recall@10 of the grid at alpha = 0 (ties: the
    smaller beta), whose curve by beta (the best w at each) is reported."""
    for n in HISTORY_SIZES:
        served, curve = report["served_weights"][n], report["prior_validation"][n]
        assert set(curve) == set(BETAS) and served["w"] in WEIGHTS and served["alpha"] in ALPHAS
        assert served["beta"] == min(b for b in BETAS if curve[b] == max(curve.values()))
        assert curve[0.0] == pytest.approx(max(report["validation"][n].values()))  # beta = 0: the plain w grid


def test_targets_compare_the_blend_with_popularity_and_one_interaction(report):
    rows = {
        "profile+history_1+bert+popularity": {"recall@10": 0.3},
        "popularity": {"recall@10": 0.1},
        "history_1": {"recall@10": 0.3},
    }
    targets = cold_user_targets(rows)
    assert targets["profile+history_1+bert+popularity vs popularity"]["pass"]
    assert not targets["profile+history_1+bert+popularity vs history_1"]["pass"]
    table = format_cold_user_report(report)
    assert "| profile+history_1 | w=" in table and "target profile+history_1+bert+popularity vs popularity" in table
    assert "| profile+history_1+bert+popularity | w=" in table and ", beta=" in table
    assert f"| profile+history_1+bert | w={report['weights'][1]:g}, alpha=" in table
    assert np.isfinite([m["recall@10"] for m in report["rows"].values()]).all()


def test_each_target_says_how_sure_its_gap_is_over_the_test_users(report):
    for name, target in report["targets"].items():
        low, high = target["gap_ci95"]
        assert low <= target["value"] - target["peer"] <= high, name
        assert 0.0 <= target["pass_share"] <= 1.0
    assert "gap 95% interval [" in format_cold_user_report(report)


def test_the_gap_interval_by_hand_a_blend_ahead_on_every_example_wins_every_draw():
    served, users = "profile+history_1+bert+popularity", np.array(["a", "b", "c", "d"])
    rows = {served: {"recall@10": 1.0}, "popularity": {"recall@10": 0.0}, "history_1": {"recall@10": 0.5}}
    ranks = {served: np.array([1, 1, 1, 1]), "popularity": np.array([99] * 4), "history_1": np.array([1, 99, 1, 99])}
    targets = cold_user_targets(rows, ranks, users)
    ahead = targets[f"{served} vs popularity"]
    assert ahead["gap_ci95"] == [1.0, 1.0] and ahead["pass_share"] == 1.0
    tied_or_ahead = targets[f"{served} vs history_1"]  # a draw of only a and c ties: not ahead there
    assert tied_or_ahead["gap_ci95"][0] >= 0.0 and tied_or_ahead["pass_share"] < 1.0


def test_the_bert_profile_alone_ranks_by_the_frozen_encoders_cosine(model_dir):
    """Profiles read by the frozen encoder (distinct texts once, unit rows); with no model part the fused
    vectors rank the catalog by BERT cosine alone."""
    from tfrec_llm.queries.held_out_users import HeldOutUsers  # pylint: disable=import-outside-toplevel
    from tfrec_llm.queries.personal_blend import fused_query_vectors  # pylint: disable=import-outside-toplevel

    users = HeldOutUsers.load(model_dir, data=topic_world())
    features = users.text_features(["galaxy rocket", "galaxy rocket", "love wedding"])
    assert np.allclose(features[0], features[1]) and np.allclose(np.linalg.norm(features, axis=1), 1.0, atol=1e-5)
    items = users.item_text_features
    queries, table = fused_query_vectors(np.zeros((3, 2)), np.zeros((len(items), 2)), features, items, 1.0)
    cosines = features @ (items / np.linalg.norm(items, axis=1, keepdims=True)).T
    assert (np.argsort(-(queries @ table.T), axis=1)[:, :5] == np.argsort(-cosines, axis=1)[:, :5]).all()
