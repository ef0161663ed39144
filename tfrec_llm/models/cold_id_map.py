"""Id vectors for items without an id row, mapped from their text (`model.cold_item_ids: "from_text"`).

With fusion "paths" a score is the mean of an id cosine and a text cosine.
An item that never appeared in training (a cold item, or one added later
by `add-items` / `adapt`) has no id row, so its id half is zero and its
score is its text cosine alone, on a different scale from the items that
have both halves: on ml-100k under time_cut, cold-item Recall@50 was 0.06
against 0.53 for warm items (benchmarks/RESULTS.md, "Cold items from text";
the map lifts it to 0.18, median of 3 seeds, but lowers ml-latest-small's: opt-in).

After training, a ridge regression from the items' frozen BERT vectors to
their trained id rows (both L2-normalised, fitted on every item whose id
row is trained, not all zeros) gives a [d_text, embedding_dim] map; at inference an item without an
id row gets the map of its text as its id vector. Training is unchanged
(id dropout still trains the text half alone): the map is fitted once, at
the end, from the weights training chose.
"""

import numpy as np
import tensorflow as tf

from tfrec_llm.data.item_vocabulary import OOV_SLOT
from tfrec_llm.unit_vectors import unit_rows


def fit_text_to_id_map(text_features, id_slots, id_rows, l2: float) -> np.ndarray:
    """float32 [d_text, d] ridge map from L2-normalised text vectors to L2-normalised id rows.

    Fitted on the items with an id row that is not all zeros (rows `adapt`
    left untrained are zeros).

    Args:
        text_features: float32 [V, d_text] frozen text vectors per item index.
        id_slots: int [V] id-embedding row of each item index (`OOV_SLOT` = none).
        id_rows: float32 [rows, d] the trained id embedding.
        l2: ridge strength (on unit-length inputs; `model.cold_item_ids_l2`).

    Example:
        >>> text = np.eye(3, dtype=np.float32)
        >>> w = fit_text_to_id_map(text, np.array([0, 2, 3]), np.eye(4, 2, dtype=np.float32)[[0, 0, 0, 1]], 1e-6)
        >>> np.round(text[2] @ w, 3).tolist()  # index 2 has row 3 = [0, 1]
        [0.0, 1.0]
    """
    slots, id_rows = np.asarray(id_slots), np.asarray(id_rows)
    has_row = trained_items(slots, id_rows)
    if not has_row.any():
        raise ValueError("No item has a trained id row: nothing to fit a text-to-id map on.")
    x = unit_rows(np.asarray(text_features)[has_row], dtype=np.float64)
    y = unit_rows(id_rows[slots[has_row]], dtype=np.float64)
    gram = x.T @ x + l2 * np.eye(x.shape[1])
    return np.linalg.solve(gram, x.T @ y).astype(np.float32)


def trained_items(id_slots, id_rows) -> np.ndarray:
    """bool [V]: item indices with an id row that is not all zeros (what the map is fitted on)."""
    slots, id_rows = np.asarray(id_slots), np.asarray(id_rows)
    return (slots > OOV_SLOT) & (np.abs(id_rows[slots]).sum(axis=1) > 0)


def mapped_id_vectors(text_vectors, cold_id_map):
    """[N, d] id vectors (not normalised) of frozen BERT vectors [N, d_text]: the map of their unit vectors.

    The item tower's rule for items without an id row, and the `item_text_encoder` export's.
    """
    unit_text = tf.math.l2_normalize(tf.cast(text_vectors, tf.float32), axis=-1)
    return tf.matmul(unit_text, tf.cast(cold_id_map, tf.float32))
