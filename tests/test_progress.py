"""Tests for `tfrec_llm.progress`: a bar on a terminal, one log line per phase otherwise."""

import io
import logging
import os
import pty
import select
import sys

import pytest

from tfrec_llm.progress import Progress, keras_verbosity

SUMMARY = "Encoded {count:,} texts in {seconds:.1f} s"


class FakeStream(io.StringIO):
    """A text stream that says whether it is a terminal."""

    def __init__(self, terminal: bool):
        super().__init__()
        self.terminal = terminal

    def isatty(self):
        return self.terminal


def _run_phase(stream, updates, refresh_seconds=0.0):
    with Progress(
        "Encoding texts",
        total=sum(updates),
        summary=SUMMARY,
        unit="texts",
        stream=stream,
        refresh_seconds=refresh_seconds,
    ) as progress:
        for n in updates:
            progress.update(n)
    return progress


def test_off_a_terminal_each_phase_logs_exactly_one_line_and_draws_nothing(caplog):
    stream = FakeStream(terminal=False)
    with caplog.at_level(logging.INFO, logger="tfrec_llm.progress"):
        _run_phase(stream, [1000, 1000, 742])
        _run_phase(stream, [3, 4])
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith("Encoded 2,742 texts in ") and lines[0].endswith(" s")
    assert lines[1].startswith("Encoded 7 texts in ")
    assert stream.getvalue() == ""


def test_on_a_terminal_the_bar_is_redrawn_as_work_gets_done_and_nothing_is_logged(caplog):
    stream = FakeStream(terminal=True)
    with caplog.at_level(logging.INFO, logger="tfrec_llm.progress"):
        _run_phase(stream, [1, 1, 1, 1, 1])
    drawn = stream.getvalue()
    assert "Encoding texts" in drawn
    for done in range(1, 6):
        assert f"{done}/5" in drawn
    assert drawn.count("\r") >= 5  # redrawn in place
    assert caplog.records == []


def _read_everything_written(fd, quiet_seconds=0.5):
    """All bytes waiting on `fd`: one `os.read` of a pseudo-terminal may return only the first chunk."""
    chunks = []
    while select.select([fd], [], [], quiet_seconds)[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_the_bar_is_drawn_on_a_real_terminal_that_reports_no_size(monkeypatch):
    """A fresh pseudo-terminal says 0 x 0 (as under `script` or some CI runners); tqdm drew nothing there."""
    leader, follower = pty.openpty()
    terminal = os.fdopen(follower, "w", encoding="utf-8")
    try:
        assert os.get_terminal_size(follower) == (0, 0)
        monkeypatch.setattr(sys, "stderr", terminal)
        _run_phase(None, [1, 1, 1])
        terminal.flush()
        drawn = _read_everything_written(leader).decode("utf-8", errors="replace")
    finally:
        terminal.close()
        os.close(leader)
    assert "Encoding texts" in drawn and "3/3" in drawn


def test_log_lines_during_a_bar_get_lines_of_their_own(monkeypatch):
    stream = FakeStream(terminal=True)
    monkeypatch.setattr(sys, "stderr", stream)
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with Progress("Exporting", total=2, summary="Exported {count} models", refresh_seconds=0.0) as progress:
            progress.update(1)
            logging.getLogger("tfrec_llm.test").warning("halfway")
            progress.update(1)
    finally:
        root.removeHandler(handler)
    drawn = stream.getvalue()
    assert "\rhalfway\n" in drawn  # the bar is cleared first, not continued by the log line
    assert drawn.index("halfway") < drawn.index("2/2")  # and redrawn after it


def test_a_failed_phase_reports_no_summary(caplog):
    with caplog.at_level(logging.INFO, logger="tfrec_llm.progress"), pytest.raises(RuntimeError, match="boom"):
        with Progress("Encoding texts", total=3, summary=SUMMARY, stream=FakeStream(terminal=False)) as progress:
            progress.update(1)
            raise RuntimeError("boom")
    assert caplog.records == []


def test_keras_draws_a_bar_on_a_terminal_and_one_line_per_epoch_otherwise_unless_configured():
    assert keras_verbosity(None, FakeStream(terminal=True)) == 1
    assert keras_verbosity(None, FakeStream(terminal=False)) == 2
    assert keras_verbosity(None, object()) == 2  # no isatty at all
    assert keras_verbosity(2, FakeStream(terminal=True)) == 2  # explicit values are kept
    assert keras_verbosity(0, FakeStream(terminal=True)) == 0
