"""`tfrec-llm evaluate`: a reloaded model repeats train's metrics and per-example ranks, which `compare` reads."""

import json

import numpy as np

from tiny_fixtures import SMALL_BUILTIN, write_tiny_cli_config

from tfrec_llm import cli
from tfrec_llm.evaluation.example_ranks import RANKS_FILE, ExampleRanks


def test_evaluate_repeats_the_ranks_train_wrote_and_compare_reads_its_file(tmp_path, capsys):
    config = write_tiny_cli_config(tmp_path / "cfg.json")
    model_dir = tmp_path / "model"
    argv = ["train", "--data", SMALL_BUILTIN, "--output-dir", str(model_dir), "--config", config, "--epochs", "1"]
    assert cli.main([*argv, "--text-encoder", "none", "--no-text"]) == 0
    ranks_file = tmp_path / "evaluated_ranks"  # no suffix: written as named
    argv = ["evaluate", "--model-dir", str(model_dir), "--output", str(tmp_path / "m.json")]
    assert cli.main([*argv, "--ranks-output", str(ranks_file)]) == 0
    trained = json.loads((model_dir / "metrics.json").read_text())
    evaluated = json.loads((tmp_path / "m.json").read_text())
    assert evaluated["overall"] == trained["overall"]
    written, reloaded = ExampleRanks.load(str(model_dir / RANKS_FILE)), ExampleRanks.load(str(ranks_file))
    np.testing.assert_array_equal(reloaded.user_ids, written.user_ids)
    assert set(reloaded.ranks) == set(written.ranks) and set(reloaded.strata) == set(written.strata)
    for name, ranks in written.ranks.items():
        np.testing.assert_array_equal(reloaded.ranks[name], ranks)
    capsys.readouterr()
    assert cli.main(["compare", str(model_dir), str(ranks_file), "--places", "overall"]) == 0
    compared = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| overall | recall@10 |")]
    assert len(compared) == 1 and "| +0.0000 | [+0.0000, +0.0000] |" in compared[0]  # the same model: no gap
