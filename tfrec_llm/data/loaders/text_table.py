"""A data file read as string columns whose rows can be traced to their line.

Loaders read every file through `TextTable` so that any row they drop or
reject can be reported as "file:line". Three formats:

- `from_separated_lines`: files without quoting, one record per line and a
  fixed separator (MovieLens' `u.data`, `u.item`, `ratings.dat`, ...).
  Lines with the wrong number of fields are dropped and counted.
- `from_csv`: real CSV (quoted fields, a header row), read by pandas' fast
  C parser with every column as `str`. Rows with too many fields are dropped
  and counted; line numbers are found lazily by re-reading the file with the
  `csv` module, only when a problem has to be located.
- `from_parquet`: Parquet through pandas (needs pyarrow); rows are located as
  "file:row N".
"""

import csv
import os
import re
import warnings
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from tfrec_llm.data.data_error import DataError
from tfrec_llm.data.loaders.fallback_recorder import FallbackRecorder

CSV_ENCODING = "utf-8-sig"  # UTF-8, tolerating a byte-order mark.
PANDAS_SKIPPED_LINE = re.compile(r"Skipping line (\d+): expected (\d+) fields, saw (\d+)")
WRONG_FIELD_COUNT = "wrong number of fields: row dropped"
PYARROW_INSTALL_HINT = "pip install pyarrow"
SOURCE_FORMATS = ("lines", "csv", "parquet")
QUOTE_SCAN_CHUNK_BYTES = 1 << 24
BLANK_LINE_CHARACTERS = " \t\r\n"  # pandas skips lines of only these; nothing else is blank
INT64_FLOAT_BOUNDS = (-(2.0**63), 2.0**63)  # floats in [low, high) convert to int64 exactly


def _require_file(path: str):
    if os.path.isfile(path):
        return
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(folder):
        existing = sorted(os.listdir(folder))
        raise DataError(f"File not found: {path}. The folder {folder} holds: {_shown_names(existing)}.")
    raise DataError(f"File not found: {path} (its folder {folder} does not exist either).")


def _shown_names(names: Sequence[str], limit: int = 20) -> str:
    if not names:
        return "nothing"
    shown = ", ".join(repr(n) for n in list(names)[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _first_undecodable_line(path: str, encoding: str) -> Optional[int]:
    with open(path, "rb") as handle:
        for line_number, raw_line in enumerate(handle, start=1):
            try:
                raw_line.decode(encoding)
            except UnicodeDecodeError:
                return line_number
    return None


class TextTable:
    """Rows of one file as string columns, each row traceable to its place.

    All values are `str` ("" = missing). Rows keep the order of the file;
    `location(position)` names the place of the row at `position`.

    Args:
        path: the file that was read.
        frame: a pandas DataFrame whose columns are all `str`.
        source_format: "lines" (line numbers known up front), "csv" (line
            numbers found lazily) or "parquet" (rows located as "row N").
        header: the column names as written in the file's header row, or
            None when the file has no header.
        line_numbers: for "lines", the 1-based line of each row.
        skipped_records: for "csv", the record numbers pandas skipped.

    Examples:
        >>> table = TextTable.from_separated_lines(
        ...     "u.data", "\\t", ["user", "item", "rating", "time"], "latin-1",
        ...     FallbackRecorder(strict=False))  # doctest: +SKIP
        >>> table.location(0)  # doctest: +SKIP
        'u.data:1'
    """

    def __init__(
        self,
        path: str,
        frame: pd.DataFrame,
        source_format: str,
        header: Optional[List[str]] = None,
        line_numbers: Optional[np.ndarray] = None,
        skipped_records: Sequence[int] = (),
    ):
        if source_format not in SOURCE_FORMATS:
            raise ValueError(f"source_format must be one of {SOURCE_FORMATS}, got {source_format!r}")
        self.path = path
        self.frame = frame
        self.source_format = source_format
        self.header = header
        self._line_numbers = line_numbers
        self._skipped_records = set(skipped_records)
        self._stripped_series: Dict[str, pd.Series] = {}
        self._stripped_arrays: Dict[str, np.ndarray] = {}
        self._csv_row_lines: List[int] = []
        self._csv_record_lines: Dict[int, int] = {}
        self._csv_scan_complete = False

    @property
    def columns(self) -> List[str]:
        return [str(c) for c in self.frame.columns]

    def __len__(self) -> int:
        return len(self.frame)

    def values(self, column: str) -> np.ndarray:
        """The column as a str array, exactly as read."""
        return self.frame[column].to_numpy(dtype=str)

    def stripped_series(self, column: str) -> pd.Series:
        """The column with surrounding whitespace removed (cached)."""
        if column not in self._stripped_series:
            self._stripped_series[column] = self.frame[column].str.strip()
        return self._stripped_series[column]

    def stripped(self, column: str) -> np.ndarray:
        """The column as a str array with surrounding whitespace removed (cached)."""
        if column not in self._stripped_arrays:
            self._stripped_arrays[column] = self.stripped_series(column).to_numpy(dtype=str)
        return self._stripped_arrays[column]

    def is_empty(self, column: str) -> np.ndarray:
        """Boolean array: the column's value is empty or whitespace."""
        return (self.stripped_series(column) == "").to_numpy(dtype=bool)

    def require_columns(self, names: Sequence[str], role: str, hint: Optional[str] = None):
        """Raises a `DataError` naming every missing column and those that exist.

        Args:
            names: the columns the caller needs.
            role: what the file is, for the message (e.g. "interactions file").
            hint: how to fix it (default: "Fix the file's header.").
        """
        missing = [n for n in names if n not in self.columns]
        if missing:
            raise DataError(
                f"{self.path}: the {role} lacks column(s) {_shown_names(missing)}; "
                f"its columns are {_shown_names(self.columns)}. " + (hint or "Fix the file's header.")
            )

    def location(self, position: int) -> str:
        """'file:line' (or 'file:row N' for Parquet) of the row at `position`."""
        if self.source_format == "lines":
            return f"{self.path}:{int(self._line_numbers[position])}"
        if self.source_format == "parquet":
            return f"{self.path}:row {position + 1}"
        line = self._csv_line_of_row(position)
        if line is None:
            return f"{self.path}:data row {position + 1}"
        return f"{self.path}:{line}"

    # ----------------------------------------------------------- readers

    @classmethod
    def from_separated_lines(
        cls,
        path: str,
        separator: str,
        column_names: Sequence[str],
        encoding: str,
        recorder: FallbackRecorder,
    ) -> "TextTable":
        """Reads an unquoted file with one record of `column_names` per line.

        Blank lines are ignored; lines with another number of fields are
        dropped and counted. Raises a `DataError` for a missing or empty file,
        bytes not valid in `encoding`, or a file no line of which fits.
        """
        _require_file(path)
        with open(path, "rb") as handle:
            raw = handle.read()
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as error:
            line = _first_undecodable_line(path, encoding)
            raise DataError(
                f"{path}:{line}: bytes that are not valid {encoding} ({error.reason}). Save the file as {encoding}."
            ) from None
        lines = pd.Series(text.split("\n"), dtype=object).str.rstrip("\r")
        line_numbers = np.arange(1, len(lines) + 1)
        non_blank = (lines.str.strip().str.len() > 0).to_numpy()
        if not non_blank.any():
            raise DataError(f"{path} is empty: it holds no data lines.")
        lines, line_numbers = lines[non_blank], line_numbers[non_blank]
        fields = lines.str.split(separator, regex=False)
        field_counts = fields.str.len().to_numpy()
        fits = field_counts == len(column_names)
        if not fits.any():
            raise DataError(
                f"{path}:{line_numbers[0]}: expected {len(column_names)} fields "
                f"separated by {separator!r} ({', '.join(column_names)}), found "
                f"{field_counts[0]}; no line of the file has that layout."
            )
        first_misfit = np.flatnonzero(~fits)[:1]
        if first_misfit.size:
            recorder.record(
                f"wrong number of fields (expected {len(column_names)} separated by {separator!r}): row dropped",
                f"{path}:{line_numbers[first_misfit[0]]}",
                int((~fits).sum()),
                value=lines.iloc[first_misfit[0]],
            )
        frame = pd.DataFrame(fields[fits].tolist(), columns=list(column_names), dtype=object)
        return cls(path, frame, "lines", line_numbers=line_numbers[fits])

    @classmethod
    def from_csv(cls, path: str, recorder: FallbackRecorder) -> "TextTable":
        """Reads a UTF-8 CSV file with a header row, every column as `str`.

        Rows with more fields than the header are dropped and counted (rows
        with fewer get "" in the missing columns, which the loaders' empty
        value checks then catch). Raises a `DataError` for a missing or empty
        file, invalid UTF-8 (naming the line) or unparseable CSV.
        """
        _require_file(path)
        if os.path.getsize(path) == 0:
            raise DataError(f"{path} is empty (0 bytes); expected a CSV file with a header row.")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            try:
                frame = pd.read_csv(
                    path,
                    dtype=str,
                    keep_default_na=False,
                    na_filter=False,
                    index_col=False,
                    on_bad_lines="warn",
                    encoding=CSV_ENCODING,
                )
            except UnicodeDecodeError as error:
                line = _first_undecodable_line(path, "utf-8")
                raise DataError(
                    f"{path}:{line}: bytes that are not valid UTF-8 ({error.reason}). "
                    "Save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)."
                ) from None
            except pd.errors.EmptyDataError:
                raise DataError(f"{path} is empty: it has no header row and no data.") from None
            except (pd.errors.ParserError, ValueError) as error:
                raise DataError(f"{path}: cannot be parsed as CSV: {error}") from None
        skipped_records = [
            int(match.group(1))
            for warning in caught
            if issubclass(warning.category, pd.errors.ParserWarning)
            for match in PANDAS_SKIPPED_LINE.finditer(str(warning.message))
        ]
        if len(frame) == 0:
            raise DataError(f"{path} has a header ({_shown_names(list(frame.columns))}) but no data rows.")
        table = cls(
            path,
            frame,
            "csv",
            header=[str(c) for c in frame.columns],
            skipped_records=skipped_records,
        )
        if skipped_records:
            first_record = min(skipped_records)
            line = table._csv_line_of_record(first_record)
            where = f"{path}:{line}" if line is not None else f"{path}:record {first_record}"
            recorder.record(
                f"wrong number of fields (more than the header's {len(frame.columns)}): row dropped",
                where,
                len(skipped_records),
            )
        return table

    @classmethod
    def from_parquet(cls, path: str) -> "TextTable":
        """Reads a Parquet file; every column is converted to `str`.

        Missing values become "", integral floats lose their ".0" (so ids
        match the catalog's), datetimes become Unix seconds. Raises a
        `DataError` if pyarrow is not installed or the file is not Parquet.
        """
        _require_file(path)
        try:
            import pyarrow  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
        except ImportError:
            raise DataError(
                f"Reading the Parquet file {path} needs the pyarrow package: "
                f"{PYARROW_INSTALL_HINT} (or convert the file to CSV)."
            ) from None
        try:
            frame = pd.read_parquet(path)
        except Exception as error:  # pylint: disable=broad-except
            raise DataError(f"{path}: cannot be read as Parquet ({type(error).__name__}: {error}).") from None
        if len(frame) == 0:
            raise DataError(f"{path} holds no rows (columns: {_shown_names(list(frame.columns))}).")
        frame = pd.DataFrame({str(name): _column_as_str(frame[name]) for name in frame.columns})
        return cls(path, frame, "parquet", header=list(frame.columns))

    # ---------------------------------------------------- CSV line finder

    def _csv_line_of_row(self, position: int) -> Optional[int]:
        self._scan_csv(until_row=position)
        if position < len(self._csv_row_lines):
            return self._csv_row_lines[position]
        return None

    def _csv_line_of_record(self, record_number: int) -> Optional[int]:
        self._scan_csv(until_record=record_number)
        return self._csv_record_lines.get(record_number)

    def _scan_csv(self, until_row: int = -1, until_record: int = -1):
        """Re-reads the CSV to map pandas' rows and records to physical lines.

        pandas numbers records (a quoted multi-line field is one record, blank
        lines count); re-reading the file gives each record's first line.
        Stops once `until_row` and `until_record` are known (keeping twice the
        rows known so far, so repeated look-ups stay linear).
        """
        if self._csv_scan_complete:
            return
        rows_known = until_row < len(self._csv_row_lines)
        record_known = until_record < 0 or until_record in self._csv_record_lines
        if rows_known and record_known:
            return
        wanted_rows = max(until_row, 2 * len(self._csv_row_lines))
        row_lines: List[int] = []
        record_lines: Dict[int, int] = {}
        header_seen = False
        complete = True
        for record_number, start_line, blank in _csv_records(self.path):
            if record_number in self._skipped_records:
                record_lines[record_number] = start_line
            elif not blank:
                if header_seen:
                    row_lines.append(start_line)
                header_seen = True
            if len(row_lines) > wanted_rows and record_number >= until_record:
                complete = False
                break
        self._csv_scan_complete = complete
        self._csv_row_lines = row_lines
        self._csv_record_lines = record_lines


def _csv_records(path: str) -> Iterator[Tuple[int, int, bool]]:
    """(record number, first line, is blank) of each CSV record, 1-based.

    Files without any quote character have one record per line and are
    scanned as plain lines (fast); others go through the `csv` module. A
    record is blank as pandas sees it: one line of only spaces and tabs (a
    line `""` or of other whitespace is a row).
    """
    if not _has_quote_character(path):
        blank_bytes = BLANK_LINE_CHARACTERS.encode("ascii")
        with open(path, "rb") as handle:
            for line_number, line in enumerate(handle, start=1):
                yield line_number, line_number, not line.strip(blank_bytes)
        return
    try:
        with open(path, newline="", encoding=CSV_ENCODING, errors="replace") as handle:
            last_line = [""]

            def remembered_lines():
                for line in handle:
                    last_line[0] = line
                    yield line

            reader = csv.reader(remembered_lines())
            previous_end = 0
            for record_number, _ in enumerate(reader, start=1):
                start_line, previous_end = previous_end + 1, reader.line_num
                one_line = previous_end == start_line
                yield record_number, start_line, one_line and not last_line[0].strip(BLANK_LINE_CHARACTERS)
    except csv.Error:
        return


def _has_quote_character(path: str) -> bool:
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(QUOTE_SCAN_CHUNK_BYTES)
            if not chunk:
                return False
            if b'"' in chunk:
                return True


def _column_as_str(column: pd.Series) -> np.ndarray:
    missing = column.isna().to_numpy()
    if pd.api.types.is_datetime64_any_dtype(column):
        seconds = np.zeros(len(column), dtype=np.int64)
        epoch = pd.Timestamp("1970-01-01", tz=getattr(column.dt, "tz", None))
        seconds[~missing] = ((column[~missing] - epoch) // pd.Timedelta(seconds=1)).to_numpy()
        values = seconds.astype(str)
    elif pd.api.types.is_float_dtype(column):
        numbers = column.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = np.isfinite(numbers)
        values = numbers.astype(str)
        if np.all(numbers[finite] == np.round(numbers[finite])):
            # Integral floats lose their ".0"; those beyond int64 keep their float spelling ("1e+30").
            fits = finite & (numbers >= INT64_FLOAT_BOUNDS[0]) & (numbers < INT64_FLOAT_BOUNDS[1])
            values[fits] = numbers[fits].astype(np.int64).astype(str)
            values[~finite] = ""
    else:
        # Through Python objects: pandas 3 string columns with nulls truncate every value to its
        # first character in `to_numpy(dtype=str)`.
        values = column.to_numpy(dtype=object, na_value="").astype(str)
    return np.where(missing, "", values).astype(str)
