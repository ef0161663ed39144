"""Rows scaled to unit L2 norm: the one NumPy home for cosine geometry outside the graph.

Item, text and request vectors are compared by cosine across the package (the cold-item
map, requests in words, the cold-user blend, explanations, the `text_retrieval` export).
Each scales its rows here, so a zero row (an item without text, a padding row) means the
same everywhere: it stays zero instead of turning into NaN.
"""

import numpy as np


def unit_rows(vectors, dtype=np.float32) -> np.ndarray:
    """`vectors` `[n, d]` as `dtype`, each row divided by its L2 norm; all-zero rows stay zero.

    Args:
        vectors: array-like `[n, d]` (or any shape: the last axis is the vector).
        dtype: the floating type of the result and of the arithmetic (float64 where a fit needs it).

    Example:
        unit_rows([[3.0, 4.0], [0.0, 0.0]])  # [[0.6, 0.8], [0.0, 0.0]]
    """
    vectors = np.asarray(vectors, dtype)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0).astype(dtype)
