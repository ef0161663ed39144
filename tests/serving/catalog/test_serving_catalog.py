"""ServingCatalog: checked ids and vectors, growth by appending."""

import numpy as np
import pytest

from tfrec_llm.serving.catalog.serving_catalog import CatalogError, ServingCatalog


def catalog(ids=("a", "b")):
    n = len(ids)
    return ServingCatalog(
        np.array(ids), np.array([i.upper() for i in ids]), np.ones((n, 2), np.float32), np.zeros((2, 2), np.float32)
    )


def test_from_index_table_splits_reserved_rows():
    table = np.arange(8, dtype=np.float32).reshape(4, 2)
    built = ServingCatalog.from_index_table(["a", "b"], ["A", "B"], table)
    np.testing.assert_array_equal(built.reserved_vectors, [[0, 1], [2, 3]])
    np.testing.assert_array_equal(built.item_vectors, [[4, 5], [6, 7]])
    assert built.num_items == 2 and built.embedding_dim == 2


def test_appended_adds_items_after_existing_ones():
    grown = catalog().appended(["c"], ["C"], np.full((1, 2), 3.0))
    assert grown.item_ids.tolist() == ["a", "b", "c"] and grown.item_titles.tolist() == ["A", "B", "C"]
    np.testing.assert_array_equal(grown.item_vectors[-1], [3.0, 3.0])
    with pytest.raises(CatalogError, match=r"already in the catalog: \['b'\]"):
        catalog().appended(["b"], ["B"], np.ones((1, 2)))


@pytest.mark.parametrize(
    "ids, message",
    [
        ((), "at least one item"),
        (("a", ""), "Empty item id at position 1"),
        (("a", "b\nc"), "line break"),
        (("a", "a"), r"Duplicated item ids: \['a'\]"),
    ],
)
def test_bad_ids_are_rejected(ids, message):
    with pytest.raises(CatalogError, match=message):
        catalog(ids)


def test_shapes_are_checked():
    with pytest.raises(CatalogError, match=r"reserved_vectors must be \[2, 2\]"):
        ServingCatalog(np.array(["a"]), np.array(["A"]), np.ones((1, 2)), np.zeros((1, 2)))
