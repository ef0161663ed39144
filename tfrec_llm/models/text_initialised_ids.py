"""Item-id embedding rows initialised from item text (`model.id_init: "text"`).

A randomly initialised id row knows nothing of its item until training
moves it; a rare item's row barely moves. Initialised from the item's BERT
vector instead, items whose texts are alike start close in id space, and
training refines them from interactions: text as a prior of the id vectors
(issue 13, "text used to initialise or regularise id vectors").

The rows are the BERT vectors' top `embedding_dim` principal components
(centred, so the catalog's common direction does not make every item
alike), scaled to `model.id_init_scale` (8, chosen on ml-100k validation)
x the standard deviation of Keras' default embedding initialiser. Off by
default: the served requests in words lose precision (benchmarks/RESULTS.md). Items that share
a slot (hashed ids) share the mean of their vectors; slots without an item
(and the OOV slot, which is never read as an id) start at zero.
"""

import numpy as np

from tfrec_llm.data.item_vocabulary import OOV_SLOT

DEFAULT_EMBEDDING_STD = 0.05 / np.sqrt(3.0)  # Keras' "uniform" embedding initialiser, U(-0.05, 0.05)
AUTO_MAX_ITEMS = 100_000  # "auto" stops here: the SVD holds ~3 copies of [items, d_text] in float64


def text_initialisation_applies(text_features, embedding_dim, both_paths):
    """Whether `model.id_init` "auto" starts the id rows from text.

    It does with frozen text vectors (`text_features` not None), both the id
    and the text path (`both_paths`), at most `AUTO_MAX_ITEMS` items and an
    `embedding_dim` no wider than the vectors and the item count.
    """
    if text_features is None or not both_paths:
        return False
    items, width = np.shape(text_features)
    return items <= AUTO_MAX_ITEMS and embedding_dim <= min(items, width)


def text_initial_id_rows(text_features, id_slots, num_rows, embedding_dim, std=DEFAULT_EMBEDDING_STD):
    """[num_rows, embedding_dim] float32 initial id rows from frozen text vectors.

    Args:
        text_features: float [V, d_text] BERT vector of every item index.
        id_slots: int [V] id-embedding row of every item index.
        num_rows: rows of the id embedding.
        embedding_dim: its width (at most d_text and V).
        std: standard deviation of the returned rows' entries.

    Example:
        rows = text_initial_id_rows(assets.text_features, id_slots, 1683, 64)
    """
    features = np.asarray(text_features, np.float64)
    slots = np.asarray(id_slots, np.int64)
    if features.ndim != 2 or len(features) != len(slots):
        raise ValueError(f"text_features must be [items, d] with one row per id slot entry, got {features.shape}.")
    if embedding_dim > min(features.shape):
        raise ValueError(
            f"model.id_init 'text' takes {embedding_dim} principal components of {features.shape[0]} text vectors "
            f"of width {features.shape[1]}: lower model.embedding_dim or use id_init 'random'."
        )
    centred = features - features.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ components[:embedding_dim].T
    projected *= std / max(projected.std(), 1e-12)
    rows = np.zeros((num_rows, embedding_dim), np.float64)
    counts = np.zeros(num_rows, np.float64)
    np.add.at(rows, slots, projected)
    np.add.at(counts, slots, 1.0)
    rows /= np.maximum(counts, 1.0)[:, np.newaxis]
    rows[OOV_SLOT] = 0.0
    return rows.astype(np.float32)
