"""Tests of the hostile file writers: CSV quoting and the row counts the invariant relies on."""

from tfrec_llm.testing.file_strategies import csv_text, data_line_count


def test_csv_text_quotes_what_needs_quotes_and_counts_non_blank_records():
    text, rows = csv_text(["a", "b"], [["x,y", 'say "hi"'], [], ["  "], ["", ""], ["r\rs"]], "\n", quote_all=False)
    assert text == 'a,b\n"x,y","say ""hi"""\n\n  \n,\n"r\rs"\n'
    assert rows == 3


def test_data_line_count_ignores_blank_and_whitespace_lines():
    assert data_line_count("a\tb\r\n\r\n  \n\xa0\nc\n") == 2
