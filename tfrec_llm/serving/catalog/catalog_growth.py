"""`add_items`: grow an export's catalog with new items, from their text alone.

New items (a CSV with `item_id` and text columns) are embedded by the
latest `item_text_encoder` export: their text through BERT and the item
tower's text path, with the out-of-vocabulary id slot, as cold-start items
are in training. They are appended to the item table of every exported
model holding one (retrieval, ranking, user_encoder, item_encoder,
text_retrieval: their catalogs stay identical; text_retrieval's second table, the items' BERT
vectors, grows by the new texts' vectors), each written as a new version. No retraining:
user tower and ranking head are re-saved unchanged from the latest
versions, and settings come from their `export_info.json`.

CSV: UTF-8 with a header; `item_id` is required. The text columns are the
model's `text.text_fields` (all of them must be present) or, when the
model read all fields, every other column in file order; non-empty values
are joined by ". " as in training, and an item without text is read as its
id. A `title` column, if present, gives display titles.
"""

import csv
import dataclasses
import logging
import os
import tempfile
from typing import List, Optional

import numpy as np
import tensorflow as tf

from tfrec_llm.data.interaction_data import TEXT_FIELD_SEPARATOR
from tfrec_llm.serving.catalog.context_lookup import ContextLookup
from tfrec_llm.serving.export.export_info import ExportInfo
from tfrec_llm.serving.export.export_layout import latest_version_path, model_versions, next_version
from tfrec_llm.serving.catalog.history_encoder import HistoryEncoder
from tfrec_llm.serving.catalog.item_catalog_file import read_item_catalog
from tfrec_llm.serving.signatures.item_encoder_module import ItemEncoderModule
from tfrec_llm.serving.catalog.item_lookup import ItemLookup
from tfrec_llm.serving.signatures.item_text_encoder_module import (
    ENCODE_BATCH_SIZE,
    ITEM_EMBEDDING_OUTPUT,
    TEXT_FEATURES_OUTPUT,
    TEXT_INPUT,
)
from tfrec_llm.serving.export.model_version_writer import write_model_version
from tfrec_llm.serving.signatures.ranking_module import RankingModule
from tfrec_llm.serving.signatures.retrieval_module import RetrievalModule
from tfrec_llm.serving.export.exporter import (
    ITEM_ENCODER,
    ITEM_TABLE_MODELS,
    ITEM_TEXT_ENCODER,
    RANKING,
    RETRIEVAL,
    TEXT_RETRIEVAL,
    USER_ENCODER,
)
from tfrec_llm.serving.saved_model_loading import LoadedSavedModel, load_saved_model
from tfrec_llm.serving.catalog.serving_catalog import ServingCatalog, check_item_ids
from tfrec_llm.serving.signatures.text_retrieval_module import TextRetrievalModule
from tfrec_llm.serving.signatures.user_encoder_module import UserEncoderModule

logger = logging.getLogger(__name__)

ITEM_ID_COLUMN = "item_id"
TITLE_COLUMN = "title"


@dataclasses.dataclass
class _NewItems:
    item_ids: np.ndarray
    titles: np.ndarray
    texts: np.ndarray


def add_items(export_dir: str, items_csv: str, model_name: str = RETRIEVAL, validate: bool = True) -> str:
    """Adds the CSV's items to every item-table model; returns the new version path of `model_name`.

    Args:
        export_dir: an export written by `export_models`.
        items_csv: the new items (see module docstring).
        model_name: which model's new version path to return (one of
            retrieval, ranking, user_encoder, item_encoder).
        validate: validate each new version in a fresh process.
    """
    if model_name not in ITEM_TABLE_MODELS:
        raise ValueError(f"model_name must be one of {list(ITEM_TABLE_MODELS)}, got {model_name!r}.")
    latest_version_path(export_dir, model_name)  # fails early with a clear message
    grown = [name for name in ITEM_TABLE_MODELS if model_versions(export_dir, name)]
    info = ExportInfo.read(latest_version_path(export_dir, model_name))
    new_items = read_new_items(items_csv, info.text_fields)
    vectors = encode_item_texts(export_dir, new_items.texts)
    paths = {}
    with tempfile.TemporaryDirectory(prefix=".scratch-", dir=export_dir) as scratch:
        for name in grown:
            source = latest_version_path(export_dir, name)
            loaded = load_saved_model(source)
            source_info = ExportInfo.read(source)
            catalog = exported_catalog(loaded, source).appended(new_items.item_ids, new_items.titles, vectors)
            module = rebuild_module(name, loaded, source_info, catalog, os.path.join(scratch, name), new_items.texts)
            grown_info = dataclasses.replace(
                source_info, num_items=catalog.num_items, added_items=source_info.added_items + len(new_items.item_ids)
            )
            paths[name] = write_model_version(
                module, export_dir, next_version(export_dir, name), grown_info, catalog, validate
            )
    logger.info("Added %d items: %s", len(new_items.item_ids), paths)
    return paths[model_name]


def read_new_items(items_csv: str, text_fields: Optional[List[str]]) -> _NewItems:
    """Ids, titles and model texts of the CSV's items (see module docstring)."""
    with open(items_csv, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        columns = list(reader.fieldnames or [])
        rows = list(reader)
    if ITEM_ID_COLUMN not in columns:
        raise ValueError(f"{items_csv}: needs an {ITEM_ID_COLUMN!r} column; found {columns}.")
    fields = list(text_fields) if text_fields else [c for c in columns if c != ITEM_ID_COLUMN]
    missing = [f for f in fields if f not in columns]
    if missing:
        raise ValueError(f"{items_csv}: the model reads the text fields {fields}; missing columns {missing}.")
    if not rows:
        raise ValueError(f"{items_csv}: no items.")
    item_ids = np.asarray([(row[ITEM_ID_COLUMN] or "").strip() for row in rows], dtype=str)
    check_item_ids(item_ids)
    texts = []
    for item_id, row in zip(item_ids.tolist(), rows):
        parts = [(row[field] or "").strip() for field in fields]
        texts.append(TEXT_FIELD_SEPARATOR.join(p for p in parts if p) or item_id)
    texts = np.asarray(texts, dtype=str)
    if TITLE_COLUMN in columns:
        titles = np.asarray([(row[TITLE_COLUMN] or "").strip() or text for row, text in zip(rows, texts)], dtype=str)
    else:
        titles = texts
    return _NewItems(item_ids, titles, texts)


def encode_item_texts(export_dir: str, texts: np.ndarray) -> np.ndarray:
    """float32 [n, d] embeddings of item texts by the latest `item_text_encoder` export."""
    try:
        path = latest_version_path(export_dir, ITEM_TEXT_ENCODER)
    except FileNotFoundError as error:
        raise FileNotFoundError(
            f"{error} add_items embeds new items with {ITEM_TEXT_ENCODER}, which is "
            "exported only for models trained with text."
        ) from error
    encode = load_saved_model(path).signatures["serving_default"]
    parts = [
        encode(**{TEXT_INPUT: tf.constant(texts[start : start + ENCODE_BATCH_SIZE])})[ITEM_EMBEDDING_OUTPUT]
        for start in range(0, len(texts), ENCODE_BATCH_SIZE)
    ]
    return np.concatenate([p.numpy() for p in parts]).astype(np.float32)


def exported_catalog(loaded: LoadedSavedModel, saved_model_dir: str) -> ServingCatalog:
    """The catalog held by a loaded item-table model (ids and vectors from its variables)."""
    items = loaded.items if hasattr(loaded, "items") else loaded.history_encoder.items
    item_ids, titles = read_item_catalog(saved_model_dir)
    stored_ids = np.char.decode(items.item_ids.numpy().astype(np.bytes_), "utf-8")
    if not np.array_equal(stored_ids, item_ids):
        raise ValueError(f"{saved_model_dir}: item_catalog.tsv does not match the model's item ids.")
    return ServingCatalog(item_ids, titles, items.item_vectors.numpy(), items.reserved_vectors.numpy())


def grown_tailness(loaded: LoadedSavedModel, num_items: int) -> np.ndarray:
    """The retrieval model's item tailness, 1.0 (never seen in training) for the new items.

    Exports written before re-ranking hold no tailness: their items get 0 (no boost).
    """
    old = loaded.history_encoder.items.item_ids.shape[0]
    known = loaded.tailness.numpy() if hasattr(loaded, "tailness") else np.zeros(old, np.float32)
    return np.concatenate([known, np.ones(num_items - old, np.float32)])


def grown_text_features(loaded: LoadedSavedModel, new_texts: Optional[np.ndarray]) -> Optional[np.ndarray]:
    """`text_retrieval`'s BERT item table with the new texts' vectors appended (None if it has none)."""
    if not hasattr(loaded, "text_features"):  # exported before the second table
        return None
    known = loaded.text_features.numpy()
    texts = np.asarray([] if new_texts is None else new_texts, dtype=str)
    encode = loaded.text_encoder.encode_text_features
    parts = [known] + [
        encode({TEXT_INPUT: tf.constant(texts[start : start + ENCODE_BATCH_SIZE])})[TEXT_FEATURES_OUTPUT].numpy()
        for start in range(0, len(texts), ENCODE_BATCH_SIZE)
    ]
    return np.concatenate(parts).astype(np.float32)


def grown_popularity_scores(loaded: LoadedSavedModel, variable: str, num_items: int) -> Optional[np.ndarray]:
    """A per-item popularity variable of the loaded model, 0 (no training interactions) for the new items.

    None if the model holds no such variable: `text_retrieval`'s
    `popularity_prior` (exported before the prior) or `retrieval`'s
    `empty_history_scores` (none when the user tower answers empty histories).
    """
    if not hasattr(loaded, variable):
        return None
    known = getattr(loaded, variable).numpy()
    return np.concatenate([known, np.zeros(num_items - len(known), np.float32)])


def rebuild_module(
    model_name: str,
    loaded: LoadedSavedModel,
    info: ExportInfo,
    catalog: ServingCatalog,
    scratch_dir: str,
    new_texts: Optional[np.ndarray] = None,
) -> tf.Module:
    """A module of `model_name` over `catalog`, reusing the loaded model's learned functions.

    `new_texts` are the texts of the items `catalog` appends to the loaded one:
    `text_retrieval`'s second table (BERT vectors) grows by their encodings.
    """
    items = ItemLookup(catalog, scratch_dir)
    if model_name == ITEM_ENCODER:
        return ItemEncoderModule(items)
    if model_name == TEXT_RETRIEVAL and not hasattr(loaded, "history_encoder"):  # exported before retrieve_personal
        return TextRetrievalModule(loaded.text_encoder, items, info.max_k)
    context = ContextLookup(
        np.asarray(info.scenario_values, dtype=str),
        {k: np.asarray(v, dtype=str) for k, v in info.user_feature_values.items()},
    )
    history = HistoryEncoder(items, context, loaded.history_encoder.user_tower, info.max_history)
    if model_name == TEXT_RETRIEVAL:
        return TextRetrievalModule(
            loaded.text_encoder,
            items,
            info.max_k,
            history,
            grown_text_features(loaded, new_texts),
            grown_popularity_scores(loaded, "popularity_prior", catalog.num_items),
        )
    if model_name == RETRIEVAL:
        return RetrievalModule(
            history,
            info.max_k,
            grown_tailness(loaded, catalog.num_items),
            grown_popularity_scores(loaded, "empty_history_scores", catalog.num_items),
        )
    if model_name == RANKING:
        return RankingModule(history, loaded.ranking_head)
    if model_name == USER_ENCODER:
        return UserEncoderModule(history)
    raise ValueError(f"{model_name!r} holds no item table.")
