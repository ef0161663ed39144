"""Maps categorical strings (scenarios, user features) to indices; 0 = unknown."""

import numpy as np

UNKNOWN_CATEGORY = 0


class CategoryVocabulary:
    """A sorted list of known values; index i+1 is `values[i]`, 0 is unknown.

    Example:
        vocab = CategoryVocabulary(["web", "app", "web"])
        vocab.lookup(["app", "tv"])  # [1, 0]
    """

    def __init__(self, values):
        self.values = np.unique(np.asarray(values, dtype=str))

    @property
    def size(self) -> int:
        return len(self.values) + 1

    def lookup(self, values) -> np.ndarray:
        values = np.asarray(values, dtype=str)
        if len(self.values) == 0:
            return np.zeros(len(values), dtype=np.int32)
        position = np.searchsorted(self.values, values)
        position = np.minimum(position, len(self.values) - 1)
        known = self.values[position] == values
        return np.where(known, position + 1, UNKNOWN_CATEGORY).astype(np.int32)
