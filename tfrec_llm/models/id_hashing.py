"""Hashing ids into a fixed number of embedding rows, for vocabularies of millions.

With `model.id_hash_buckets = N`, every item seen in training gets the id
slot `FIRST_ITEM_INDEX + FarmHash64(item id) % N` instead of a slot of its
own, and every user-feature value the category `1 + FarmHash64(value) % N`
(0 stays "unknown"), so the id-embedding tables have N (+2 or +1) rows
whatever the vocabulary. The hash is `tf_keras.layers.Hashing`, a core
TensorFlow op, and it is applied to the index-to-slot tables the towers
already hold (`ItemTower.id_slots`), so exported SavedModels run it with no
new op. Padding, the out-of-vocabulary slot (cold and unknown items) and
"unknown" feature values are never hashed.

Ids sharing a bucket share an embedding row: `collision_report` gives the
share of ids that share their bucket with another id (for N buckets and n
ids drawn at random, about `1 - (1 - 1/N) ** (n - 1)`).

Example:
    slots, report = hashed_item_slots(item_ids, vocabulary.id_slots, 100_000)
    report["collision_rate"]
"""

from typing import Dict, Tuple

import numpy as np
import tf_keras

from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX, OOV_SLOT

HASH_CHUNK = 1_000_000  # ids hashed per call (bounds the string tensor)


def bucket_of(values: np.ndarray, num_buckets: int) -> np.ndarray:
    """int64 bucket in [0, num_buckets) of every string in `values` (FarmHash64, as the Hashing layer)."""
    if num_buckets < 1:
        raise ValueError(f"num_buckets must be >= 1, got {num_buckets}.")
    hashing = tf_keras.layers.Hashing(num_bins=num_buckets)
    values = np.asarray(values, dtype=str)
    parts = [np.zeros(0, np.int64)]
    for start in range(0, len(values), HASH_CHUNK):
        parts.append(np.asarray(hashing(values[start : start + HASH_CHUNK]), np.int64))
    return np.concatenate(parts)


def collision_report(buckets: np.ndarray, num_buckets: int) -> Dict[str, float]:
    """{"ids", "buckets", "buckets_used", "collision_rate"}: share of ids that share their bucket."""
    counts = np.bincount(buckets, minlength=num_buckets) if len(buckets) else np.zeros(num_buckets, np.int64)
    shared = int(counts[counts > 1].sum())
    return {
        "ids": int(len(buckets)),
        "buckets": int(num_buckets),
        "buckets_used": int((counts > 0).sum()),
        "collision_rate": shared / len(buckets) if len(buckets) else 0.0,
    }


def hashed_item_slots(item_ids: np.ndarray, id_slots: np.ndarray, num_buckets: int) -> Tuple[np.ndarray, dict]:
    """(id slots with every own slot replaced by its item's bucket, collision report).

    Args:
        item_ids: the catalog's N item ids (item index i + FIRST_ITEM_INDEX).
        id_slots: int32 [N + FIRST_ITEM_INDEX] slots of `ItemVocabulary`.
        num_buckets: hash buckets.
    """
    id_slots = np.asarray(id_slots, np.int32)
    if len(id_slots) != len(item_ids) + FIRST_ITEM_INDEX:
        raise ValueError(f"id_slots has {len(id_slots)} rows; {len(item_ids)} items need {len(item_ids) + 2}.")
    own = np.flatnonzero(id_slots[FIRST_ITEM_INDEX:] > OOV_SLOT)
    buckets = bucket_of(np.asarray(item_ids, dtype=str)[own], num_buckets)
    hashed = id_slots.copy()
    hashed[own + FIRST_ITEM_INDEX] = FIRST_ITEM_INDEX + buckets
    return hashed, collision_report(buckets, num_buckets)


def hashed_feature_categories(values: np.ndarray, num_buckets: int) -> Tuple[np.ndarray, dict]:
    """(int32 [len(values) + 1] category index -> hashed category, collision report); 0 ("unknown") stays 0."""
    buckets = bucket_of(values, num_buckets)
    return np.concatenate([[0], 1 + buckets]).astype(np.int32), collision_report(buckets, num_buckets)
