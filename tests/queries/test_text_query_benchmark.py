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
