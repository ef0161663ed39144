"""Hypothesis building blocks of hostile files: wild text, odd numbers, CSV and line files.

CSV files are written as RFC 4180 text (quoted where needed, LF or CRLF,
sometimes a byte-order mark) and counted as pandas reads them (blank
records skipped); line files (MovieLens .dat/.data) are Latin-1 with blank
lines mixed in. Structured rows keep their order among the wild ones.
"""

from typing import Dict, List, Sequence, Tuple

from hypothesis import strategies as st

from tfrec_llm.testing.row_oracle import STRUCTURED_USERS, UNKNOWN_ITEM, StructuredEvent

ITEM_IDS = tuple(str(i) for i in range(1, 9))
CSV_SPECIAL_CHARACTERS = (",", '"', "\n", "\r")
PANDAS_BLANK_CHARACTERS = " \t"  # pandas skips lines of only these
SEPARATOR_CHARACTERS = ",|\t:;\"'\n\r \\#"
ODD_NUMBER_TEXTS = (
    "",
    " ",
    "NaN",
    "nan",
    "-inf",
    "Infinity",
    "1e400",
    "1e39",
    "-4e38",
    "3e38",
    "1e30",
    "9.3e18",
    "18446744073709551615",
    "9223372036854775807",
    "-9223372036854775808",
    "-9223372036854775809",
    "abc",
    "0x10",
    "1,5",
    "\u0661\u0662",
    "1_000",
    " 7 ",
    "+5",
    "1.",
    ".5",
    "1E3",
    "00012",
    "True",
)
ISO_DATETIME_TEXTS = (
    "2020-01-01T00:00:00Z",
    "1970-01-01T00:01:40+00:00",
    "2020-13-45",
    "0001-01-01",
)


def csv_field(value: str, quote_all: bool) -> str:
    if quote_all or any(character in value for character in CSV_SPECIAL_CHARACTERS):
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_text(
    header: Sequence[str], records: Sequence[Sequence[str]], terminator: str, quote_all: bool
) -> Tuple[str, int]:
    """(RFC 4180 text, data rows): records that are not blank (pandas skips blank lines)."""
    lines = [",".join(csv_field(value, quote_all) for value in record) for record in [header, *records]]
    data_rows = sum(1 for line in lines[1:] if line.strip(PANDAS_BLANK_CHARACTERS))
    return terminator.join(lines) + terminator, data_rows


def data_line_count(text: str) -> int:
    """Non-blank lines, as `TextTable.from_separated_lines` reads them."""
    return sum(1 for line in text.split("\n") if line.rstrip("\r").strip())


def guarded(text: str, separator: str, forbidden: Sequence[str]) -> str:
    """`text` with a first field that is never one of `forbidden` (ids of structured rows)."""
    lines = text.split("\n")
    return "\n".join("x" + line if line.split(separator)[0].strip() in forbidden else line for line in lines)


def with_invalid_utf8(content: bytes, position: int) -> bytes:
    position = min(position, len(content))
    return content[:position] + b"\xff" + content[position:]


def characters_up_to(max_codepoint: int, excluded: str = ""):
    return st.characters(max_codepoint=max_codepoint, exclude_categories=("Cs",), exclude_characters=excluded)


def wild_text(max_codepoint: int):
    """Any text: separators, quotes, newlines, unicode up to `max_codepoint`."""
    return st.text(
        st.one_of(st.sampled_from(SEPARATOR_CHARACTERS), characters_up_to(max_codepoint)),
        max_size=10,
    )


UTF8_TEXT = wild_text(0x10FFFF)
LATIN1_TEXT = wild_text(0xFF)
SAFE_TITLE = st.text(characters_up_to(0xFF, excluded=SEPARATOR_CHARACTERS), max_size=8)
NUMBER_TEXT = st.one_of(
    st.integers(0, 2_000_000_000).map(str),
    st.integers(-(2**70), 2**70).map(str),
    st.floats().map(repr),  # nan, inf, subnormals, 1e+308, ...
    st.sampled_from(ODD_NUMBER_TEXTS),
)
LATIN1_NUMBER_TEXT = NUMBER_TEXT.filter(lambda text: max(map(ord, text), default=0) <= 0xFF)
GOOD_TIMESTAMP = st.integers(0, 2_000_000_000).map(str)
GOOD_RATING = st.sampled_from(["1", "2", "3", "4", "5", "0.5", "4.5"])
WILD_VALUE = st.one_of(UTF8_TEXT, NUMBER_TEXT, st.sampled_from(ISO_DATETIME_TEXTS))
ONE_IN_TEN = st.sampled_from([False] * 9 + [True])  # True about one time in ten


def structured_events(item_ids: Sequence[str], numbers=NUMBER_TEXT):
    return st.builds(
        StructuredEvent,
        user=st.sampled_from(STRUCTURED_USERS),
        item=st.sampled_from(list(item_ids) + [UNKNOWN_ITEM]),
        timestamp=st.one_of(GOOD_TIMESTAMP, GOOD_TIMESTAMP, numbers),
        label=st.one_of(GOOD_RATING, GOOD_RATING, numbers),
        scenario=st.sampled_from(["web", "app", "", " "]),
    )


def wild_records(width: int, first_field_forbidden: Sequence[str]):
    """CSV records of any length (0 to width + 2) and content; never a structured id first."""

    def guard(record):
        if record and record[0].strip() in first_field_forbidden:
            record[0] = "x" + record[0]
        return record

    return st.lists(WILD_VALUE, max_size=width + 2).map(guard)


@st.composite
def mixed_in(draw, structured: list, others: list):
    """`structured` (order kept) and `others` interleaved at random places."""
    order = draw(st.permutations([0] * len(structured) + [1] * len(others)))
    mixed, structured_left, others_left = [], iter(structured), iter(others)
    for pick in order:
        mixed.append(next(structured_left) if pick == 0 else next(others_left))
    return mixed


@st.composite
def csv_style(draw):
    """(terminator, quote_all, byte-order mark)."""
    return draw(st.sampled_from(["\n", "\r\n"])), draw(st.booleans()), draw(ONE_IN_TEN)


def csv_bytes(header, records, style) -> Tuple[bytes, int]:
    terminator, quote_all, bom = style
    text, rows = csv_text(header, records, terminator, quote_all)
    return ("\ufeff" if bom else "").encode("utf-8") + text.encode("utf-8"), rows


@st.composite
def csv_table(draw, header: List[str], structured_records: list, forbidden: Sequence[str]):
    """A CSV file: structured records mixed with wild ones, repeated headers and blank lines."""
    others = draw(
        st.lists(
            st.one_of(
                wild_records(len(header), forbidden),
                st.just(list(header)),
                st.sampled_from([[], [""], ["  "], ["\t"]]),
            ),
            max_size=4,
        )
    )
    records = draw(mixed_in(structured_records, others))
    return csv_bytes(header, records, draw(csv_style()))


@st.composite
def corrupted(draw, files: Dict[str, bytes], names: Sequence[str]) -> bool:
    """Sometimes inserts a byte that is not UTF-8 into one of `names`; True if it did."""
    if not draw(ONE_IN_TEN):
        return False
    name = draw(st.sampled_from(list(names)))
    files[name] = with_invalid_utf8(files[name], draw(st.integers(0, len(files[name]))))
    return True


@st.composite
def lines_file(draw, structured_lines: List[str], separator: str, forbidden: Sequence[str], text=LATIN1_TEXT):
    """Latin-1 text: structured lines mixed with wild lines and blank lines; CRLF or LF."""
    others = draw(
        st.lists(
            st.one_of(
                text.map(lambda line: guarded(line, separator, forbidden)),
                st.sampled_from(["", "   ", "\t"]),
            ),
            max_size=4,
        )
    )
    lines = draw(mixed_in(structured_lines, others))
    terminator = draw(st.sampled_from(["\n", "\r\n"]))
    text = terminator.join(lines) + terminator
    return text.encode("latin-1"), data_line_count(text)
