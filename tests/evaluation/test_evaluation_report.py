"""Tests for the Markdown comparison table and JSON serialisation."""

import numpy as np
import pytest

from tfrec_llm.evaluation.evaluation_report import format_report_markdown, report_to_json
from tfrec_llm.evaluation.full_catalog_evaluator import FullCatalogEvaluator

POPULARITY_REPORT = {
    "overall": {"recall@10": 0.1, "recall@50": 0.2, "n": 100},
    "strata": {
        "head": {"recall@10": 0.2, "recall@50": 0.4, "n": 60},
        "cold_items": {"recall@10": 0.0, "recall@50": 0.0, "n": 5},
        "heavy_users": {"recall@10": None, "recall@50": None, "n": 0},
    },
}
TEXT_REPORT = {
    "overall": {"recall@10": 0.15, "recall@50": 0.3, "n": 100},
    "strata": {
        "head": {"recall@10": 0.1, "recall@50": 0.5, "n": 60},
        "cold_items": {"recall@10": 0.2, "recall@50": 0.4, "n": 5},
        "heavy_users": {"recall@10": None, "recall@50": None, "n": 0},
        "scenario:web": {"recall@10": 0.3, "recall@50": 0.6, "n": 40},
    },
}


def test_table_with_ratios_to_the_baseline():
    table = format_report_markdown({"pop": POPULARITY_REPORT, "text": TEXT_REPORT}, "pop")
    assert table == (
        "| stratum | n | pop recall@10 | pop recall@50 | text recall@10 | text recall@50 "
        "| text/pop recall@10 | text/pop recall@50 |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- |\n"
        "| overall | 100 | 0.1000 | 0.2000 | 0.1500 | 0.3000 | 1.50 | 1.50 |\n"
        "| head | 60 | 0.2000 | 0.4000 | 0.1000 | 0.5000 | 0.50 | 1.25 |\n"
        "| cold_items | 5 | 0.0000 | 0.0000 | 0.2000 | 0.4000 | – | – |\n"
        "| heavy_users | 0 | – | – | – | – | – | – |\n"
        "| scenario:web | – / 40 | – | – | 0.3000 | 0.6000 | – | – |\n"
    )


def test_table_without_baseline_has_no_ratio_columns():
    table = format_report_markdown({"text": TEXT_REPORT}, metrics=("recall@50",))
    lines = table.splitlines()
    assert lines[0] == "| stratum | n | text recall@50 |"
    assert lines[2] == "| overall | 100 | 0.3000 |"
    assert len(lines) == 2 + 5


def test_table_rejects_unknown_baseline():
    with pytest.raises(ValueError, match="baseline 'random' is not among the reports"):
        format_report_markdown({"text": TEXT_REPORT}, "random")
    with pytest.raises(ValueError, match="needs at least one report"):
        format_report_markdown({})


def test_table_from_evaluator_reports():
    popularity = np.array([6, 3, 1, 0])
    evaluator = FullCatalogEvaluator(popularity, popularity == 0, ks=(1, 2), list_k=2, num_popularity_buckets=2)
    arguments = dict(
        target_items=np.array([1, 3]),
        exclude_items=[np.array([0]), np.array([], dtype=int)],
        user_activity=np.array([1, 50]),
    )
    # popularity baseline: target 1 ranks 1 (item 0 excluded), cold target 3 ranks 4
    baseline = evaluator.evaluate(np.ones((2, 1)), popularity[:, None].astype(float), **arguments)
    # a model preferring item 3: target 1 ranks 2, target 3 ranks 1
    model = evaluator.evaluate(np.ones((2, 1)), np.array([[0.0], [1.0], [0.5], [2.0]]), **arguments)
    table = format_report_markdown({"popularity": baseline, "model": model}, "popularity", metrics=("recall@1",))
    lines = table.splitlines()
    assert lines[0] == "| stratum | n | popularity recall@1 | model recall@1 | model/popularity recall@1 |"
    assert lines[2] == "| overall | 2 | 0.5000 | 0.5000 | 1.00 |"
    assert "| head | 1 | 1.0000 | 0.0000 | 0.00 |" in lines
    assert "| cold_items | 1 | 0.0000 | 1.0000 | – |" in lines
    assert "| medium_users | 0 | – | – | – |" in lines


def test_report_to_json_refuses_nan():
    with pytest.raises(ValueError, match="Out of range float values"):
        report_to_json({"overall": {"recall@10": float("nan")}})
