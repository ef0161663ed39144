"""Tests for comparing two models example by example (`tfrec-llm compare`)."""

import json

import numpy as np
import pytest

from tfrec_llm import cli
from tfrec_llm.evaluation.example_ranks import RANKS_FILE, ExampleRanks
from tfrec_llm.evaluation.model_comparison import compare_models, compare_ranks

NUM_USERS = 300


def _ranks(hits, cut_hits=None, users=None):
    """Ranks 1 (a hit at every cut-off) or 500 (none) from bool arrays."""
    tail = np.arange(NUM_USERS) % 3 == 0
    return ExampleRanks(
        user_ids=users if users is not None else np.arange(NUM_USERS).astype(str),
        ranks={
            "overall": np.where(hits, 1, 500),
            "history_cuts/last_1": np.where(hits if cut_hits is None else cut_hits, 1, 500),
        },
        strata={"tail": tail, "head": ~tail, "cold_items": np.zeros(NUM_USERS, bool)},
    )


def test_the_gap_is_second_minus_first_with_its_interval_at_every_place_both_hold():
    rng = np.random.default_rng(0)
    weaker = rng.random(NUM_USERS) < 0.2
    stronger = weaker | (np.arange(NUM_USERS) < 30)  # weaker's hits and 30 more users
    rows = compare_ranks(_ranks(weaker), _ranks(stronger, cut_hits=weaker), num_resamples=500)
    assert [(row["place"], row["metric"]) for row in rows] == [
        (place, metric)
        for place in ("overall", "history_cuts/last_1", "tail", "head")  # the empty cold_items stratum left out
        for metric in ("recall@10", "ndcg@10")
    ]
    overall = rows[0]
    assert overall["gap"] == pytest.approx(stronger.mean() - weaker.mean())
    low, high = overall["gap_ci95"]
    assert 0.0 < low <= overall["gap"] <= high and overall["second_ahead"] == 1.0
    cut = rows[2]
    assert cut["gap"] == 0.0 and cut["gap_ci95"] == [0.0, 0.0] and cut["second_ahead"] == 0.0  # same cut ranks
    tail = rows[4]
    assert tail["n"] == (np.arange(NUM_USERS) % 3 == 0).sum()


def test_other_test_examples_or_an_unknown_place_are_refused_by_name():
    hits = np.arange(NUM_USERS) % 2 == 0
    shuffled = _ranks(hits, users=np.arange(NUM_USERS)[::-1].astype(str))
    with pytest.raises(ValueError, match="different test examples"):
        compare_ranks(_ranks(hits), shuffled)
    with pytest.raises(ValueError, match="'sparse_users'.*they hold"):
        compare_ranks(_ranks(hits), _ranks(hits), places=["overall", "sparse_users"])


def test_cli_compares_two_model_directories(tmp_path, capsys):
    hits = np.arange(NUM_USERS) % 4 == 0
    for name, model_hits in (("a", hits), ("b", hits | (np.arange(NUM_USERS) % 4 == 1))):
        (tmp_path / name).mkdir()
        _ranks(model_hits).save(str(tmp_path / name / RANKS_FILE))
    output = tmp_path / "rows.json"
    argv = ["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--places", "overall", "--output", str(output)]
    assert cli.main([*argv, "--metrics", "recall@10,mrr"]) == 0
    printed = capsys.readouterr().out
    assert "| overall | recall@10 | 300 | 0.2500 | 0.5000 | +0.2500 | [" in printed
    rows = json.loads(output.read_text(encoding="utf-8"))
    assert rows == compare_models(str(tmp_path / "a"), str(tmp_path / "b"), ["recall@10", "mrr"], ["overall"])
    # a ranks file (`evaluate --ranks-output`) stands for its directory
    file_rows = compare_models(str(tmp_path / "a" / RANKS_FILE), str(tmp_path / "b"), ["recall@10", "mrr"], ["overall"])
    assert file_rows == rows
    (tmp_path / "empty").mkdir()
    assert cli.main(["compare", str(tmp_path / "a"), str(tmp_path / "empty")]) == 2
    assert "no per-example ranks" in capsys.readouterr().err
    assert cli.main(["compare", str(tmp_path / "a"), str(tmp_path / "missing.npz")]) == 2
    assert "missing.npz: no such model directory or ranks file" in capsys.readouterr().err
    (tmp_path / "metrics.json").write_text("{}", encoding="utf-8")
    assert cli.main(["compare", str(tmp_path / "metrics.json"), str(tmp_path / "b")]) == 2
    assert "metrics.json: not a per-example ranks file" in capsys.readouterr().err
