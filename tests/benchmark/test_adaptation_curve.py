"""The adaptation curve's targets, table and fraction baselines."""

import numpy as np
import pytest

from tfrec_llm.benchmark.adaptation_curve import fraction_baselines, markdown, targets
from tfrec_llm.experiment_config import ExperimentConfig
from domain_fixtures import make_new_domain


def _row(fraction, adapted, scratch=None, popularity=0.0):
    row = {"fraction": fraction, "train_users": int(fraction * 100)}
    for method, value in (("adapted", adapted), ("scratch", scratch), ("popularity", popularity)):
        if value is not None:
            row[method] = {"recall@10": value, "ndcg@10": value / 2, "seconds": 1.0}
    return row


def test_targets_compare_zero_shot_with_popularity_at_1pct_and_adapted_with_1_3_x_scratch():
    rows = [_row(0.0, 0.05), _row(0.01, 0.10, 0.07, popularity=0.04), _row(0.1, 0.12, 0.10)]
    zero_shot, one, ten = targets(rows)
    assert zero_shot["passed"] and zero_shot["margin"] == pytest.approx(0.01)
    assert one["passed"] and one["margin"] == pytest.approx(0.10 - 1.3 * 0.07)
    assert not ten["passed"] and ten["margin"] == pytest.approx(0.12 - 1.3 * 0.10)
    table = markdown({"rows": rows, "targets": [zero_shot, one, ten]})
    assert "| 0% | 0 | 0.0500 (0.0250), 1 s | – |" in table
    assert "adapted >= 1.3 x scratch at 10%: 0.1200 vs 0.1000: **MISS** (margin -0.0100)" in table


def test_baselines_are_fitted_on_the_sampled_users_only(trained_model_dir):
    model_dir, _ = trained_model_dir
    config = ExperimentConfig.from_json_file(f"{model_dir}/config.json")
    data = make_new_domain()
    nothing = fraction_baselines(model_dir, config, data, 0.0, seed=0)
    assert "skipped" in nothing["ease"]  # no training user: EASE cannot choose its l2
    assert nothing["popularity"]["overall"]["recall@10"] == 0.0  # every item tied at 0: pessimistic ranks
    everyone = fraction_baselines(model_dir, config, data, 1.0, seed=0)
    assert everyone["popularity"]["overall"]["recall@10"] > 0
    assert np.isfinite(everyone["ease"]["overall"]["recall@10"]) and everyone["ease"]["l2"] > 0
