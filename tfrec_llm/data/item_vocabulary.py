"""Maps external item ids to the integer indices every tensor uses.

Index space ("item index"), shared by the text table, the towers and exports:
- 0: padding (empty history slots),
- 1: unknown item (an id not in the catalog),
- 2 .. N+1: catalog items, in catalog order.

Item-id embeddings have their own, smaller space ("id slot"): only items
seen in training get a slot of their own (2 ..); padding is 0 and every
other item, cold-start items included, shares the out-of-vocabulary slot 1.
So a cold item is represented by its text plus the OOV embedding.
"""

import numpy as np

PAD_INDEX = 0
UNKNOWN_INDEX = 1
FIRST_ITEM_INDEX = 2
PAD_SLOT = 0
OOV_SLOT = 1


class ItemVocabulary:
    """Item id <-> index, and index -> id-embedding slot.

    Args:
        item_ids: the catalog's item ids, in catalog order.
        trained_item_ids: ids seen in training (they get id slots).

    Example:
        vocab = ItemVocabulary(np.array(["a", "b", "c"]), np.array(["b"]))
        vocab.lookup(["b", "zzz"])  # [3, 1]
        vocab.id_slots             # [0, 1, 1, 2, 1]
    """

    def __init__(self, item_ids: np.ndarray, trained_item_ids: np.ndarray):
        self.item_ids = np.asarray(item_ids, dtype=str)
        self._index = {item_id: i + FIRST_ITEM_INDEX for i, item_id in enumerate(self.item_ids.tolist())}
        trained = np.isin(self.item_ids, np.asarray(trained_item_ids, dtype=str))
        slots = np.full(len(self.item_ids), OOV_SLOT, dtype=np.int32)
        slots[trained] = np.arange(trained.sum(), dtype=np.int32) + FIRST_ITEM_INDEX
        self.id_slots = np.concatenate([[PAD_SLOT, OOV_SLOT], slots]).astype(np.int32)

    @property
    def num_items(self) -> int:
        """Catalog size N."""
        return len(self.item_ids)

    @property
    def size(self) -> int:
        """Rows of index-space tables: N + 2."""
        return self.num_items + FIRST_ITEM_INDEX

    def lookup(self, item_ids) -> np.ndarray:
        """External ids -> item indices (unknown ids -> UNKNOWN_INDEX)."""
        get = self._index.get
        return np.fromiter(
            (get(i, UNKNOWN_INDEX) for i in np.asarray(item_ids, dtype=str).tolist()),
            dtype=np.int32,
            count=len(item_ids),
        )
