"""The item side of an export: ids, titles and precomputed item embeddings.

Retrieval, ranking and the encoders never run the item tower (no BERT):
they read item embeddings from this table, computed once at export with
`catalog_embeddings` (and grown by `add_items` from item text alone).
Rows follow the item index space of `data/item_vocabulary.py`: catalog
item i has index i + 2; indices 0 (padding) and 1 (unknown item) have
their own learned vectors, `reserved_vectors`.
"""

import dataclasses

import numpy as np

from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX

FORBIDDEN_ID_CHARACTERS = ("\n", "\r")


class CatalogError(ValueError):
    """Item ids or vectors cannot form a serving catalog."""


@dataclasses.dataclass
class ServingCatalog:
    """Catalog items and their embeddings, aligned by position.

    Args:
        item_ids: str [N] unique, non-empty ids (no line breaks: ids are
            stored one per line in the SavedModel's id-lookup asset).
        item_titles: str [N] display titles.
        item_vectors: float32 [N, d] embedding of catalog item i (index i + 2).
        reserved_vectors: float32 [2, d] embeddings of index 0 (padding) and
            1 (unknown item).

    Example:
        catalog = ServingCatalog(np.array(["a", "b"]), np.array(["A", "B"]),
                                 np.eye(2, dtype=np.float32), np.zeros((2, 2), np.float32))
        bigger = catalog.appended(np.array(["c"]), np.array(["C"]), np.ones((1, 2), np.float32))
    """

    item_ids: np.ndarray
    item_titles: np.ndarray
    item_vectors: np.ndarray
    reserved_vectors: np.ndarray

    def __post_init__(self):
        self.item_ids = np.asarray(self.item_ids, dtype=str)
        self.item_titles = np.asarray(self.item_titles, dtype=str)
        self.item_vectors = np.asarray(self.item_vectors, dtype=np.float32)
        self.reserved_vectors = np.asarray(self.reserved_vectors, dtype=np.float32)
        count = len(self.item_ids)
        if count == 0:
            raise CatalogError("A serving catalog needs at least one item.")
        if self.item_titles.shape != (count,):
            raise CatalogError(f"{len(self.item_titles)} titles for {count} items.")
        if self.item_vectors.ndim != 2 or self.item_vectors.shape[0] != count:
            raise CatalogError(f"item_vectors must be [{count}, d], got {list(self.item_vectors.shape)}.")
        if self.reserved_vectors.shape != (FIRST_ITEM_INDEX, self.embedding_dim):
            raise CatalogError(
                f"reserved_vectors must be [{FIRST_ITEM_INDEX}, {self.embedding_dim}], "
                f"got {list(self.reserved_vectors.shape)}."
            )
        check_item_ids(self.item_ids)

    @property
    def num_items(self) -> int:
        return len(self.item_ids)

    @property
    def embedding_dim(self) -> int:
        return self.item_vectors.shape[1]

    @classmethod
    def from_index_table(
        cls, item_ids: np.ndarray, item_titles: np.ndarray, index_table: np.ndarray
    ) -> "ServingCatalog":
        """From a [N + 2, d] table indexed by item index (what `catalog_embeddings` returns)."""
        return cls(item_ids, item_titles, index_table[FIRST_ITEM_INDEX:], index_table[:FIRST_ITEM_INDEX])

    def appended(self, item_ids: np.ndarray, item_titles: np.ndarray, item_vectors: np.ndarray) -> "ServingCatalog":
        """A catalog with new items after the existing ones (ids must be new)."""
        item_ids = np.asarray(item_ids, dtype=str)
        known = item_ids[np.isin(item_ids, self.item_ids)]
        if len(known):
            raise CatalogError(f"Items already in the catalog: {known[:5].tolist()}.")
        return ServingCatalog(
            np.concatenate([self.item_ids, item_ids]),
            np.concatenate([self.item_titles, np.asarray(item_titles, dtype=str)]),
            np.concatenate([self.item_vectors, np.asarray(item_vectors, np.float32)]),
            self.reserved_vectors,
        )


def check_item_ids(item_ids: np.ndarray) -> None:
    """Raises `CatalogError` unless ids are unique, non-empty and free of line breaks."""
    item_ids = np.asarray(item_ids, dtype=str)
    empty = np.char.str_len(item_ids) == 0
    if empty.any():
        raise CatalogError(
            f'Empty item id at position {int(np.flatnonzero(empty)[0])}: "" means padding in exported models.'
        )
    for character in FORBIDDEN_ID_CHARACTERS:
        broken = np.char.find(item_ids, character) >= 0
        if broken.any():
            raise CatalogError(f"Item id {item_ids[broken][0]!r} contains a line break.")
    values, counts = np.unique(item_ids, return_counts=True)
    if (counts > 1).any():
        raise CatalogError(f"Duplicated item ids: {values[counts > 1][:5].tolist()}.")
