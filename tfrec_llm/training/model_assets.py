"""Everything besides weights that rebuilds a trained model: tables and vocabularies.

Saved as `<model_dir>/assets.npz` (NumPy, `allow_pickle=False`: no pickle)
next to `config.json`, the KerasHub preset `text_encoder/` and the
checkpoint, so `evaluate`, `export` and apps rebuild the exact model from
the model directory alone, without the training data.
"""

import dataclasses
import os
from typing import Dict, List, Optional

import numpy as np

from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX

ASSETS_FILE = "assets.npz"


@dataclasses.dataclass
class ModelAssets:
    """Per-item tables (indexed by item index, V = N + 2 rows) and vocabularies.

    Args:
        label_kind: "rating" or "click".
        item_ids: str [N] catalog ids (index i + 2).
        item_titles: str [N] display titles.
        item_texts: str [N] the texts the encoder read.
        id_slots: int32 [V] id-embedding slot per item index.
        item_popularity: int64 [V] training events per item index.
        cold_items: bool [V] items in the catalog never seen in training.
        token_ids: int32 [V, L] token table.
        text_features: float32 [V, d_text] frozen BERT vectors, or None.
        item_attributes: float32 [V, A] multi-hot attributes, or None.
        attribute_names: names of the attribute columns.
        scenario_values: str, scenario vocabulary (index i + 1).
        user_feature_values: name -> str vocabulary (index i + 1).
    """

    label_kind: str
    item_ids: np.ndarray
    item_titles: np.ndarray
    item_texts: np.ndarray
    id_slots: np.ndarray
    item_popularity: np.ndarray
    cold_items: np.ndarray
    token_ids: np.ndarray
    text_features: Optional[np.ndarray] = None
    item_attributes: Optional[np.ndarray] = None
    attribute_names: List[str] = dataclasses.field(default_factory=list)
    scenario_values: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, str))
    user_feature_values: Dict[str, np.ndarray] = dataclasses.field(default_factory=dict)

    @property
    def num_index_rows(self) -> int:
        return len(self.item_ids) + FIRST_ITEM_INDEX

    def save(self, directory: str):
        arrays = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None:
                continue
            if field.name == "user_feature_values":
                arrays["user_feature_names"] = np.asarray(sorted(value), dtype=str)
                for name, values in value.items():
                    arrays[f"user_feature_values__{name}"] = np.asarray(values, dtype=str)
            elif field.name in ("label_kind",):
                arrays[field.name] = np.asarray(value, dtype=str)
            elif field.name == "attribute_names":
                arrays[field.name] = np.asarray(value, dtype=str)
            else:
                arrays[field.name] = np.asarray(value)
        path = os.path.join(directory, ASSETS_FILE)
        temporary = path + ".tmp.npz"
        np.savez(temporary, **arrays)
        os.replace(temporary, path)

    @classmethod
    def load(cls, directory: str) -> "ModelAssets":
        path = os.path.join(directory, ASSETS_FILE)
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"{path} not found: is {directory!r} a tfrec-llm model directory "
                "(written by `tfrec-llm train --output-dir`)?"
            )
        with np.load(path, allow_pickle=False) as stored:
            arrays = dict(stored)
        features = {}
        for name in arrays.pop("user_feature_names", np.zeros(0, str)).tolist():
            features[name] = arrays.pop(f"user_feature_values__{name}")
        values = {f.name: arrays.get(f.name) for f in dataclasses.fields(cls)}
        values["label_kind"] = str(values["label_kind"])
        values["attribute_names"] = [str(n) for n in arrays.get("attribute_names", [])]
        values["user_feature_values"] = features
        if values["scenario_values"] is None:
            values["scenario_values"] = np.zeros(0, str)
        return cls(**values)
