import pytest

from tfrec_llm.data.data_error import DataError
from tfrec_llm.data.loaders.fallback_recorder import FallbackRecorder
from tfrec_llm.data.loaders.text_table import TextTable


def _csv(tmp_path, content, name="table.csv"):
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return str(path)


def test_separated_lines_keep_physical_line_numbers_and_drop_misfits(tmp_path):
    path = _csv(tmp_path, "a::b\r\n\n  \nc::d::e\nf::g\n", name="x.dat")
    recorder = FallbackRecorder(strict=False)

    table = TextTable.from_separated_lines(path, "::", ["left", "right"], "latin-1", recorder)

    assert table.values("left").tolist() == ["a", "f"]
    assert table.values("right").tolist() == ["b", "g"]
    assert [table.location(i) for i in range(len(table))] == [f"{path}:1", f"{path}:5"]
    assert recorder.report.skipped == {
        "wrong number of fields (expected 2 separated by '::'): row dropped": [1, f"{path}:4"]
    }


def test_separated_lines_in_utf8_report_the_undecodable_line(tmp_path):
    path = _csv(tmp_path, b"a|b\nc|\xff\n", name="x.txt")

    with pytest.raises(DataError, match=r"x\.txt:2: bytes that are not valid utf-8"):
        TextTable.from_separated_lines(path, "|", ["a", "b"], "utf-8", FallbackRecorder(strict=False))


def test_csv_rows_are_located_across_quoted_newlines_blank_lines_and_skipped_rows(tmp_path):
    path = _csv(tmp_path, '\nuser,item\n"multi\nline",1\n   \n1,2,3\n4,5\n\n7,8\n')
    recorder = FallbackRecorder(strict=False)

    table = TextTable.from_csv(path, recorder)

    assert table.values("user").tolist() == ["multi\nline", "4", "7"]
    assert [table.location(i) for i in range(len(table))] == [f"{path}:3", f"{path}:7", f"{path}:9"]
    assert recorder.report.skipped == {
        "wrong number of fields (more than the header's 2): row dropped": [1, f"{path}:6"]
    }


def test_csv_without_quotes_is_located_by_plain_lines(tmp_path):
    path = _csv(tmp_path, "user,item\n1,2\n\n3,4\n5,6,7\n8,9\n")
    recorder = FallbackRecorder(strict=False)

    table = TextTable.from_csv(path, recorder)

    assert [table.location(i) for i in range(len(table))] == [f"{path}:2", f"{path}:4", f"{path}:6"]
    assert recorder.report.skipped["wrong number of fields (more than the header's 2): row dropped"] == [1, f"{path}:5"]


def test_csv_keeps_na_like_strings_and_strips_only_on_request(tmp_path):
    path = _csv(tmp_path, "id,title\n1, NA \n2,null\n")

    table = TextTable.from_csv(path, FallbackRecorder(strict=False))

    assert table.values("title").tolist() == [" NA ", "null"]
    assert table.stripped("title").tolist() == ["NA", "null"]
    assert table.is_empty("title").tolist() == [False, False]


def test_require_columns_names_missing_and_existing(tmp_path):
    table = TextTable.from_csv(_csv(tmp_path, "id,title\n1,a\n"), FallbackRecorder(strict=False))

    with pytest.raises(
        DataError,
        match=r"table\.csv: the catalog lacks column\(s\) 'genre', 'year'; its columns are 'id', 'title'",
    ):
        table.require_columns(["id", "genre", "year"], "catalog")


def test_missing_file_lists_its_folder(tmp_path):
    _csv(tmp_path, "id\n1\n", name="present.csv")

    with pytest.raises(DataError, match=r"File not found: .*absent\.csv\. The folder .* holds: 'present\.csv'"):
        TextTable.from_csv(str(tmp_path / "absent.csv"), FallbackRecorder(strict=False))


def test_parquet_rows_are_located_by_row_number(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    path = str(tmp_path / "t.parquet")
    pd.DataFrame({"id": [1.0, None, 3.0], "score": [0.5, 1.0, None]}).to_parquet(path)

    table = TextTable.from_parquet(path)

    assert table.values("id").tolist() == ["1", "", "3"]
    assert table.values("score").tolist() == ["0.5", "1.0", ""]
    assert table.location(2) == f"{path}:row 3"
