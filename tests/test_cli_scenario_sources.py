"""`--data NAME=SOURCE` given more than once: sources joined as scenarios, recorded as data.scenario_sources."""

import json

import pytest
from tiny_fixtures import SMALL_BUILTIN as SMALL
from tiny_fixtures import write_tiny_cli_config

from tfrec_llm import cli
from tfrec_llm.experiment_config import ConfigError, DataConfig, ExperimentConfig

BOOKS, FILMS = f"{SMALL},seed=1", f"{SMALL},seed=2"


def _train_config(tmp_path, *flags):
    args = cli.build_parser().parse_args(["train", "--output-dir", str(tmp_path), *flags])
    return cli._train_config(args)  # pylint: disable=protected-access


def test_named_sources_become_scenario_sources_and_a_plain_one_stays_the_source(tmp_path):
    joined = _train_config(tmp_path, "--data", f"books={BOOKS}", "--data", f"films={FILMS}")
    assert joined.data.scenario_sources == {"books": BOOKS, "films": FILMS}
    plain = _train_config(tmp_path, "--data", SMALL)  # "=" after ":" is the builtin world's option, not a name
    assert plain.data.source == SMALL and plain.data.scenario_sources == {}
    # a plain --data over a config that joins sources replaces them (evaluate / adapt a model on other data)
    config = ExperimentConfig().updated({"data": DataConfig.parse_sources(["books=a", "films=b"])})
    assert config.updated({"data": DataConfig.parse_sources(["other"])}).data.scenario_sources == {}


@pytest.mark.parametrize(
    "values, message",
    [
        (["books=a", "books=b"], "scenario name 'books' is given twice"),
        (["books=a"], "give NAME=SOURCE at least twice"),
        (["books=a", "plain"], "give one plain source, or NAME=SOURCE at least twice"),
        (["one", "two"], "give one plain source"),
        (["=a", "films=b"], "expected NAME=SOURCE"),
        (["books=", "films=b"], "expected NAME=SOURCE"),
        (["my books=a", "films=b"], "expected NAME=SOURCE"),
    ],
)
def test_bad_data_flags_end_with_a_message_naming_the_argument(values, message, tmp_path, capsys):
    argv = ["train", "--output-dir", str(tmp_path)] + [x for v in values for x in ("--data", v)]
    assert cli.main(argv) == 2
    error = capsys.readouterr().err
    assert "--data" in error and message in error
    assert not (tmp_path / "config.json").exists()


def test_a_config_file_is_checked_the_same_way():
    with pytest.raises(ConfigError, match="at least two sources"):
        ExperimentConfig.from_dict({"data": {"scenario_sources": {"books": "a"}}})
    with pytest.raises(ConfigError, match="name 'a/b'"):
        ExperimentConfig.from_dict({"data": {"scenario_sources": {"a/b": "x", "c": "y"}}})
    with pytest.raises(ConfigError, match="data.items names one catalog file"):
        ExperimentConfig.from_dict({"data": {"items": "i.csv", "scenario_sources": {"a": "x", "c": "y"}}})


def test_describe_joins_the_named_sources(capsys):
    assert cli.main(["data", "describe", "--data", f"books={BOOKS}", "--data", f"films={FILMS}"]) == 0
    out = capsys.readouterr().out
    assert cli.main(["data", "describe", "--data", BOOKS]) == 0
    books = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[-1].replace(",", "") for line in out.splitlines() if line.strip()}
    single = {line.split()[0]: line.split()[-1].replace(",", "") for line in books.splitlines() if line.strip()}
    assert int(rows["num_interactions"]) > int(single["num_interactions"])  # both sources' events
    assert int(rows["num_items"]) == 2 * int(single["num_items"])  # the same ids, prefixed apart


@pytest.mark.slow  # trains a tiny model on two joined built-in worlds, then evaluates it: about a minute
def test_a_model_trained_on_joined_sources_reloads_them_to_evaluate(tmp_path, capsys):
    config = write_tiny_cli_config(tmp_path / "cfg.json")
    model_dir = tmp_path / "model"
    argv = ["train", "--data", f"books={BOOKS}", "--data", f"films={FILMS}", "--output-dir", str(model_dir)]
    assert cli.main(argv + ["--config", config, "--epochs", "1", "--text-encoder", "none", "--no-text"]) == 0
    trained = capsys.readouterr().out
    saved = json.loads((model_dir / "config.json").read_text())
    assert saved["data"]["scenario_sources"] == {"books": BOOKS, "films": FILMS}
    assert cli.main(["evaluate", "--model-dir", str(model_dir), "--output", str(tmp_path / "m.json")]) == 0
    evaluated = json.loads((tmp_path / "m.json").read_text())
    assert {"scenario:books", "scenario:films"} <= set(evaluated["strata"])  # the joined sources, reloaded
    overall = [line for line in trained.splitlines() if line.startswith("overall")]
    assert overall and f"{evaluated['overall']['recall@10']:.4f}" in overall[0]  # the same data and split
