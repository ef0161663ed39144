"""In-graph item id -> item index -> item embedding, for exported models.

Ids are looked up in a `tf.lookup.StaticHashTable` initialised from a text
asset (one id per line, line i = catalog item i), so the SavedModel graph
stays small for million-item catalogs. Index space as in training:
"" -> 0 (padding), unknown id -> 1, catalog item i -> i + 2.
"""

import os

import tensorflow as tf

from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX, PAD_INDEX, UNKNOWN_INDEX
from tfrec_llm.serving.catalog.serving_catalog import ServingCatalog

ITEM_IDS_FILE = "item_ids.txt"
MISSING_LINE = -1


class ItemLookup(tf.Module):
    """Item ids and embeddings of a `ServingCatalog`, as SavedModel state.

    Args:
        catalog: the items.
        scratch_dir: a directory where the id asset file is written before
            `tf.saved_model.save` copies it into the SavedModel's assets/.

    Attributes (restored by `tf.saved_model.load` under the same names):
        item_ids: string variable [N]; item_vectors: float32 variable [N, d];
        reserved_vectors: float32 variable [2, d] (padding, unknown item).

    Example:
        items = ItemLookup(catalog, "/tmp/scratch")
        items.indices(tf.constant([["a", "zzz", ""]]))  # [[2, 1, 0]]
    """

    def __init__(self, catalog: ServingCatalog, scratch_dir: str, name: str = "items"):
        super().__init__(name=name)
        os.makedirs(scratch_dir, exist_ok=True)
        ids_path = os.path.join(scratch_dir, ITEM_IDS_FILE)
        with open(ids_path, "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(f"{item_id}\n" for item_id in catalog.item_ids.tolist()))
        self.item_ids = tf.Variable(catalog.item_ids, trainable=False, name="item_ids")
        self.item_vectors = tf.Variable(catalog.item_vectors, trainable=False, name="item_vectors")
        self.reserved_vectors = tf.Variable(catalog.reserved_vectors, trainable=False, name="reserved_vectors")
        self.ids_asset = tf.saved_model.Asset(ids_path)
        self.id_table = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(
                self.ids_asset,
                tf.string,
                tf.lookup.TextFileIndex.WHOLE_LINE,
                tf.int64,
                tf.lookup.TextFileIndex.LINE_NUMBER,
            ),
            default_value=MISSING_LINE,
        )
        self.num_items = catalog.num_items
        self.embedding_dim = catalog.embedding_dim

    def indices(self, item_ids: tf.Tensor) -> tf.Tensor:
        """int32 item indices of a string tensor of any shape."""
        line = self.id_table.lookup(item_ids)
        indices = tf.where(line == MISSING_LINE, UNKNOWN_INDEX, tf.cast(line, tf.int32) + FIRST_ITEM_INDEX)
        return tf.where(tf.equal(item_ids, ""), PAD_INDEX, indices)

    def vectors(self, indices: tf.Tensor) -> tf.Tensor:
        """Embeddings [..., d] of item indices of any shape (no catalog-sized copy).

        Gathers from a dense read of the table, not from the variable: a
        sparse read (`ResourceGather`) would switch the variable to
        copy-on-read, and every dense read by the retrieval matmul would
        then copy the whole table (measured: 42 -> 18 ms per request at 1M items).
        """
        catalog = tf.gather(self.item_vectors.value(), tf.maximum(indices - FIRST_ITEM_INDEX, 0))
        reserved = tf.gather(self.reserved_vectors, tf.minimum(indices, UNKNOWN_INDEX))
        return tf.where((indices >= FIRST_ITEM_INDEX)[..., tf.newaxis], catalog, reserved)
