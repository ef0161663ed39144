import pytest

from tfrec_llm.data.data_error import DataError
from tfrec_llm.data.loaders.fallback_recorder import FallbackRecorder


def test_records_count_and_first_location():
    recorder = FallbackRecorder(strict=False)

    recorder.record("empty rating: row dropped", "u.data:3", 2)
    recorder.record("empty rating: row dropped", "u.data:9", 1)
    recorder.record("nothing happened", "u.data:1", 0)

    assert recorder.report.skipped == {"empty rating: row dropped": [3, "u.data:3"]}


def test_strict_mode_raises_with_place_reason_value_and_count():
    recorder = FallbackRecorder(strict=True)

    with pytest.raises(
        DataError,
        match=r"^u\.data:3: non-numeric rating: row dropped \(value 'x'\); 2 row\(s\) affected in all\. Strict mode",
    ):
        recorder.record("non-numeric rating: row dropped", "u.data:3", 2, value="x")
    recorder.record("no rows", "u.data:1", 0)  # nothing to refuse
    assert recorder.report.skipped == {}


def test_notes_never_raise_and_are_marked_as_kept():
    recorder = FallbackRecorder(strict=True)

    recorder.note("user with a single interaction", "log.csv:7", 4)

    assert recorder.report.skipped == {"note (kept): user with a single interaction": [4, "log.csv:7"]}
