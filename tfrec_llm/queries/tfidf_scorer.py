"""A lexical baseline for natural-language requests: TF-IDF cosine similarity.

Scores an item by the words it shares with the request (lower-cased word
tokens, smoothed inverse document frequency, L2-normalised vectors). It is
what exact-match search gives; a text tower earns its keep where requests
and items share meaning but no words.
"""

import collections
import math
import re
from typing import List, Sequence

import numpy as np

WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> List[str]:
    return WORD.findall(str(text).lower())


class TfidfScorer:
    """TF-IDF over a fixed collection of item texts.

    Args:
        item_texts: one text per catalog item.

    Example:
        scorer = TfidfScorer(["A haunted house", "A love story"])
        scorer.scores(["haunted castle"])  # [[0.7.., 0.0]]
    """

    def __init__(self, item_texts: Sequence[str]):
        self._item_counts = [collections.Counter(words(text)) for text in item_texts]
        document_frequency = collections.Counter(w for counts in self._item_counts for w in counts)
        num_items = len(self._item_counts)
        self._idf = {w: math.log((1 + num_items) / (1 + df)) + 1.0 for w, df in document_frequency.items()}
        self._item_norms = np.array(
            [math.sqrt(sum((c * self._idf[w]) ** 2 for w, c in counts.items())) or 1.0 for counts in self._item_counts]
        )

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        """float [Q, N] cosine similarities of each query with every item (0 when no word is shared)."""
        result = np.zeros((len(queries), len(self._item_counts)))
        for row, query in enumerate(queries):
            query_weights = {
                w: c * self._idf[w] for w, c in collections.Counter(words(query)).items() if w in self._idf
            }
            norm = math.sqrt(sum(v * v for v in query_weights.values()))
            if norm == 0:
                continue
            for column, counts in enumerate(self._item_counts):
                shared = sum(weight * counts[w] * self._idf[w] for w, weight in query_weights.items() if w in counts)
                result[row, column] = shared / (norm * self._item_norms[column])
        return result
