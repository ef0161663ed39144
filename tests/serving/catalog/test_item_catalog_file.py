"""item_catalog.tsv round trip, including tabs, quotes and non-ASCII titles."""

import numpy as np
import pytest

from tfrec_llm.serving.catalog.item_catalog_file import item_catalog_path, read_item_catalog, write_item_catalog


def test_round_trip(tmp_path):
    ids = np.array(["1", "x y", "é"])
    titles = np.array(["Tab\there", 'Quote "q"', "Amélie (2001)"])
    write_item_catalog(str(tmp_path), ids, titles)
    read_ids, read_titles = read_item_catalog(str(tmp_path))
    assert read_ids.tolist() == ids.tolist() and read_titles.tolist() == titles.tolist()
    with open(item_catalog_path(str(tmp_path)), encoding="utf-8") as f:
        assert f.readline() == "item_id\ttitle\n"


def test_missing_file_explains(tmp_path):
    with pytest.raises(FileNotFoundError, match="holds no item catalog"):
        read_item_catalog(str(tmp_path))
