"""The oracle: what a loader must keep of one generated interaction row.

A label or timestamp is kept exactly when its text is a decimal number
within the float32 (labels) or int64 (timestamps) range; a row whose item is
unknown is dropped. `StructuredEvent` is a row generated with a known fate.

Example:
    >>> expected_label(" 4.5 "), expected_label("1e39"), expected_timestamp("12.9")
    (4.5, None, 12)
"""

import dataclasses
import math
import re
from typing import Optional

import numpy as np

from tfrec_llm.data.loaders.row_checks import FLOAT32_LARGEST, INT64_RANGE

STRUCTURED_USERS = ("user-0", "user-1", "user-2")
UNKNOWN_ITEM = "no-such-item"
DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
INTEGER = re.compile(r"[+-]?[0-9]+")


def expected_label(text: str) -> Optional[float]:
    """The float32 label a loader must keep for `text`, None if the row must be dropped."""
    text = text.strip()
    if not DECIMAL.fullmatch(text):
        return None
    value = float(text)
    if not math.isfinite(value) or abs(value) > FLOAT32_LARGEST:
        return None
    return float(np.float32(value))


def expected_timestamp(text: str) -> Optional[int]:
    """The int64 timestamp a loader must keep for `text`, None if the row must be dropped."""
    text = text.strip()
    if not DECIMAL.fullmatch(text) or not math.isfinite(float(text)):
        return None
    value = int(text) if INTEGER.fullmatch(text) else math.floor(float(text))
    return value if INT64_RANGE[0] <= value <= INT64_RANGE[1] else None


@dataclasses.dataclass
class StructuredEvent:
    """An interaction row generated with a known fate."""

    user: str
    item: str
    timestamp: str
    label: str
    scenario: str = ""

    def expected(self, known_items, has_label: bool = True):
        """(user, item, timestamp, label) the loader must keep, or None (must be dropped)."""
        timestamp = expected_timestamp(self.timestamp)
        label = expected_label(self.label) if has_label else 1.0
        if self.item not in known_items or timestamp is None or label is None:
            return None
        return (self.user, self.item, timestamp, label)
