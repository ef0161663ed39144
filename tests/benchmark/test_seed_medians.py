"""Tests for the medians over seeds: per-metric medians, targets judged on them, same-protocol checks, the CLI."""

import json
import os

import numpy as np
import pytest

import tfrec_llm  # noqa: F401  (legacy Keras before TensorFlow)
from tfrec_llm import cli, cli_benchmarks
from tfrec_llm.benchmark import runner
from tfrec_llm.benchmark.runner import REPORT_JSON_FILE
from tfrec_llm.benchmark.targets import evaluate_targets
from tfrec_llm.evaluation.example_ranks import RANKS_FILE, ExampleRanks
from tfrec_llm.benchmark.seed_medians import MEDIANS_MD_FILE, seed_medians_report, write_seed_medians

# (full, id_only) Recall@10 per seed: seed 0 alone passes 1.1 x id_only, the medians (0.20 vs 0.19) do not.
FULL_RECALLS = (0.25, 0.20, 0.18)
ID_ONLY_RECALLS = (0.19, 0.19, 0.20)


def _metrics(recall_at_10, tail_recall_at_50=0.1):
    overall = {
        "recall@10": recall_at_10,
        "recall@50": 2 * recall_at_10,
        "ndcg@10": recall_at_10 / 2,
        "mrr": 0.1,
        "n": 9,
    }
    strata = {
        "tail": {"recall@50": tail_recall_at_50, "n": 3},
        "head": {"recall@50": 0.5, "n": 6},
        "cold_items": {"recall@50": 0.1, "n": 1},
        "warm_items": {"recall@50": 0.5, "n": 8},
        "sparse_users": {"recall@10": None, "n": 0},
    }
    cuts = {cut: {"recall@10": recall_at_10 * 0.8} for cut in ("last_1", "last_3")}
    return {"overall": overall, "strata": strata, "history_cuts": cuts, "training": {"epochs_run": 7}}


def _report(seed, full_recall, id_only_recall, config_extra=None):
    config = {"data": {"source": "ml-100k"}, "train": {"seed": seed, "epochs": 50, **(config_extra or {})}}
    return {
        "data": {"name": "ml-100k", "split": "leave_last_out", "interactions": 99, "items": 9},
        "config": config,
        "models": {
            "popularity": _metrics(0.08),
            "ease": _metrics(0.15),
            "id_only": _metrics(id_only_recall, tail_recall_at_50=0.2 + seed / 10),
            "full": _metrics(full_recall),
        },
    }


def _reports():
    return [_report(seed, f, i) for seed, (f, i) in enumerate(zip(FULL_RECALLS, ID_ONLY_RECALLS))]


def test_medians_per_metric_and_stratum_and_each_seeds_values():
    report = seed_medians_report(_reports(), ["s0", "s1", "s2"])
    full = report["models"]["full"]
    assert full["overall"]["recall@10"] == pytest.approx(0.20)
    assert full["overall"]["ndcg@10"] == pytest.approx(0.10)
    assert full["history_cuts"]["last_1"]["recall@10"] == pytest.approx(0.16)
    assert report["models"]["id_only"]["strata"]["tail"]["recall@50"] == pytest.approx(0.3)  # 0.2 / 0.3 / 0.4
    assert report["models"]["ease"]["overall"]["recall@10"] == pytest.approx(0.15)
    assert report["per_seed"]["full"]["recall@10"] == list(FULL_RECALLS)
    assert report["per_seed"]["full"]["epochs"] == [7, 7, 7]
    assert report["seeds"] == [0, 1, 2]


def test_targets_are_judged_on_the_medians_not_on_one_seed():
    check = seed_medians_report(_reports(), ["s0", "s1", "s2"])["targets"]["beats_peers"]["checks"][0]
    assert check["value"] == pytest.approx(0.20) and check["reference_value"] == pytest.approx(0.19)
    assert check["passed"] is False and check["margin"] == pytest.approx(0.20 - 1.1 * 0.19)
    seed_0_alone = evaluate_targets(_reports()[0]["models"], "ml-100k", "leave_last_out")
    assert seed_0_alone["beats_peers"]["checks"][0]["passed"] is True


def test_a_run_without_history_cuts_keeps_the_places_every_run_has():
    """Reports written before history cuts existed hold no "history_cuts": the medians skip them, not crash."""
    reports = _reports()
    del reports[1]["models"]["full"]["history_cuts"]
    full = seed_medians_report(reports, ["s0", "s1", "s2"])["models"]["full"]
    assert full["history_cuts"] == {} and full["strata"]["tail"]["recall@50"] == pytest.approx(0.1)


def test_runs_of_another_protocol_or_the_same_seed_are_refused():
    reports = _reports()
    with pytest.raises(ValueError, match="s1: config differs from s0's beyond train.seed: train.epochs"):
        seed_medians_report([reports[0], _report(1, 0.2, 0.2, {"epochs": 10})], ["s0", "s1"])
    other_split = _report(1, 0.2, 0.2)
    other_split["data"]["split"] = "time_cut"
    with pytest.raises(ValueError, match="other data or split"):
        seed_medians_report([reports[0], other_split], ["s0", "s1"])
    with pytest.raises(ValueError, match="must differ in train.seed"):
        seed_medians_report([reports[0], _report(0, 0.2, 0.2)], ["s0", "again"])
    with pytest.raises(ValueError, match="at least two runs"):
        seed_medians_report(reports[:1], ["s0"])
    wider_peers = {**_report(1, 0.2, 0.2), "peer_config": {"model": {"embedding_dim": 128}}}
    with pytest.raises(ValueError, match="beyond train.seed: peer_config.model"):
        seed_medians_report([reports[0], wider_peers], ["s0", "s1"])


def _write_runs(tmp_path, reports):
    dirs = []
    for seed, report in enumerate(reports):
        run_dir = tmp_path / f"seed{seed}"
        run_dir.mkdir()
        (run_dir / REPORT_JSON_FILE).write_text(json.dumps(report), encoding="utf-8")
        dirs.append(str(run_dir))
    return dirs


def test_cli_writes_the_medians_report(tmp_path, capsys):
    dirs = _write_runs(tmp_path, _reports())
    assert cli.main(["benchmark-medians", *dirs, "--output-dir", str(tmp_path / "medians")]) == 0
    markdown = (tmp_path / "medians" / MEDIANS_MD_FILE).read_text(encoding="utf-8")
    assert "| full | 0.2000 |" in markdown and "0.2500/0.2000/0.1800" in markdown
    assert "| beats_peers | MISS |" in markdown
    assert markdown in capsys.readouterr().out


def test_cli_names_the_run_without_a_report(tmp_path, capsys):
    dirs = _write_runs(tmp_path, _reports()[:1])
    assert cli.main(["benchmark-medians", dirs[0], str(tmp_path / "missing"), "--output-dir", str(tmp_path / "m")]) == 2
    assert os.path.join(str(tmp_path / "missing"), REPORT_JSON_FILE) in capsys.readouterr().err


def test_benchmark_seed_and_patience_flags_reach_the_train_config(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(runner, "run_benchmark", lambda config, out, **_: seen.append(config.train) or {"markdown": ""})
    assert cli.main(["benchmark", "--data", "builtin", "--output-dir", str(tmp_path), "--seed", "2"]) == 0
    assert seen[-1].seed == 2 and seen[-1].early_stopping_patience == cli_benchmarks.BENCHMARK_PATIENCE == 10
    assert (
        cli.main(["benchmark", "--data", "builtin", "--output-dir", str(tmp_path), "--early-stopping-patience", "3"])
        == 0
    )
    assert seen[-1].seed == 0 and seen[-1].early_stopping_patience == 3


def test_benchmark_peer_config_file_reaches_the_run_and_a_broken_one_is_named(tmp_path, monkeypatch, capsys):
    seen = []
    monkeypatch.setattr(
        runner, "run_benchmark", lambda config, out, peer_config: seen.append(peer_config) or {"markdown": ""}
    )
    peers = tmp_path / "peers.json"
    peers.write_text('{"model": {"embedding_dim": 128, "lstm_units": 128}}', encoding="utf-8")
    assert cli.main(["benchmark", "--data", "builtin", "--output-dir", str(tmp_path), "--peer-config", str(peers)]) == 0
    assert seen == [{"model": {"embedding_dim": 128, "lstm_units": 128}}]
    peers.write_text('{"model":\n {"embedding_dim": 128,}}', encoding="utf-8")
    assert cli.main(["benchmark", "--data", "builtin", "--output-dir", str(tmp_path), "--peer-config", str(peers)]) == 2
    assert f"{peers}: invalid JSON at line 2" in capsys.readouterr().err and len(seen) == 1


def test_write_seed_medians_returns_the_paths(tmp_path):
    paths = write_seed_medians(_write_runs(tmp_path, _reports()), str(tmp_path / "out"))
    with open(paths["report_json"], encoding="utf-8") as f:
        assert json.load(f)["runs"] == [str(tmp_path / f"seed{seed}") for seed in range(3)]


def test_the_medians_targets_get_intervals_from_the_runs_ranks_or_say_why_not(tmp_path):
    dirs = _write_runs(tmp_path, _reports())
    without = write_seed_medians(dirs, str(tmp_path / "without"))["markdown"]
    assert "no margin interval where no per-example ranks (test_ranks.npz)" in without
    rng = np.random.default_rng(0)
    for run_dir in dirs:
        for name in ("popularity", "ease", "id_only", "full"):
            os.makedirs(os.path.join(run_dir, name))
            ranks = {"overall": rng.integers(1, 60, size=30)}
            ExampleRanks(np.arange(30), ranks, {}).save(os.path.join(run_dir, name, RANKS_FILE))
    report = json.loads(open(write_seed_medians(dirs, str(tmp_path / "with"))["report_json"], encoding="utf-8").read())
    recall = report["targets"]["beats_peers"]["checks"][0]
    assert len(recall["margin_ci95"]) == 2 and recall["pass_share"] is not None
    tail = report["targets"]["tail_and_head"]["checks"][0]  # the fake ranks hold no strata
    assert tail["margin_ci95"] is None and "no per-example ranks" in tail["interval_note"]
