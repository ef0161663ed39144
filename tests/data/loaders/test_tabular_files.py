import sys

import numpy as np
import pandas as pd
import pytest

from tfrec_llm.data.data_error import DataError
from tfrec_llm.data.loaders.tabular_files import TabularColumns, load_tabular_files

ITEMS = "item_id,name,description,price,categories\na,Red shoe,A running shoe,10,shoes|sport\nb,Blue hat,,5,hats\nc,Green scarf,Warm,7,\n"  # noqa: E501
EVENTS = "user_id,item_id,timestamp\nu1,a,100\nu1,b,200\nu2,a,300\nu2,c,400\n"


def _files(tmp_path, events=EVENTS, items=ITEMS, events_name="events.csv", items_name="items.csv"):
    events_path, items_path = tmp_path / events_name, tmp_path / items_name
    for path, content in ((events_path, events), (items_path, items)):
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return str(events_path), str(items_path)


def test_click_log_defaults_text_from_string_columns(tmp_path):
    events_path, items_path = _files(tmp_path)

    data = load_tabular_files(events_path, items_path)

    assert data.name == "events"
    assert data.label_kind == "click"
    assert data.interactions.user_ids.tolist() == ["u1", "u1", "u2", "u2"]
    assert data.interactions.labels.tolist() == [1.0, 1.0, 1.0, 1.0]
    assert data.interactions.timestamps.tolist() == [100, 200, 300, 400]
    assert set(data.interactions.scenarios) == {"default"}
    # price is numeric, so it is no text field; item_id is the id.
    assert list(data.catalog.text_fields) == ["name", "description", "categories"]
    assert data.catalog.texts().tolist() == [
        "Red shoe. A running shoe. shoes|sport",
        "Blue hat. hats",
        "Green scarf. Warm",
    ]
    assert data.catalog.attributes is None
    assert data.report.skipped == {}


def test_label_scenario_attributes_and_chosen_text_fields(tmp_path):
    events = "who,what,when,stars,domain\nu1,a,100,4,shop\nu1,b,200,2.5,\nu2,a,300,5,shop\nu2,c,400,1,app\n"
    events_path, items_path = _files(tmp_path, events=events)
    columns = TabularColumns(
        user_id="who",
        item_id="what",
        timestamp="when",
        catalog_item_id="item_id",
        label="stars",
        scenario="domain",
        text_fields=["name", "categories"],
        attributes="categories",
    )

    data = load_tabular_files(events_path, items_path, columns)

    assert data.label_kind == "rating"
    assert data.interactions.labels.tolist() == [4.0, 2.5, 5.0, 1.0]
    assert data.interactions.scenarios.tolist() == ["shop", "default", "shop", "app"]
    assert data.report.skipped == {"empty domain: scenario 'default' used": [1, f"{events_path}:3"]}
    assert data.catalog.attribute_names == ["hats", "shoes", "sport"]
    assert data.catalog.attributes.tolist() == [[0, 1, 1], [1, 0, 0], [0, 0, 0]]
    assert data.catalog.texts().tolist() == [
        "Red shoe. shoes, sport",
        "Blue hat. hats",
        "Green scarf",
    ]


def test_iso_datetimes_become_unix_seconds(tmp_path):
    events = "user_id,item_id,timestamp\nu1,a,1970-01-01T00:01:40Z\nu1,b,1970-01-01T00:03:20Z\n"
    events_path, items_path = _files(tmp_path, events=events)

    data = load_tabular_files(events_path, items_path)

    assert data.interactions.timestamps.tolist() == [100, 200]


@pytest.mark.parametrize(
    "bad_row, reason",
    [
        ("u2,c,400,extra\n", "wrong number of fields (more than the header's 3): row dropped"),
        ("u2,c,soon\n", "non-numeric timestamp: row dropped"),
        ("u2,c,NaN\n", "non-numeric timestamp: row dropped"),
        ("u2,,400\n", "empty item_id: row dropped"),
        ("u2,c\n", "empty timestamp: row dropped"),
        ("user_id,item_id,timestamp\n", "repeated header row: row dropped"),
    ],
)
def test_malformed_event_row_is_dropped_and_counted_or_refused_in_strict_mode(tmp_path, bad_row, reason):
    events = EVENTS.replace("u2,c,400\n", bad_row) + "u2,b,500\n"
    events_path, items_path = _files(tmp_path, events=events)

    data = load_tabular_files(events_path, items_path)

    assert len(data.interactions) == 4
    assert data.report.skipped == {reason: [1, f"{events_path}:5"]}
    with pytest.raises(DataError, match=r"events\.csv:5: .*strict"):
        load_tabular_files(events_path, items_path, strict=True)


def test_non_numeric_label_names_line_and_value_in_strict_mode(tmp_path):
    events = "user_id,item_id,timestamp,rating\nu1,a,1,4\nu1,b,2,four\nu2,a,3,5\nu2,b,4,1\nu1,c,5,3\n"
    events_path, items_path = _files(tmp_path, events=events)
    columns = TabularColumns(label="rating")

    data = load_tabular_files(events_path, items_path, columns)

    assert data.interactions.labels.tolist() == [4.0, 5.0, 1.0, 3.0]
    assert data.report.skipped == {"non-numeric rating: row dropped": [1, f"{events_path}:3"]}
    with pytest.raises(DataError, match=r"events\.csv:3: non-numeric rating: row dropped \(value 'four'\)"):
        load_tabular_files(events_path, items_path, columns, strict=True)


def test_line_numbers_count_physical_lines_across_quoted_newlines_and_blank_lines(tmp_path):
    items = 'item_id,name\na,"two\nline name"\n\nb,Hat\nc,Scarf\n'
    events = "user_id,item_id,timestamp\nu1,a,1\n\nu1,b,x\nu2,a,3\nu2,c,4\n"
    events_path, items_path = _files(tmp_path, events=events, items=items)

    data = load_tabular_files(events_path, items_path)

    assert data.catalog.item_ids.tolist() == ["a", "b", "c"]
    assert data.report.skipped["non-numeric timestamp: row dropped"] == [1, f"{events_path}:4"]


def test_invalid_utf8_names_file_and_line(tmp_path):
    events = "user_id,item_id,timestamp\nu1,a,1\nu\xe9,b,2\n".encode("latin-1")
    events_path, items_path = _files(tmp_path, events=events)

    with pytest.raises(DataError, match=r"events\.csv:3: bytes that are not valid UTF-8.*Save the file as UTF-8"):
        load_tabular_files(events_path, items_path)


def test_utf8_byte_order_mark_is_tolerated(tmp_path):
    events_path, items_path = _files(tmp_path, events=b"\xef\xbb\xbf" + EVENTS.encode("utf-8"))

    assert len(load_tabular_files(events_path, items_path).interactions) == 4


def test_unknown_item_is_dropped_and_counted(tmp_path):
    events_path, items_path = _files(tmp_path, events=EVENTS + "u2,zzz,500\n")

    data = load_tabular_files(events_path, items_path)

    assert "zzz" not in data.interactions.item_ids
    assert data.report.skipped == {"item not in the catalog: row dropped": [1, f"{events_path}:6"]}
    with pytest.raises(DataError, match=r"events\.csv:6: item not in the catalog: row dropped \(value 'zzz'\)"):
        load_tabular_files(events_path, items_path, strict=True)


def test_no_known_item_at_all_is_an_error_suggesting_the_id_columns(tmp_path):
    events_path, items_path = _files(tmp_path, events="user_id,item_id,timestamp\nu1,x,1\nu1,y,2\n")

    with pytest.raises(DataError, match=r"none of its items is in the catalog .*Check the item id columns"):
        load_tabular_files(events_path, items_path)


def test_item_without_text_gets_its_id_as_text(tmp_path):
    items = "item_id,name,description\na,Red shoe,\nb,,\nc,Scarf,Warm\n"
    events_path, items_path = _files(tmp_path, items=items)

    data = load_tabular_files(events_path, items_path)

    assert data.catalog.texts().tolist() == ["Red shoe", "b", "Scarf. Warm"]
    assert data.report.skipped == {"item without any text: its id is used as its text": [1, f"{items_path}:3"]}
    with pytest.raises(DataError, match=r"items\.csv:3: item without any text"):
        load_tabular_files(events_path, items_path, strict=True)


def test_catalog_without_any_text_column_uses_ids_and_counts_every_item(tmp_path):
    events_path, items_path = _files(tmp_path, items="item_id,price\na,1\nb,2\nc,3\n")

    data = load_tabular_files(events_path, items_path)

    assert data.catalog.texts().tolist() == ["a", "b", "c"]
    assert data.report.skipped["item without any text: its id is used as its text"] == [
        3,
        f"{items_path}:2",
    ]


def test_duplicate_catalog_id_is_an_error_naming_both_lines(tmp_path):
    events_path, items_path = _files(tmp_path, items="item_id,name\na,Shoe\nb,Hat\na,Other shoe\nc,Scarf\n")

    with pytest.raises(DataError, match=r"items\.csv:4: item id 'a' is already defined at .*items\.csv:2"):
        load_tabular_files(events_path, items_path)


def test_catalog_row_with_empty_id_is_dropped_and_counted(tmp_path):
    events_path, items_path = _files(tmp_path, items="item_id,name\na,Shoe\n,Nameless\nb,Hat\nc,Scarf\n")

    data = load_tabular_files(events_path, items_path)

    assert data.catalog.item_ids.tolist() == ["a", "b", "c"]
    assert data.report.skipped == {"empty item_id: row dropped": [1, f"{items_path}:3"]}


def test_single_interaction_users_are_a_note_that_strict_mode_keeps(tmp_path):
    events_path, items_path = _files(tmp_path, events=EVENTS + "u3,a,500\nu4,b,600\n")

    data = load_tabular_files(events_path, items_path, strict=True)

    assert {"u3", "u4"} <= set(data.interactions.user_ids)
    assert data.report.skipped == {"note (kept): user with a single interaction": [2, f"{events_path}:6"]}


@pytest.mark.parametrize(
    "content, message",
    [
        ("", r"events\.csv is empty \(0 bytes\)"),
        ("\n\n", r"events\.csv is empty: it has no header row"),
        (
            "user_id,item_id,timestamp\n",
            r"events\.csv has a header \('user_id', 'item_id', 'timestamp'\) but no data rows",
        ),
    ],
)
def test_empty_file_is_an_error(tmp_path, content, message):
    events_path, items_path = _files(tmp_path, events=content)

    with pytest.raises(DataError, match=message):
        load_tabular_files(events_path, items_path)


def test_every_row_bad_is_an_error_with_the_summary(tmp_path):
    events_path, items_path = _files(tmp_path, events="user_id,item_id,timestamp\nu1,a,x\nu2,b,y\n")

    with pytest.raises(
        DataError,
        match=r"events\.csv: no usable interaction row is left \(2 rows skipped: non-numeric timestamp",
    ):
        load_tabular_files(events_path, items_path)


def test_missing_file_lists_the_folder(tmp_path):
    events_path, _ = _files(tmp_path)

    with pytest.raises(
        DataError,
        match=r"File not found: .*catalog\.csv\. The folder .* holds: 'events\.csv', 'items\.csv'",
    ):
        load_tabular_files(events_path, str(tmp_path / "catalog.csv"))


def test_missing_columns_are_named_with_the_existing_ones(tmp_path):
    events_path, items_path = _files(tmp_path)

    with pytest.raises(
        DataError,
        match=r"events\.csv: the interactions file lacks column\(s\) 'visitor'; its columns are 'user_id', 'item_id', 'timestamp'",  # noqa: E501
    ):
        load_tabular_files(events_path, items_path, TabularColumns(user_id="visitor"))
    with pytest.raises(DataError, match=r"items\.csv: the catalog file lacks column\(s\) 'genre'"):
        load_tabular_files(events_path, items_path, TabularColumns(attributes="genre"))


def test_unsupported_extension_is_an_error(tmp_path):
    events_path, items_path = _files(tmp_path, items_name="items.xlsx")

    with pytest.raises(DataError, match=r"items\.xlsx: unsupported file type '\.xlsx'; use one of \.csv, \.parquet"):
        load_tabular_files(events_path, items_path)


def test_parquet_files_with_numeric_ids_and_datetimes(tmp_path):
    pytest.importorskip("pyarrow")
    events_path, items_path = str(tmp_path / "events.parquet"), str(tmp_path / "items.parquet")
    pd.DataFrame(
        {
            "user_id": [1, 1, 2, 2],
            "item_id": [10.0, 20.0, 10.0, np.nan],
            "timestamp": pd.to_datetime([100, 200, 300, 400], unit="s"),
        }
    ).to_parquet(events_path)
    pd.DataFrame({"item_id": [10, 20], "name": ["Shoe", "Hat"]}).to_parquet(items_path)

    data = load_tabular_files(events_path, items_path)

    assert data.interactions.item_ids.tolist() == ["10", "20", "10"]
    assert data.interactions.user_ids.tolist() == ["1", "1", "2"]
    assert data.interactions.timestamps.tolist() == [100, 200, 300]
    assert data.report.skipped == {
        "empty item_id: row dropped": [1, f"{events_path}:row 4"],
        "note (kept): user with a single interaction": [1, f"{events_path}:row 3"],
    }


def test_parquet_without_pyarrow_says_how_to_install_it(tmp_path, monkeypatch):
    events_path, items_path = _files(tmp_path, items_name="items.parquet")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # makes `import pyarrow` fail

    with pytest.raises(DataError, match=r"items\.parquet needs the pyarrow package: pip install pyarrow"):
        load_tabular_files(events_path, items_path)


def test_file_that_is_not_parquet_is_an_error(tmp_path):
    pytest.importorskip("pyarrow")
    events_path, items_path = _files(tmp_path, items="not parquet at all", items_name="items.parquet")

    with pytest.raises(DataError, match=r"items\.parquet: cannot be read as Parquet"):
        load_tabular_files(events_path, items_path)


# ------------------------------------------------ own data: columns found by name


def _rows(text):
    """The data rows of a CSV text as lists of strings (header skipped)."""
    return [line.split(",") for line in text.strip().splitlines()[1:]]


def test_file_without_timestamp_is_in_file_order_and_its_rating_column_is_the_label(tmp_path, caplog):
    events = "user,item,Rating\nu1,a,4\nu2,b,x\nu1,b,5\nu2,a,3\nu2,c,1\n"
    events_path, items_path = _files(tmp_path, events=events)
    columns = TabularColumns(user_id="user", item_id="item", catalog_item_id="item_id")

    with caplog.at_level("INFO", logger="tfrec_llm"):
        data = load_tabular_files(events_path, items_path, columns)

    kept = [(position, row) for position, row in enumerate(_rows(events)) if row[2] != "x"]
    assert data.interactions.timestamps.tolist() == [position for position, _ in kept]
    assert data.interactions.labels.tolist() == [float(row[2]) for _, row in kept]
    assert data.label_kind == "rating"
    assert data.report.skipped == {"non-numeric Rating: row dropped": [1, f"{events_path}:3"]}
    assert data.report.columns["timestamp"] == "file order (no timestamp column)"
    assert data.report.columns["label"] == "Rating (ratings, found by its name)"
    assert "using column 'Rating' as the label (ratings)" in caplog.text
    assert "events.csv has no timestamp column: its row order is taken as the time order" in caplog.text


@pytest.mark.parametrize(
    "header, label",
    [
        ("user_id,item_id,timestamp,score", "score"),
        ("user_id,item_id,timestamp,LABEL,rating", "rating"),
        ("user_id,item_id,timestamp,Label,score", "Label"),
    ],
)
def test_label_column_is_found_by_name_rating_before_label_before_score(tmp_path, header, label):
    rows = ["u1,a,1", "u1,b,2", "u2,a,3", "u2,c,4"]
    extra = len(header.split(",")) - 3
    events = (
        header
        + "\n"
        + "".join(f"{row}{''.join(f',{(n + 1) * (k + 2)}' for k in range(extra))}\n" for n, row in enumerate(rows))
    )
    events_path, items_path = _files(tmp_path, events=events)

    data = load_tabular_files(events_path, items_path)

    position = header.split(",").index(label)
    assert data.interactions.labels.tolist() == [float(row[position]) for row in _rows(events)]
    assert data.label_kind == "rating"
    assert data.report.columns["label"] == f"{label} (ratings, found by its name)"


def test_a_column_with_a_label_name_in_another_role_is_not_the_label(tmp_path):
    events = "score,item_id,timestamp\nu1,a,1\nu1,b,2\nu2,a,3\n"
    events_path, items_path = _files(tmp_path, events=events)

    data = load_tabular_files(events_path, items_path, TabularColumns(user_id="score"))

    assert data.label_kind == "click"
    assert data.interactions.labels.tolist() == [1.0, 1.0, 1.0]
    assert data.report.columns["label"] == "none (clicks: every label 1)"


def test_date_string_timestamps_parse_and_same_day_events_keep_their_file_order(tmp_path):
    events = "user_id,item_id,timestamp\nu1,a,2020-01-31\nu1,b,2020-01-31\nu2,a,2020-02-01\n"
    events_path, items_path = _files(tmp_path, events=events)

    data = load_tabular_files(events_path, items_path)

    days = pd.to_datetime([row[2] for row in _rows(events)], utc=True)
    expected = ((days - pd.Timestamp("1970-01-01", tz="UTC")) // pd.Timedelta(seconds=1)).tolist()
    assert data.interactions.timestamps.tolist() == expected
    assert data.report.columns["timestamp"] == "timestamp (found by its name)"


def test_named_timestamp_or_label_missing_from_the_file_is_an_error_naming_file_and_columns(tmp_path):
    events_path, items_path = _files(tmp_path)

    with pytest.raises(
        DataError,
        match=r"events\.csv: the interactions file lacks column\(s\) 'ts'; its columns are "
        r"'user_id', 'item_id', 'timestamp'\. Name the right columns with --columns role=column",
    ):
        load_tabular_files(events_path, items_path, TabularColumns(timestamp="ts"))
    with pytest.raises(DataError, match=r"events\.csv: .* lacks column\(s\) 'stars'"):
        load_tabular_files(events_path, items_path, TabularColumns(label="stars"))


def test_catalog_item_id_column_defaults_to_the_interactions_item_id_name(tmp_path):
    events = "visitor,sku\nv1,a\nv1,b\nv2,c\n"
    items = "sku,title\na,Shoe\nb,Hat\nc,Scarf\n"
    events_path, items_path = _files(tmp_path, events=events, items=items)

    data = load_tabular_files(events_path, items_path, TabularColumns(user_id="visitor", item_id="sku"))

    assert data.interactions.item_ids.tolist() == [row[1] for row in _rows(events)]
    assert data.catalog.texts().tolist() == [row[1] for row in _rows(items)]
    assert data.report.columns["catalog_item_id"] == "sku"
    with pytest.raises(
        DataError,
        match=r"items\.csv: the catalog file lacks column\(s\) 'sku'; its columns are 'item_id', .*"
        r"--columns catalog_item_id=<column>",
    ):
        load_tabular_files(*_files(tmp_path, events=events), TabularColumns(user_id="visitor", item_id="sku"))


def test_all_numeric_column_left_out_of_the_text_is_noted(tmp_path, caplog):
    items = "item_id,title,year\na,Dune,1965\nb,Emma,1815\nc,Ubik,\n"
    events_path, items_path = _files(tmp_path, items=items)

    with caplog.at_level("INFO", logger="tfrec_llm"):
        data = load_tabular_files(events_path, items_path)

    assert list(data.catalog.text_fields) == ["title"]
    assert data.report.notes == [
        "items.csv: all-numeric column 'year' is not used as item text "
        "(name the text columns with --columns text=a+b to keep it)"
    ]
    assert data.report.notes[0] in caplog.text
    assert data.report.columns["text"] == "title"
    named = load_tabular_files(events_path, items_path, TabularColumns(text_fields=["title", "year"]))
    assert named.catalog.texts().tolist()[0] == "Dune. 1965" and named.report.notes == []


def test_columns_from_a_role_mapping(tmp_path):
    columns = TabularColumns.from_mapping(
        {"user_id": "who", "item_id": "what", "catalog_item_id": "item_id", "text": ["name", "categories"]}
    )
    events_path, items_path = _files(tmp_path, events="who,what\nu1,a\nu1,b\nu2,a\n")

    data = load_tabular_files(events_path, items_path, columns)

    assert data.catalog.texts().tolist() == ["Red shoe. shoes|sport", "Blue hat. hats", "Green scarf"]
    assert list(data.report.columns) == [
        "user_id",
        "item_id",
        "timestamp",
        "label",
        "scenario",
        "catalog_item_id",
        "text",
        "attributes",
    ]
    assert TabularColumns.from_mapping({"text": "name"}).text_fields == ["name"]
    with pytest.raises(DataError, match=r"unknown column role 'user'; roles are user_id, item_id"):
        TabularColumns.from_mapping({"user": "who"})
    with pytest.raises(DataError, match=r"column role 'label' takes one column"):
        TabularColumns.from_mapping({"label": ["a", "b"]})
