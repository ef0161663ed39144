"""The multi-scenario comparison: shared, scenario-blind and per-scenario models on the same test events."""

import dataclasses
import json

import numpy as np
import pytest

from tfrec_llm.benchmark.scenario_comparison import (
    BLIND,
    METHODS,
    PER_SCENARIO,
    REPORT_FILE,
    SHARED,
    SHARED_STAR,
    markdown,
    run_scenario_comparison,
    targets,
    event_pairs,
)
from tfrec_llm.data.scenario_splits import scenario_split
from tfrec_llm.training.experiment_data import prepare_experiment_data
from tiny_fixtures import make_tiny_config, make_tiny_world


def _scores(shared, per_scenario):
    return {
        SHARED: {name: {"recall@10": value} for name, value in shared.items()},
        PER_SCENARIO: {name: {"recall@10": value} for name, value in per_scenario.items()},
    }


def test_targets_hold_the_shared_model_to_the_largest_and_the_smallest_scenario():
    events = {"books": 300, "films": 500}
    tie_on_large, large = targets(_scores({"books": 0.2, "films": 0.3}, {"books": 0.2, "films": 0.3}), events)[:2]
    assert "largest scenario (films)" in tie_on_large["target"] and tie_on_large["passed"]  # no worse: a tie passes
    assert "smallest scenario (books)" in large["target"] and not large["passed"]  # better: a tie misses
    worse_large, better_small = targets(_scores({"books": 0.25, "films": 0.29}, {"books": 0.2, "films": 0.3}), events)
    assert not worse_large["passed"] and worse_large["margin"] == pytest.approx(-0.01)
    assert better_small["passed"] and better_small["margin"] == pytest.approx(0.05)


def test_targets_also_hold_the_star_heads_model_when_it_was_trained():
    events = {"books": 300, "films": 500}
    scores = _scores({"books": 0.25, "films": 0.3}, {"books": 0.2, "films": 0.3})
    assert [t["target"].split()[0] for t in targets(scores, events)] == [SHARED, SHARED]
    scores[SHARED_STAR] = {"books": {"recall@10": 0.19}, "films": {"recall@10": 0.31}}
    star_large, star_small = targets(scores, events)[2:]
    assert star_large["target"].startswith("shared_star >=") and star_large["passed"]
    assert star_small["target"].startswith("shared_star >") and not star_small["passed"]
    assert star_small["margin"] == pytest.approx(-0.01)


def test_markdown_gives_each_target_its_verdict_and_signed_margin():
    events = {"books": 300, "films": 500}
    scores = _scores({"books": 0.25, "films": 0.29}, {"books": 0.2, "films": 0.3})
    for method in scores.values():
        for name in method:
            method[name].update({"ndcg@10": 0.1, "n": 7})
    table = markdown({"scores": scores, "train_events": events, "seconds": {}, "targets": targets(scores, events)})
    assert "| books | 300 | 7 | 0.2500 (0.1000) | 0.2000 (0.1000) |" in table
    assert ": 0.2900 vs 0.3000: **MISS** (margin -0.0100)" in table
    assert ": 0.2500 vs 0.2000: **pass** (margin +0.0500)" in table


def _two_scenario_world():
    """The tiny world with its topics split into two scenarios: 'space' and 'love' items are 'big'."""
    data = make_tiny_world()
    topic = np.asarray([int(i[1:]) % 4 for i in data.interactions.item_ids])
    scenarios = np.where(topic < 2, "big", "small")
    return dataclasses.replace(data, interactions=dataclasses.replace(data.interactions, scenarios=scenarios))


def test_a_given_split_replaces_splitting_the_data():
    data, config = _two_scenario_world(), make_tiny_config()
    whole = prepare_experiment_data(config, data)
    small = prepare_experiment_data(config, data, split=scenario_split(whole.split, "small"))
    assert small.context.scenarios.values.tolist() == ["small"]
    assert len(small.train_examples) == (whole.split.train.scenarios == "small").sum()
    names = np.concatenate([["unknown"], whole.context.scenarios.values])[whole.test_examples.scenario]
    assert 0 < (names == "small").sum() < len(names)
    assert event_pairs(small.test_examples) == event_pairs(whole.test_examples.subset(np.flatnonzero(names == "small")))


@pytest.mark.slow  # four tiny models trained and scored: about a minute here
def test_comparison_scores_every_model_on_each_scenarios_same_test_events(tmp_path):
    config = make_tiny_config(train={"epochs": 1})
    report = run_scenario_comparison(config, str(tmp_path), data=_two_scenario_world(), star_heads=True)
    assert sorted(report["train_events"]) == ["big", "small"]
    for name in ("big", "small"):
        counts = {method: report["scores"][method][name]["n"] for method in METHODS + (SHARED_STAR,)}
        assert len(set(counts.values())) == 1 and counts[SHARED] > 0, counts
        for method in METHODS + (SHARED_STAR,):
            assert 0.0 <= report["scores"][method][name]["recall@10"] <= 1.0
    # the per-scenario models saw only their scenario's events; the others all of them
    assert (
        json.load(open(tmp_path / "per_scenario_small" / "metrics.json"))["training"]["train_examples"]
        == (report["train_events"]["small"])
    )
    shared_examples = json.load(open(tmp_path / SHARED / "metrics.json"))["training"]["train_examples"]
    assert shared_examples == sum(report["train_events"].values())
    assert json.load(open(tmp_path / BLIND / "metrics.json"))["training"]["train_examples"] == shared_examples
    star = json.load(open(tmp_path / SHARED_STAR / "config.json"))
    assert (
        star["model"]["scenario_heads"] == "star"
        and json.load(open(tmp_path / SHARED / "config.json"))["model"]["scenario_heads"] == "none"
    )
    assert len([t for t in report["targets"] if t["target"].startswith("shared_star")]) == 2
    assert json.load(open(tmp_path / REPORT_FILE))["targets"] == report["targets"]
    assert "| small |" in report["markdown"] and markdown(report) == report["markdown"]
