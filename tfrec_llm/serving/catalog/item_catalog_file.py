"""`assets.extra/item_catalog.tsv`: item ids and display titles of an export.

Tab-separated with a header (`item_id`, `title`), quoted by the `csv`
module where needed, in catalog order (row i = catalog item i).
"""

import csv
import os
from typing import Sequence, Tuple

import numpy as np

from tfrec_llm.serving.export.warmup_request import ASSETS_EXTRA_DIR

ITEM_CATALOG_FILE = "item_catalog.tsv"
HEADER = ("item_id", "title")


def item_catalog_path(saved_model_dir: str) -> str:
    return os.path.join(saved_model_dir, ASSETS_EXTRA_DIR, ITEM_CATALOG_FILE)


def write_item_catalog(saved_model_dir: str, item_ids: Sequence[str], item_titles: Sequence[str]) -> None:
    path = item_catalog_path(saved_model_dir)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(zip(np.asarray(item_ids, str).tolist(), np.asarray(item_titles, str).tolist()))


def read_item_catalog(saved_model_dir: str) -> Tuple[np.ndarray, np.ndarray]:
    """(item_ids, item_titles) str arrays."""
    path = item_catalog_path(saved_model_dir)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"{path} not found: {saved_model_dir!r} holds no item catalog "
            "(only retrieval, ranking, user_encoder and item_encoder exports do)."
        )
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    if not rows or tuple(rows[0]) != HEADER:
        raise ValueError(f"{path}: expected the header {HEADER}.")
    body = rows[1:]
    return (np.asarray([r[0] for r in body], dtype=str), np.asarray([r[1] for r in body], dtype=str))
