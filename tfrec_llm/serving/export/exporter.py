"""`export_models`: a trained model directory -> TF Serving model versions.

Writes `<export_dir>/<model_name>/<version>/` for
- `retrieval`: history (+ context) -> top-K item ids and scores;
- `ranking`: history (+ context) + candidates -> ranking scores, affinity;
- `user_encoder`: history (+ context) -> user embedding;
- `item_encoder`: item ids -> item embedding;
- `item_text_encoder`: raw item text -> item embedding (BERT in-graph);
- `text_retrieval`: a natural-language request -> top-K item ids and scores
  (the item_text_encoder computation + the item table);
plus `<export_dir>/models.config` listing every exported model. The first
four read a precomputed item-embedding table: no BERT, core TF ops only.
See `export/README.md` for signatures and serving.

Example:
    paths = export_models("runs/ml-100k", "exports")
    paths["retrieval"]  # "exports/retrieval/1"
"""

import logging
import os
import tempfile
from typing import Dict, Iterable, Optional

import numpy as np
import tensorflow as tf

from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX, UNKNOWN_INDEX
from tfrec_llm.models.item_tower import ItemTower
from tfrec_llm.progress import Progress
from tfrec_llm.training.model_evaluation import catalog_embeddings
from tfrec_llm.serving.signatures import (
    item_encoder_module,
    item_text_encoder_module,
    ranking_module,
    retrieval_module,
    text_retrieval_module,
    user_encoder_module,
)
from tfrec_llm.serving.catalog.context_lookup import ContextLookup
from tfrec_llm.serving.export.export_info import ExportInfo
from tfrec_llm.serving.export.export_layout import model_versions, next_version, version_path
from tfrec_llm.serving.catalog.history_encoder import HistoryEncoder
from tfrec_llm.serving.signatures.item_encoder_module import ItemEncoderModule
from tfrec_llm.serving.catalog.item_lookup import ItemLookup
from tfrec_llm.serving.signatures.item_text_encoder_module import ItemTextEncoderModule
from tfrec_llm.serving.export.model_server_config import write_model_server_config
from tfrec_llm.serving.export.model_version_writer import write_model_version
from tfrec_llm.serving.signatures.ranking_head_module import RankingHeadModule
from tfrec_llm.serving.signatures.ranking_module import RankingModule
from tfrec_llm.serving.signatures.retrieval_module import RetrievalModule
from tfrec_llm.serving.catalog.item_popularity import popularity_prior
from tfrec_llm.serving.reranking import tailness_from_popularity
from tfrec_llm.serving.catalog.serving_catalog import ServingCatalog
from tfrec_llm.serving.signatures.text_retrieval_module import TextRetrievalModule, catalog_text_features
from tfrec_llm.serving.signatures.user_encoder_module import UserEncoderModule
from tfrec_llm.serving.signatures.user_tower_module import UserTowerModule
from tfrec_llm.training.trained_model import TrainedModel

logger = logging.getLogger(__name__)

RETRIEVAL = retrieval_module.MODEL_NAME
RANKING = ranking_module.MODEL_NAME
USER_ENCODER = user_encoder_module.MODEL_NAME
ITEM_ENCODER = item_encoder_module.MODEL_NAME
ITEM_TEXT_ENCODER = item_text_encoder_module.MODEL_NAME
TEXT_RETRIEVAL = text_retrieval_module.MODEL_NAME
MODEL_NAMES = (RETRIEVAL, RANKING, USER_ENCODER, ITEM_ENCODER, ITEM_TEXT_ENCODER, TEXT_RETRIEVAL)
# Models holding the item table (grown together by `add_items`).
ITEM_TABLE_MODELS = (RETRIEVAL, RANKING, USER_ENCODER, ITEM_ENCODER, TEXT_RETRIEVAL)
# Models that read item text: exported only for models trained with text.
TEXT_MODELS = (ITEM_TEXT_ENCODER, TEXT_RETRIEVAL)
DEFAULT_MAX_K = 100


def export_models(
    model_dir: str,
    export_dir: str,
    version: Optional[int] = None,
    max_k: int = DEFAULT_MAX_K,
    validate: bool = True,
    model_names: Optional[Iterable[str]] = None,
    config_base_path: Optional[str] = None,
) -> Dict[str, str]:
    """Exports the trained model in `model_dir`; returns {model name: version path}.

    Args:
        model_dir: a directory written by `train`.
        export_dir: TF Serving's model root (created if missing).
        version: version number for every model (default: each model's
            next version). Existing versions are never overwritten.
        max_k: most items `retrieval` returns (K = min(max_k, catalog size)).
        validate: load each SavedModel in a fresh process, replay its
            warm-up requests and compare with the in-memory model.
        model_names: a subset of `MODEL_NAMES` (default: all;
            `item_text_encoder` is skipped for models without text).
        config_base_path: the export dir as the server sees it, for
            `models.config` (default: its absolute path).
    """
    names = _selected_models(model_names)
    trained = TrainedModel.load(model_dir)
    text_names = [n for n in names if n in TEXT_MODELS]
    if text_names and not trained.config.model.use_text:
        if model_names is not None:
            raise ValueError(f"{text_names} need a model trained with text (model.use_text=true).")
        logger.warning("The model reads no item text: %s are not exported.", text_names)
        names = [n for n in names if n not in TEXT_MODELS]
    os.makedirs(export_dir, exist_ok=True)
    versions = {name: int(version) if version is not None else next_version(export_dir, name) for name in names}
    taken = [
        version_path(export_dir, n, v) for n, v in versions.items() if os.path.exists(version_path(export_dir, n, v))
    ]
    if taken:
        raise FileExistsError(f"Versions already exist (never overwritten): {taken}.")
    catalog = serving_catalog(trained)
    paths = {}
    with tempfile.TemporaryDirectory(prefix=".scratch-", dir=export_dir) as scratch:
        modules = build_export_modules(trained, catalog, names, scratch, max_k)
        with _export_progress(len(names), export_dir, validate) as progress:
            for name in names:
                progress.update(0, note=name)
                info = export_info(trained, model_dir, name, max_k, catalog.num_items)
                paths[name] = write_model_version(
                    modules[name],
                    export_dir,
                    versions[name],
                    info,
                    catalog if name in ITEM_TABLE_MODELS else None,
                    validate,
                )
                progress.update(1)
    exported = [n for n in MODEL_NAMES if model_versions(export_dir, n)]
    write_model_server_config(export_dir, exported, config_base_path)
    return paths


def _export_progress(num_models: int, export_dir: str, validate: bool) -> Progress:
    """Writing (and validating: a fresh TensorFlow process each, seconds per model) every model version."""
    models = f"{num_models} model{'s' if num_models != 1 else ''}"
    checked = "each validated in a fresh TensorFlow process" if validate else "NOT validated"
    return Progress(
        "Exporting and validating models" if validate else "Exporting models",
        total=num_models,
        unit="models",
        summary=f"Exported {models} to {export_dir} ({checked}) in {{seconds:.1f}} s",
    )


def serving_catalog(trained: TrainedModel) -> ServingCatalog:
    """The catalog with every item's embedding, computed once by the item tower (BERT included)."""
    table = catalog_embeddings(trained.model, trained.assets.num_index_rows)
    return ServingCatalog.from_index_table(trained.assets.item_ids, trained.assets.item_titles, table)


def build_export_modules(
    trained: TrainedModel, catalog: ServingCatalog, names: Iterable[str], scratch_dir: str, max_k: int
) -> dict:
    """{model name: tf.Module} for `names`, sharing one item table and user tower."""
    names = list(names)
    assets = trained.assets
    dim = catalog.embedding_dim
    items = ItemLookup(catalog, scratch_dir)
    context = ContextLookup(assets.scenario_values, assets.user_feature_values)
    user_tower = UserTowerModule(trained.model.user_tower, dim, len(assets.user_feature_values))
    history = HistoryEncoder(items, context, user_tower, trained.config.data.max_history)
    builders = {
        RETRIEVAL: lambda: RetrievalModule(
            history,
            max_k,
            tailness_from_popularity(assets.item_popularity[FIRST_ITEM_INDEX:]),
            empty_history_scores(trained),
        ),
        RANKING: lambda: RankingModule(history, RankingHeadModule(trained.model, dim)),
        USER_ENCODER: lambda: UserEncoderModule(history),
        ITEM_ENCODER: lambda: ItemEncoderModule(items),
        ITEM_TEXT_ENCODER: lambda: item_text_encoder(trained),
        TEXT_RETRIEVAL: lambda: TextRetrievalModule(
            item_text_encoder(trained),
            items,
            max_k,
            history,
            catalog_text_features(trained.model.item_tower, assets.num_index_rows),
            popularity_prior(assets.item_popularity[FIRST_ITEM_INDEX:]),
        ),
    }
    return {name: builders[name]() for name in names}


def empty_history_scores(trained: TrainedModel) -> Optional[np.ndarray]:
    """`retrieval`'s answer to a request without history: the popularity prior, or None (the user tower's)."""
    if trained.config.model.served_empty_history_answer != "popularity":
        return None
    return popularity_prior(trained.assets.item_popularity[FIRST_ITEM_INDEX:])


def item_text_encoder(trained: TrainedModel) -> ItemTextEncoderModule:
    """The text -> item embedding module: the item tower's text path plus its id part for OOV-slot items."""
    tower = trained.model.item_tower
    if not tower.use_text:
        raise ValueError(f"{ITEM_TEXT_ENCODER} needs a model trained with text (model.use_text=true).")
    encoder = trained.text_encoder
    text_encoder = tower.text_encoder if tower.finetunes_text else encoder.bridge_layer()
    sequence_length = min(trained.config.text.sequence_length, encoder.backbone.max_sequence_length)
    if tower.paths:  # an item without an id row: a zero (or text-mapped) id half, then its text
        oov, id_half_width = np.zeros(tower.embedding_dim, np.float32), tower.embedding_dim
    else:
        oov, id_half_width = oov_id_vector(tower), 0
    cold_id_map = tower.cold_id_map.numpy() if tower.maps_cold_ids else None
    return ItemTextEncoderModule(
        encoder.tokenizer,
        encoder.packer(sequence_length),
        text_encoder,
        tower.text_projection,
        oov,
        id_half_width,
        cold_id_map,
    )


def oov_id_vector(item_tower: ItemTower) -> np.ndarray:
    """float32 [d]: what the item tower adds to the text vector of an item in the OOV id slot.

    Read off the tower itself (the unknown-item index has the OOV slot), so
    it follows the tower's rule for items without an id of their own.
    """
    unknown = tf.constant([UNKNOWN_INDEX])
    vectors = item_tower(unknown, training=False) - item_tower.text_vectors(unknown, training=False)
    return tf.cast(vectors[0], tf.float32).numpy()


def export_info(trained: TrainedModel, model_dir: str, model_name: str, max_k: int, num_items: int) -> ExportInfo:
    assets = trained.assets
    return ExportInfo(
        model_name=model_name,
        source_model_dir=os.path.abspath(model_dir),
        max_history=trained.config.data.max_history,
        max_k=int(max_k),
        embedding_dim=trained.model.item_tower.output_dim,
        label_kind=assets.label_kind,
        text_fields=trained.config.text.text_fields,
        scenario_values=assets.scenario_values.tolist(),
        user_feature_values={k: v.tolist() for k, v in assets.user_feature_values.items()},
        num_items=num_items,
        empty_history_answer=trained.config.model.served_empty_history_answer if model_name == RETRIEVAL else None,
    )


def _selected_models(model_names) -> list:
    if model_names is None:
        return list(MODEL_NAMES)
    names = list(model_names)
    unknown = sorted(set(names) - set(MODEL_NAMES))
    if unknown or not names:
        raise ValueError(f"Unknown model names {unknown}; choose from {list(MODEL_NAMES)}.")
    return [n for n in MODEL_NAMES if n in names]
