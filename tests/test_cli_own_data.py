"""The command line on a user's own CSV files: `--columns`, no timestamp, ratings found by name."""

import json
import re

import numpy as np
import pytest

from tfrec_llm import cli

EVENTS = "user,item,rating\nu1,a,4\nu1,b,5\nu2,a,3\nu2,c,1\nu1,c,2\nu2,b,4\n"
ITEMS = "sku,Title,Year,Tags\na,Dune,1965,space desert\nb,Emma,1815,love\nc,Ubik,1969,mind\n"
COLUMNS = "user_id=user,item_id=item,catalog_item_id=sku"


@pytest.fixture
def own_files(tmp_path):
    events, items = tmp_path / "events.csv", tmp_path / "items.csv"
    events.write_text(EVENTS, encoding="utf-8")
    items.write_text(ITEMS, encoding="utf-8")
    return str(events), str(items)


def _describe(own_files, *flags):
    events, items = own_files
    return cli.main(["data", "describe", "--data", events, "--items", items, "--split", "random", *flags])


def _table(output):
    """name -> value of the rows of `data describe` (values may hold spaces)."""
    rows = {}
    for line in output.splitlines():
        name, _, value = line.partition("  ")
        rows[name.strip()] = value.strip()
    return rows


def test_describe_loads_a_file_without_timestamp_from_the_flags_alone(own_files, capsys):
    assert _describe(own_files, "--columns", COLUMNS + ",text=Title+Tags") == 0

    rows = _table(capsys.readouterr().out)
    ratings = [float(line.split(",")[2]) for line in EVENTS.strip().splitlines()[1:]]
    assert rows["label_kind"] == "rating"
    assert float(rows["rating_mean"]) == pytest.approx(np.mean(ratings), rel=1e-3)
    assert rows["num_interactions"] == str(len(ratings))
    assert rows["columns[user_id]"] == "user"
    assert rows["columns[item_id]"] == "item"
    assert rows["columns[timestamp]"] == "file order (no timestamp column)"
    assert rows["columns[label]"] == "rating (ratings, found by its name)"
    assert rows["columns[scenario]"] == "none (every event 'default')"
    assert rows["columns[catalog_item_id]"] == "sku"
    assert rows["columns[text]"] == "Title, Tags"
    assert rows["columns[attributes]"] == "none"


def test_describe_notes_an_all_numeric_column_left_out_of_the_text(own_files, capsys):
    assert _describe(own_files, "--columns", COLUMNS) == 0

    output = capsys.readouterr().out
    assert _table(output)["columns[text]"] == "Title, Tags"
    assert "note: items.csv: all-numeric column 'Year' is not used as item text" in output


@pytest.mark.parametrize(
    "columns, message",
    [
        ("usr=user", r"unknown column role 'usr'"),
        (
            COLUMNS + ",label=stars",
            r"events\.csv: the interactions file lacks column\(s\) 'stars'; its columns are 'user', 'item', 'rating'",
        ),
        ("user_id=user,item_id=item", r"items\.csv: the catalog file lacks column\(s\) 'item'.*catalog_item_id="),
    ],
)
def test_bad_columns_end_with_a_one_line_error_naming_the_problem(own_files, capsys, columns, message):
    assert _describe(own_files, "--columns", columns) == 2

    error = capsys.readouterr().err
    assert error.startswith("tfrec-llm data: error: ")
    assert len(error.strip().splitlines()) == 1
    assert re.search(message, error), error


def test_columns_on_a_source_without_column_names_is_refused(capsys):
    assert cli.main(["data", "describe", "--data", "builtin", "--columns", "label=stars"]) == 2
    assert "apply to .csv/.parquet interaction files only" in capsys.readouterr().err


def test_train_flags_add_columns_to_the_configs_and_set_the_text_length(own_files, tmp_path):
    config_path = tmp_path / "config.json"
    config_path.write_text(
        json.dumps({"data": {"columns": {"user_id": "user", "text": ["Title"]}}, "text": {"sequence_length": 16}}),
        encoding="utf-8",
    )
    events, items = own_files
    args = cli.build_parser().parse_args(
        [
            "train",
            "--data",
            events,
            "--items",
            items,
            "--output-dir",
            str(tmp_path / "run"),
            "--config",
            str(config_path),
            "--columns",
            "item_id=item,catalog_item_id=sku,text=Title+Tags",
            "--text-sequence-length",
            "48",
        ]
    )

    config = cli._train_config(args)  # pylint: disable=protected-access

    assert config.data.columns == {
        "user_id": "user",
        "item_id": "item",
        "catalog_item_id": "sku",
        "text": ["Title", "Tags"],
    }
    assert config.text.sequence_length == 48


def test_benchmark_passes_columns_and_text_length_to_its_config(own_files, tmp_path, monkeypatch, capsys):
    from tfrec_llm.benchmark import runner  # pylint: disable=import-outside-toplevel

    seen = []
    monkeypatch.setattr(
        runner, "run_benchmark", lambda config, output_dir, **_: seen.append(config) or {"markdown": ""}
    )
    events, items = own_files

    assert (
        cli.main(
            [
                "benchmark",
                "--data",
                events,
                "--items",
                items,
                "--output-dir",
                str(tmp_path),
                "--columns",
                COLUMNS,
                "--text-sequence-length",
                "40",
            ]
        )
        == 0
    )

    assert seen[0].data.columns == {"user_id": "user", "item_id": "item", "catalog_item_id": "sku"}
    assert seen[0].text.sequence_length == 40
