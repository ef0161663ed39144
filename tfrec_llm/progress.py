"""Progress of long phases: a live bar on a terminal, one log line otherwise.

A phase (encoding the catalog with BERT, evaluating, validating exports) is
a `with Progress(...) as progress:` block that calls `progress.update(n)`
as work gets done. When the stream is a terminal, tqdm draws a bar there
(log records are routed around it); otherwise (a pipe, a file, a notebook,
a test) nothing is drawn and the finished phase logs ONE INFO line, e.g.
"Encoded 9,742 texts with BERT in 41.2 s". Training's progress is Keras'
own (`train.verbose`, see `keras_verbosity`).
"""

import logging
import shutil
import sys
import time
from typing import Optional, TextIO

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

logger = logging.getLogger(__name__)


def is_terminal(stream) -> bool:
    """Whether `stream` is an interactive terminal (False for streams without `isatty`)."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except ValueError:  # a closed stream
        return False


def keras_verbosity(configured: Optional[int] = None, stream: Optional[TextIO] = None) -> int:
    """Keras `fit(verbose=...)`: `configured` if set, else 1 (a live bar) on a terminal, 2 (a line per epoch).

    Keras draws on stdout, so `stream` defaults to `sys.stdout`.
    """
    if configured is not None:
        return configured
    return 1 if is_terminal(sys.stdout if stream is None else stream) else 2


class Progress:
    """Reports one long phase: a live bar on a terminal, one log line at its end otherwise.

    Args:
        description: what the phase is doing, shown beside the bar, e.g.
            "Encoding texts with BERT".
        total: units of work expected (None: unknown, the bar just counts).
        summary: the line logged when the phase ends (off a terminal), a
            format string of `count` (units done) and `seconds`, e.g.
            "Encoded {count:,} texts with BERT in {seconds:.1f} s".
        unit: the name of one unit on the bar.
        stream: where the bar is drawn (default: `sys.stderr`, read when the
            phase starts); a bar is drawn only if `stream.isatty()`.
        refresh_seconds: least time between two redraws of the bar.

    Example:
        with Progress("Encoding texts", total=len(texts),
                      summary="Encoded {count:,} texts in {seconds:.1f} s") as progress:
            for start in range(0, len(texts), 256):
                encode(texts[start:start + 256])
                progress.update(len(texts[start:start + 256]))
    """

    def __init__(
        self,
        description: str,
        total: Optional[int],
        summary: str,
        unit: str = "it",
        stream: Optional[TextIO] = None,
        refresh_seconds: float = 0.1,
    ):
        self.description = description
        self.total = total
        self.summary = summary
        self.unit = unit
        self.stream = stream
        self.refresh_seconds = refresh_seconds
        self.count = 0
        self._started = None
        self._bar = None
        self._redirect = None

    def __enter__(self) -> "Progress":
        self.count = 0
        self._started = time.monotonic()
        stream = sys.stderr if self.stream is None else self.stream
        if is_terminal(stream):
            # The size is read once, with a fallback: a pseudo-terminal may say 0 x 0, and tqdm draws
            # nothing on a terminal of 0 rows.
            columns, rows = shutil.get_terminal_size()
            self._bar = tqdm(
                total=self.total,
                desc=self.description,
                unit=self.unit,
                file=stream,
                mininterval=self.refresh_seconds,
                ncols=columns,
                nrows=rows,
                leave=True,
            )
            self._redirect = logging_redirect_tqdm(tqdm_class=tqdm)
            self._redirect.__enter__()
        return self

    def update(self, n: int = 1, note: Optional[str] = None):
        """Marks `n` more units done; `note` (e.g. what is being worked on) is shown beside the bar.

        `update(0, note=...)` announces the next step before it starts.
        """
        self.count += n
        if self._bar is not None:
            if note is not None:
                # Before the bar, not after: a narrow terminal cuts the end of the line.
                self._bar.set_description(f"{self.description} [{note}]", refresh=n == 0)
            self._bar.update(n)

    @property
    def seconds(self) -> float:
        """Time since the phase started."""
        return time.monotonic() - self._started

    def __exit__(self, exc_type, exc, traceback):
        if self._bar is not None:
            self._redirect.__exit__(exc_type, exc, traceback)
            self._bar.close()
            self._bar = self._redirect = None
        elif exc_type is None:
            logger.info(self.summary.format(count=self.count, seconds=self.seconds))
        return False
