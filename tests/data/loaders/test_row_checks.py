import numpy as np
import pytest

from tfrec_llm.data.loaders import row_checks
from tfrec_llm.data.data_error import DataError
from tfrec_llm.data.loaders.fallback_recorder import FallbackRecorder
from tfrec_llm.data.loaders.text_table import TextTable


def _table(tmp_path, content):
    path = tmp_path / "t.csv"
    path.write_text(content, encoding="utf-8")
    return TextTable.from_csv(str(path), FallbackRecorder(strict=False))


def test_parse_timestamps_floors_fractions_and_keeps_big_integers_exact(tmp_path):
    table = _table(tmp_path, "ts\n12.9\n1700000000123456789\nx\n")
    recorder = FallbackRecorder(strict=False)

    timestamps, keep = row_checks.parse_timestamps(table, np.ones(3, dtype=bool), "ts", recorder)

    assert keep.tolist() == [True, True, False]
    assert timestamps[:2].tolist() == [12, 1700000000123456789]
    assert recorder.report.skipped == {"non-numeric ts: row dropped": [1, f"{table.path}:4"]}


def test_parse_timestamps_reads_iso_datetimes_and_counts_bad_ones(tmp_path):
    table = _table(tmp_path, "ts\n2020-01-01T00:00:00Z\n2020-01-01T00:00:10+00:00\nyesterday\n")
    recorder = FallbackRecorder(strict=False)

    timestamps, keep = row_checks.parse_timestamps(table, np.ones(3, dtype=bool), "ts", recorder)

    assert keep.tolist() == [True, True, False]
    assert timestamps[:2].tolist() == [1577836800, 1577836810]
    assert recorder.report.skipped == {"unparseable datetime in ts: row dropped": [1, f"{table.path}:4"]}


def test_parse_numbers_refuses_infinite_and_nan(tmp_path):
    table = _table(tmp_path, "score\n1.5\ninf\nnan\n-2\n")
    recorder = FallbackRecorder(strict=False)

    numbers, keep = row_checks.parse_numbers(table, np.ones(4, dtype=bool), "score", recorder)

    assert keep.tolist() == [True, False, False, True]
    assert numbers[keep].tolist() == [1.5, -2.0]
    assert recorder.report.skipped == {"non-numeric score: row dropped": [2, f"{table.path}:3"]}


def test_repeated_header_needs_every_column_to_match(tmp_path):
    table = _table(tmp_path, "a,b\na,x\na,b\n1,2\n")
    recorder = FallbackRecorder(strict=False)

    keep = row_checks.drop_repeated_headers(table, np.ones(3, dtype=bool), recorder)

    assert keep.tolist() == [True, False, True]
    assert recorder.report.skipped == {"repeated header row: row dropped": [1, f"{table.path}:3"]}


def test_catalog_rows_refuse_duplicates_naming_both_lines(tmp_path):
    table = _table(tmp_path, "id\nx\ny\nz\ny\n")

    with pytest.raises(
        DataError,
        match=r"t\.csv:5: item id 'y' is already defined at .*t\.csv:3; .*1 duplicated id",
    ):
        row_checks.catalog_rows(table, "id", FallbackRecorder(strict=False))


def test_multi_hot_keeps_written_order_in_text_and_skips_excluded_labels():
    matrix, names, text = row_checks.multi_hot(
        np.array(["Drama|Action", "(none)", "", " Action | Comedy "]), "|", excluded=["(none)"]
    )

    assert names == ["Action", "Comedy", "Drama"]
    assert matrix.tolist() == [[1, 0, 1], [0, 0, 0], [0, 0, 0], [1, 1, 0]]
    assert text.tolist() == ["Drama, Action", "", "", "Action, Comedy"]


def test_multi_hot_with_given_names_ignores_others():
    matrix, names, _ = row_checks.multi_hot(np.array(["a|b|c"]), "|", names=["c", "a"])

    assert names == ["c", "a"]
    assert matrix.tolist() == [[1, 1]]
