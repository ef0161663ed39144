"""`tfrec-llm adapt`: flags onto `AdaptConfig` and `adapt()` (stubbed), and its input errors."""

import pytest

from tfrec_llm import cli
from tfrec_llm.experiment_config import AdaptConfig


def test_adapt_flags_reach_the_library_function(tmp_path, monkeypatch, capsys):
    from tfrec_llm.training import domain_adaptation  # pylint: disable=import-outside-toplevel

    calls = []

    def fake_adapt(model_dir, output_dir, data_overrides, adapt_config, text_encoder=None):
        calls.append((model_dir, output_dir, data_overrides, adapt_config, text_encoder))
        training = {"train_only": adapt_config.train_only, "train_users": 9, "epochs_run": 3, "train_seconds": 2.0}
        return {"overall": {"recall@10": 0.1, "n": 5}, "strata": {}, "training": training}

    monkeypatch.setattr(domain_adaptation, "adapt", fake_adapt)
    argv = ["adapt", "--model-dir", "m", "--data", "new", "--output-dir", str(tmp_path)]
    assert cli.main(argv + ["--fraction", "0.01", "--train-only", "projection", "--epochs", "4"]) == 0
    plain_source = {"source": "new", "scenario_sources": {}}  # a plain --data clears a joined model's scenarios
    assert calls[-1] == ("m", str(tmp_path), plain_source, AdaptConfig(0.01, "projection", 4), None)
    assert "trained projection on 9 users, 3 epochs" in capsys.readouterr().out
    assert cli.main(argv) == 0
    assert calls[-1][3] == AdaptConfig()  # library defaults: every user, every part


def test_match_items_by_flag_reaches_the_library_and_its_count_is_printed(tmp_path, monkeypatch, capsys):
    from tfrec_llm.training import domain_adaptation  # pylint: disable=import-outside-toplevel

    calls = []

    def fake_adapt(model_dir, output_dir, data_overrides, adapt_config, text_encoder=None):
        calls.append(adapt_config)
        match = {"field": "title", "matched": 7, "new_items": 9}
        training = {"train_only": "all", "train_users": 0, "epochs_run": 0, "item_match": match}
        return {"overall": {"recall@10": 0.1, "n": 5}, "strata": {}, "training": training}

    monkeypatch.setattr(domain_adaptation, "adapt", fake_adapt)
    argv = ["adapt", "--model-dir", "m", "--data", "new", "--output-dir", str(tmp_path)]
    assert cli.main(argv + ["--match-items-by", "none"]) == 0
    assert calls[-1] == AdaptConfig(match_items_by="none")
    assert cli.main(argv + ["--match-items-by", "text"]) == 0 and calls[-1].match_items_by == "text"
    assert "item matching: 7 of 9 new items matched by title" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # argparse: not a choice
        cli.main(argv + ["--match-items-by", "genres"])
    assert "--match-items-by" in capsys.readouterr().err


def test_adapt_of_a_missing_model_dir_says_so_and_exits_2(tmp_path, capsys):
    missing = str(tmp_path / "no-model")
    argv = ["adapt", "--model-dir", missing, "--data", "builtin", "--output-dir", str(tmp_path / "out")]
    assert cli.main(argv) == 2
    error = capsys.readouterr().err
    assert "tfrec-llm adapt: error:" in error and missing in error


def test_adapt_rejects_a_bad_fraction_before_any_work(tmp_path, capsys):
    argv = ["adapt", "--model-dir", "m", "--data", "builtin", "--output-dir", str(tmp_path), "--fraction", "2"]
    assert cli.main(argv) == 2
    assert "adapt.fraction" in capsys.readouterr().err
