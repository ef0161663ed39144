"""run_text_query_benchmark: every scorer on a request file, against relevance from catalog attributes."""

import json

import pytest

from tfrec_llm.cli import main
from tfrec_llm.queries.benchmark import SCORERS, format_text_query_report, run_text_query_benchmark

# Tiny-world titles hold their topic's words ("space galaxy story 3"), attributes are the topic names.
REQUESTS = [
    {"query": "galaxy star", "attributes": ["space"]},
    {"query": "detective murder", "attributes": ["crime"]},
    {"query": "soldier battle", "attributes": ["war"]},
]


@pytest.fixture
def request_file(tmp_path):
    path = tmp_path / "requests.json"
    path.write_text(json.dumps(REQUESTS), encoding="utf-8")
    return str(path)


def test_report_scores_every_scorer_and_exact_words_beat_chance(trained_model_dir, request_file):
    directory, _ = trained_model_dir
    report = run_text_query_benchmark(directory, request_file)
    assert list(report["models"]) == list(SCORERS)
    assert report["num_items"] == 48 and report["models"]["model"]["n"] == 3
    chance = report["models"]["chance"]["chance_precision"]
    assert chance == pytest.approx(0.25)
    # Every item holding a request word is relevant: exact-word search is near perfect here.
    assert report["models"]["tfidf"]["precision@10"] >= 0.9
    assert report["models"]["model"]["precision@10"] > chance
    assert [q["query"] for q in report["queries"]] == [r["query"] for r in REQUESTS]
    table = format_text_query_report(report)
    assert "| tfidf |" in table and "galaxy star" in table and "NOT pretrained" in table


def test_cli_writes_the_report_and_refuses_unknown_attributes(trained_model_dir, request_file, tmp_path, capsys):
    directory, _ = trained_model_dir
    output = tmp_path / "report.json"
    assert main(["bench-queries", "--model-dir", directory, "--queries", request_file, "--output", str(output)]) == 0
    assert set(json.loads(output.read_text())["models"]) == set(SCORERS)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"query": "cowboys", "attributes": ["Western"]}]), encoding="utf-8")
    assert main(["bench-queries", "--model-dir", directory, "--queries", str(bad)]) == 2
    assert "unknown attributes ['Western']" in capsys.readouterr().err


def test_text_path_scorer_is_the_served_scorer_for_a_text_only_model_and_differs_with_ids(
    trained_model_dir, request_file, tmp_path
):
    """A text-only model's items are their text path; with ids, warm items' served vectors add the id part."""
    from tiny_fixtures import make_tiny_config, make_tiny_world

    from tfrec_llm.training.trainer import train

    text_only = str(tmp_path / "text_only")
    train(make_tiny_config(model={"use_item_ids": False}, train={"epochs": 1}), text_only, data=make_tiny_world())
    for directory, same in ((text_only, True), (trained_model_dir[0], False)):
        report = run_text_query_benchmark(directory, request_file)
        served, text_path = report["models"]["model"], report["models"]["model_text_path"]
        assert (served == text_path) is same
    assert text_path["precision@10"] > report["models"]["chance"]["chance_precision"]


def test_fused_scorer_adds_the_standardised_encoder_cosine_with_a_label_blind_weight(trained_model_dir, request_file):
    """model+text_encoder = model + alpha * z(text_encoder), alpha the median row std of the model's scores;
    alpha does not change when the relevance labels do."""
    directory, _ = trained_model_dir
    report = run_text_query_benchmark(directory, request_file)
    relabelled = tmp_requests(request_file, [{**r, "attributes": ["love"]} for r in REQUESTS])
    assert run_text_query_benchmark(directory, relabelled)["fusion_weight"] == report["fusion_weight"] > 0
    fused = report["models"]["model+text_encoder"]
    assert 0.0 <= fused["precision@10"] <= 1.0 and fused["n"] == 3


def tmp_requests(like_path, requests):
    path = like_path.replace(".json", "_relabelled.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(requests, f)
    return path
