"""Applies the loaders' documented fallbacks, or refuses them in strict mode."""

from typing import Optional

from tfrec_llm.data.data_error import DataError
from tfrec_llm.data.interaction_data import NOTE_PREFIX, LoadReport


class FallbackRecorder:
    """Counts every row a loader drops or repairs in a `LoadReport`.

    Each fallback has a fixed reason, e.g. "non-numeric rating: row dropped",
    and the place of its first occurrence ("ratings.csv:381"). With
    `strict=True` the first fallback raises a `DataError` instead, naming
    that place. Notes (`note`) describe data that is kept as it is and never
    raise.

    Args:
        strict: turn every fallback into a `DataError`.
        report: the report to fill (a new one by default).

    Examples:
        >>> recorder = FallbackRecorder(strict=False)
        >>> recorder.record("empty rating: row dropped", "u.data:3", count=2)
        >>> recorder.report.summary()
        '2 rows skipped: empty rating: row dropped, first at u.data:3'
    """

    def __init__(self, strict: bool, report: Optional[LoadReport] = None):
        self.strict = strict
        self.report = LoadReport() if report is None else report

    def record(self, reason: str, location: str, count: int = 1, value: Optional[str] = None):
        """Counts `count` rows handled by the fallback `reason`, first at `location`.

        Args:
            reason: what was wrong and what the loader did about it.
            location: "file:line" of the first affected row.
            count: how many rows the fallback affected (0 records nothing).
            value: the offending value of the first row, quoted in errors.
        """
        if count <= 0:
            return
        if self.strict:
            shown_value = "" if value is None else f" (value {value!r})"
            raise DataError(
                f"{location}: {reason}{shown_value}; {count} row(s) affected in all. "
                "Strict mode turns this documented fallback into an error: fix "
                "the data, or load without strict mode to apply the fallback."
            )
        self.report.add(reason, location, count)

    def note(self, reason: str, location: str, count: int = 1):
        """Counts rows that are kept as they are but worth knowing about."""
        self.report.add(NOTE_PREFIX + reason, location, count)
