"""Tests for the benchmark harness: a real (tiny) run, the ratio table, targets and child processes."""

import json
import os

import numpy as np
import pytest

import tfrec_llm  # noqa: F401  (legacy Keras before TensorFlow)
from tfrec_llm.benchmark.runner import (
    FULL, ID_ONLY, MODEL_NAMES, POPULARITY, TEXT_ONLY, evaluate_targets, model_configs, run_benchmark, run_model)
from tfrec_llm.data.interaction_data import InteractionData, Interactions, ItemCatalog
from tfrec_llm.experiment_config import ExperimentConfig

TOPIC_WORDS = [["space", "galaxy", "star"], ["love", "romance", "heart"],
               ["crime", "detective", "murder"], ["war", "soldier", "battle"]]
NUM_ITEMS = 48
LATE_ITEMS_FROM = 40  # items 40..47 only occur after LATE_TIME: cold-start items of the time cut
LATE_TIME = 950
NUM_USERS = 60
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def cold_start_world(seed: int = 0) -> InteractionData:
    """Users stick to one topic; an item's topic shows only in its title's words."""
    rng = np.random.default_rng(seed)
    topics = np.arange(NUM_ITEMS) % len(TOPIC_WORDS)
    titles = [f"{rng.choice(TOPIC_WORDS[t])} story {i}" for i, t in enumerate(topics)]
    catalog = ItemCatalog([f"i{i}" for i in range(NUM_ITEMS)], {"title": titles},
                          attributes=np.eye(len(TOPIC_WORDS))[topics], attribute_names=["a", "b", "c", "d"])
    users, items, times = [], [], []
    for user in range(NUM_USERS):
        topic = rng.integers(len(TOPIC_WORDS))
        for time in np.sort(rng.integers(0, 1000, rng.integers(3, 14))):
            allowed = (topics == topic) & ((np.arange(NUM_ITEMS) < LATE_ITEMS_FROM) | (time >= LATE_TIME))
            users.append(f"u{user}")
            items.append(f"i{rng.choice(np.flatnonzero(allowed))}")
            times.append(time)
    interactions = Interactions(users, items, times, rng.integers(1, 6, len(users)), None)
    return InteractionData("tiny", interactions, catalog)


def benchmark_config() -> ExperimentConfig:
    return ExperimentConfig.from_dict({
        "text": {"sequence_length": 8, "fallback_num_layers": 1, "fallback_hidden_dim": 16,
                 "fallback_intermediate_dim": 32},
        "model": {"embedding_dim": 8, "lstm_units": 8, "ranking_hidden_units": [8]},
        "train": {"epochs": 1, "batch_size": 64, "verbose": 0},
    })


@pytest.fixture(scope="module")
def benchmark(tmp_path_factory):
    output_dir = str(tmp_path_factory.mktemp("benchmark"))
    return run_benchmark(benchmark_config(), output_dir, data=cold_start_world(), separate_processes=False)


def _read_report(benchmark):
    with open(benchmark["report_json"], encoding="utf-8") as f:
        return json.load(f)


def test_writes_reports_plots_and_every_model(benchmark):
    report = _read_report(benchmark)
    assert list(report["models"]) == list(MODEL_NAMES)
    assert list(report["timings"]) == list(MODEL_NAMES)
    for name in MODEL_NAMES:
        assert os.path.exists(os.path.join(benchmark["model_dirs"][name], "metrics.json"))
        assert report["models"][name]["overall"]["n"] == report["models"][FULL]["overall"]["n"] > 0
        assert report["timings"][name]["process_seconds"] > 0
        assert report["timings"][name]["peak_rss_mb"] is None  # in-process run: not measured
    assert len(report["models"][FULL]["training"]["loss"]) == 1
    assert report["models"][POPULARITY]["training"]["loss"] == []
    assert set(report["targets"]) == {"cold_start_items", "tail_and_head", "sparse_users", "gru4rec_recall@10"}
    assert report["models"][FULL]["strata"]["cold_items"]["n"] > 0
    assert set(benchmark["plots"]) == {"popularity_buckets", "user_strata", "loss_curves"}
    for path in benchmark["plots"].values():
        with open(path, "rb") as f:
            assert f.read(8) == PNG_SIGNATURE
    with open(benchmark["report_md"], encoding="utf-8") as f:
        assert f.read() == benchmark["markdown"]


def test_baselines_differ_only_in_their_towers(benchmark):
    report = _read_report(benchmark)
    for name in (ID_ONLY, TEXT_ONLY, FULL):
        with open(os.path.join(benchmark["model_dirs"][name], "config.json"), encoding="utf-8") as f:
            saved = json.load(f)
        assert saved["train"] == report["config"]["train"] and saved["data"] == report["config"]["data"]
        assert (saved["model"]["use_text"], saved["model"]["use_item_ids"]) == {
            ID_ONLY: (False, True), TEXT_ONLY: (True, False), FULL: (True, True)}[name]


def _markdown_table(markdown: str, first_header_cell: str):
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header_cell} |"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows[0], rows[2:]


def test_ratio_columns_match_the_numbers_in_report_json(benchmark):
    report = _read_report(benchmark)
    header, rows = _markdown_table(benchmark["markdown"], "stratum")
    assert len(rows) == 1 + len(report["models"][FULL]["strata"])
    checked = 0
    for row in rows:
        cells = dict(zip(header, row))
        for model in (POPULARITY, TEXT_ONLY, FULL):
            for metric in ("recall@10", "recall@50"):
                summary = (report["models"][model]["overall"] if row[0] == "overall"
                           else report["models"][model]["strata"][row[0]])
                base = (report["models"][ID_ONLY]["overall"] if row[0] == "overall"
                        else report["models"][ID_ONLY]["strata"][row[0]])
                cell = cells[f"{model}/{ID_ONLY} {metric}"]
                assert cells[f"{model} {metric}"] == ("–" if summary[metric] is None else f"{summary[metric]:.4f}")
                if summary[metric] is None or not base[metric]:
                    assert cell == "–"
                else:
                    assert cell == f"{summary[metric] / base[metric]:.2f}"
                    checked += 1
    assert checked > 0
    for stratum in ("head", "tail", "cold_items", "sparse_users", "history_cut_1", "history_cut_5"):
        assert stratum in [row[0] for row in rows]


def test_factorized_top_k_table_lists_every_model(benchmark):
    report = _read_report(benchmark)
    header, rows = _markdown_table(benchmark["markdown"], "model")
    assert header == ["model", "top_10_accuracy", "top_50_accuracy", "top_100_accuracy"]
    assert [row[0] for row in rows] == list(MODEL_NAMES)
    full_row = dict(zip(header, rows[-1]))
    assert full_row["top_10_accuracy"] == f"{report['models'][FULL]['factorized_top_k']['top_10_accuracy']:.4f}"
    assert full_row["top_100_accuracy"] == "–"  # 48 items: no top-100
    assert report["factorized_top_k"]["comparable_with_published"] is False
    assert "NOT comparable" in benchmark["markdown"]


def _report(overall_r10=0.1, strata=None):
    return {"overall": {"recall@10": overall_r10, "recall@50": 0.3, "n": 100}, "strata": strata or {}}


def _s(r10, r50, n=10):
    return {"recall@10": r10, "recall@50": r50, "n": n}


def hand_reports(full_sparse_n=10):
    full = _report(0.12, {"cold_items": _s(0.1, 0.25), "warm_items": _s(0.2, 0.30), "tail": _s(0.1, 0.40),
                          "head": _s(0.2, 0.57), "sparse_users": _s(0.15, 0.3, full_sparse_n),
                          "history_cut_5": _s(0.09, 0.2)})
    id_only = _report(0.1, {"cold_items": _s(0.0, 0.0), "warm_items": _s(0.2, 0.3), "tail": _s(0.1, 0.25),
                            "head": _s(0.2, 0.60), "sparse_users": _s(0.12, 0.3, full_sparse_n),
                            "history_cut_5": _s(0.05, 0.2)})
    return {POPULARITY: _report(), ID_ONLY: id_only, TEXT_ONLY: _report(), FULL: full}


def test_targets_pass_and_miss_with_margins():
    targets = evaluate_targets(hand_reports(), "tiny", "time_cut")
    cold = targets["cold_start_items"]
    # 0.25 >= 0.8 * 0.30 = 0.24: passes by 0.01.
    assert cold["passed"] is True
    assert cold["checks"][0]["required"] == pytest.approx(0.24)
    assert cold["checks"][0]["margin"] == pytest.approx(0.01)
    tail, head = targets["tail_and_head"]["checks"]
    # tail 0.40 < 2 * 0.25 = 0.50: missed by 0.10; head 0.57 >= 0.95 * 0.60 = 0.57: kept.
    assert tail["passed"] is False and tail["margin"] == pytest.approx(-0.10)
    assert head["passed"] is True and head["required"] == pytest.approx(0.57)
    assert targets["tail_and_head"]["passed"] is False
    sparse = targets["sparse_users"]
    # 0.15 < 1.5 * 0.12 = 0.18.
    assert sparse["checks"][0]["stratum"] == "sparse_users" and sparse["passed"] is False
    assert sparse["checks"][0]["margin"] == pytest.approx(-0.03)
    gru = targets["gru4rec_recall@10"]
    assert gru["passed"] is True and gru["checks"][0]["margin"] == pytest.approx(0.01)
    assert gru["comparable"] is False


def test_sparse_target_falls_back_to_history_cut_5_and_gru4rec_protocol():
    targets = evaluate_targets(hand_reports(full_sparse_n=0), "ml-100k", "leave_last_out")
    sparse = targets["sparse_users"]["checks"][0]
    # 0.09 >= 1.5 * 0.05 = 0.075.
    assert sparse["stratum"] == "history_cut_5" and sparse["passed"] is True
    assert sparse["required"] == pytest.approx(0.075)
    assert targets["gru4rec_recall@10"]["comparable"] is True


def test_target_not_measurable_without_cold_items():
    reports = hand_reports()
    reports[FULL]["strata"]["cold_items"] = {"recall@10": None, "recall@50": None, "n": 0}
    cold = evaluate_targets(reports, "tiny", "time_cut")["cold_start_items"]
    assert cold["passed"] is None and cold["checks"][0]["margin"] is None


def test_model_configs_switch_only_the_towers():
    config = benchmark_config()
    configs = model_configs(config)
    assert list(configs) == list(MODEL_NAMES)
    assert configs[FULL] == config
    assert configs[ID_ONLY].model.use_text is False and configs[TEXT_ONLY].model.use_item_ids is False
    assert configs[TEXT_ONLY].train == configs[ID_ONLY].train == config.train


def test_child_process_measures_memory_and_matches_in_process(tmp_path):
    config, data = benchmark_config(), cold_start_world()
    child_metrics, cost = run_model(POPULARITY, config, data, str(tmp_path / "child"), separate_process=True)
    here_metrics, _ = run_model(POPULARITY, config, data, str(tmp_path / "here"), separate_process=False)
    assert child_metrics["overall"] == here_metrics["overall"]
    assert 0 < cost["rss_before_run_mb"] <= cost["peak_rss_mb"]
    assert cost["memory_source"] in ("VmHWM", "ru_maxrss")
    assert 0 < cost["wall_seconds"] < cost["process_seconds"]


def test_unknown_model_name():
    with pytest.raises(ValueError, match="Unknown benchmark model 'gru'"):
        run_model("gru", benchmark_config(), cold_start_world(), "/nonexistent")
