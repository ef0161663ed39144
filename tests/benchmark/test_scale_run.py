"""The end-to-end scale run: every phase runs, the model directory loads, the report counts."""

import os

import pytest

import tfrec_llm  # noqa: F401

from tfrec_llm.benchmark.scale_run import run_end_to_end
from tfrec_llm.training.trained_model import TrainedModel


@pytest.mark.slow
def test_a_small_world_runs_every_phase_and_writes_a_loadable_model(tmp_path):
    report = run_end_to_end("5000", str(tmp_path), batch_size=16, eval_max_examples=50, export=False, log=lambda _: 0)
    assert set(report["phases"]) == {
        "world_seconds",
        "data_and_text_cache_seconds",
        "train_seconds",
        "save_seconds",
        "evaluate_seconds",
    }
    assert (report["items"], report["users"], report["interactions"]) == (500, 200, 5000)
    assert report["batch_rows"] == 16 and report["epoch_completed"]
    assert report["steps_run"] == report["steps_per_epoch"]
    assert report["evaluated_examples"] == 50 < report["test_examples"]  # a counted sample
    assert 0 <= report["input_wait_share"] < 1 and report["peak_rss_gib"] > 0
    assert os.path.exists(tmp_path / "scale_run.json") and os.path.exists(tmp_path / "model" / "text_cache.npz")
    loaded = TrainedModel.load(str(tmp_path / "model"))
    assert len(loaded.assets.item_ids) == report["items"]


@pytest.mark.slow
def test_max_steps_stops_training_early_and_says_so(tmp_path):
    report = run_end_to_end(
        "5000", str(tmp_path), batch_size=8, max_steps=2, eval_max_examples=20, export=False, log=lambda _: 0
    )
    assert report["steps_run"] == 2 + 3 and not report["epoch_completed"]
    assert report["epoch_seconds_estimate"] > 0
