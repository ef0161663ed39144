"""Checks of an update's inputs against the trained model: text encoder and item texts.

An update must not change what an id or a text vector means: a known item
id arriving with another text, or a text encoder other than the one the
stored text vectors came from, would silently mix two meanings in one
table. Both are clear errors here.

Example:
    check_text_encoder(trained, "none", "runs/base")
    ids, texts, titles = item_texts(new_data, config.text.text_fields)
    conflicts = known_text_conflicts(trained.assets, ids, texts)
"""

import os
from typing import List, Optional, Tuple

import numpy as np

from tfrec_llm.data.interaction_data import InteractionData
from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX
from tfrec_llm.training.model_assets import ModelAssets

# Items re-encoded to check that the saved encoder reproduces the stored vectors.
PROBE_ITEMS = 8
PROBE_TOLERANCE = 1e-3


def _same_encoder(a: str, b: str) -> bool:
    if a == b:
        return True
    return os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)


def check_text_encoder(trained, requested: Optional[str], model_dir: str):
    """Raises ValueError if `requested` is not the model's encoder, or the saved one lost its vectors.

    Args:
        trained: a `TrainedModel`.
        requested: the encoder the caller names (None: no request).
        model_dir: the model directory (named in messages).
    """
    own = trained.config.text.encoder
    if requested is not None and not _same_encoder(str(requested), str(own)):
        raise ValueError(
            f"update: text encoder {requested!r} differs from the model's {own!r} ({model_dir}/config.json): "
            "its text vectors would not match the stored ones. Use the model's encoder, or train anew."
        )
    features = trained.assets.text_features
    if features is None or not trained.config.model.use_text:
        return
    rows = np.arange(FIRST_ITEM_INDEX, min(len(features), FIRST_ITEM_INDEX + PROBE_ITEMS))
    encoded = trained.text_encoder.encode(trained.assets.token_ids[rows])
    if not np.allclose(encoded, features[rows], atol=PROBE_TOLERANCE, rtol=PROBE_TOLERANCE):
        raise ValueError(
            f"update: the text encoder in {model_dir}/text_encoder does not reproduce the model's stored text "
            f"vectors (largest difference {np.max(np.abs(encoded - features[rows])):.3g}): it was replaced "
            "after training."
        )


def item_texts(data: InteractionData, text_fields: Optional[List[str]]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, model texts, titles) of the catalog, as training builds them (an empty text reads as the id)."""
    catalog = data.catalog
    texts = catalog.texts(text_fields)
    texts = np.where(np.char.str_len(texts) > 0, texts, catalog.item_ids)
    titles = np.asarray(catalog.text_fields.get("title", texts), dtype=str)
    return catalog.item_ids, texts, titles


def known_text_conflicts(assets: ModelAssets, item_ids: np.ndarray, texts: np.ndarray) -> List[tuple]:
    """(id, stored text, new text) of every known item whose text differs."""
    stored = dict(zip(assets.item_ids.tolist(), assets.item_texts.tolist()))
    return [
        (item_id, stored[item_id], text)
        for item_id, text in zip(np.asarray(item_ids).tolist(), np.asarray(texts).tolist())
        if item_id in stored and stored[item_id] != text
    ]
