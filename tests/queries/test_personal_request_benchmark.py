"""The personal-request benchmark on the tiny topic model: precision and personal share by weight."""

import json

import pytest

from serving_fixtures import TOPIC_WORDS, topic_world
from tfrec_llm.queries.personal_request_benchmark import (
    choose_weight,
    format_personal_request_report,
    run_personal_request_benchmark,
)

WEIGHTS = (0.0, 0.5, 1.0)


@pytest.fixture(scope="module")
def report(model_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp("requests") / "topics.json"
    requests = [{"query": " ".join(words), "attributes": [f"t{t}"]} for t, words in enumerate(TOPIC_WORDS)]
    path.write_text(json.dumps(requests))
    return run_personal_request_benchmark(model_dir, str(path), weights=WEIGHTS, data=topic_world(), min_seen_items=4)


def test_curves_cover_both_halves_and_every_weight(report):
    assert set(report["curves"]) == {"validation", "test"} and report["requests"] == len(TOPIC_WORDS)
    assert report["users"]["validation"] > 0 and report["users"]["test"] > 0
    for curve in report["curves"].values():
        assert set(curve) == set(WEIGHTS)
        assert all(0 <= v["precision@10"] <= 1 and 0 <= v["personal@10"] <= 1 for v in curve.values())


def test_history_raises_the_personal_share_in_the_topic_world(report):
    # Each toy user reads one topic: the history alone finds their items far more often than requests do.
    test = report["curves"]["test"]
    assert test[1.0]["personal@10"] > test[0.0]["personal@10"]
    assert test[0.0]["precision@10"] > test[1.0]["precision@10"]  # ...and the request narrows to its topic


def test_choose_weight_keeps_precision_within_10_percent_and_needs_a_rise():
    curve = {
        0.0: {"precision@10": 0.50, "personal@10": 0.10},
        0.3: {"precision@10": 0.46, "personal@10": 0.20},
        0.6: {"precision@10": 0.44, "personal@10": 0.30},
    }
    assert choose_weight(curve) == 0.3
    assert choose_weight({0.0: curve[0.0], 0.3: {"precision@10": 0.5, "personal@10": 0.1}}) == 0.0


def test_report_names_the_chosen_weight_and_targets(report):
    table = format_personal_request_report(report)
    assert "(chosen)" in table and "target precision@10 within 10%" in table
