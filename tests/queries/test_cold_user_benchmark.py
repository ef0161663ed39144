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


@pytest.fixture(scope="module")
def report(model_dir):
    return run_cold_user_benchmark(model_dir, weights=WEIGHTS, data=topic_world())


def test_every_method_is_scored_on_the_test_users(report):
    expected = {"popularity", "history_1", "history_2", "history_3", "history_all", "profile"}
    expected |= {f"profile+history_{n}" for n in HISTORY_SIZES}
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
    # The endpoints of the blend are the profile alone and the history alone.
    assert report["test_curves"][1][0.0] == pytest.approx(report["rows"]["profile"]["recall@10"])
    assert report["test_curves"][3][1.0] == pytest.approx(report["rows"]["history_3"]["recall@10"])


def test_targets_compare_the_blend_with_popularity_and_one_interaction(report):
    rows = {
        "profile+history_1": {"recall@10": 0.3},
        "popularity": {"recall@10": 0.1},
        "history_1": {"recall@10": 0.3},
    }
    targets = cold_user_targets(rows)
    assert targets["profile+history_1 vs popularity"]["pass"] and not targets["profile+history_1 vs history_1"]["pass"]
    table = format_cold_user_report(report)
    assert "| profile+history_1 |" in table and "target profile+history_1 vs popularity" in table
    assert np.isfinite([m["recall@10"] for m in report["rows"].values()]).all()
