"""`assets.extra/export_info.json`: what rebuilding or growing an export needs.

Written into every exported version: the settings the graphs were built
with (history length, K, vocabularies) and where the model came from, so
`add_items` and `recommend` work from the export directory alone.
"""

import dataclasses
import json
import os
from typing import Dict, List, Optional

from tfrec_llm.serving.export.warmup_request import ASSETS_EXTRA_DIR

EXPORT_INFO_FILE = "export_info.json"


@dataclasses.dataclass
class ExportInfo:
    """Settings of one exported model version.

    Args:
        model_name: e.g. "retrieval".
        source_model_dir: the trained model directory it was exported from.
        max_history: history items the user tower reads (most recent).
        max_k: requested maximum of retrieval results.
        embedding_dim: width of user and item embeddings.
        label_kind: "rating" or "click" (what ranking `scores` predict).
        text_fields: catalog fields joined into item texts (None: all, in
            catalog order).
        scenario_values: scenario vocabulary.
        user_feature_values: user feature name -> vocabulary.
        num_items: catalog size of this version.
        added_items: items added by `add_items` since the trained export.
        empty_history_answer: `retrieval` only: what a request without a
            known history item gets, "popularity" or "model"
            (`model.empty_history_answer`); None for the other models and
            for exports written before it.

    Example:
        info = ExportInfo.read("exports/retrieval/1")
        info.max_history
    """

    model_name: str
    source_model_dir: str
    max_history: int
    max_k: int
    embedding_dim: int
    label_kind: str
    text_fields: Optional[List[str]]
    scenario_values: List[str]
    user_feature_values: Dict[str, List[str]]
    num_items: int
    added_items: int = 0
    empty_history_answer: Optional[str] = None

    @staticmethod
    def path(saved_model_dir: str) -> str:
        return os.path.join(saved_model_dir, ASSETS_EXTRA_DIR, EXPORT_INFO_FILE)

    def write(self, saved_model_dir: str) -> None:
        path = self.path(saved_model_dir)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(dataclasses.asdict(self), f, indent=2)

    @classmethod
    def read(cls, saved_model_dir: str) -> "ExportInfo":
        path = cls.path(saved_model_dir)
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path} not found: {saved_model_dir!r} was not exported by tfrec-llm.")
        with open(path, encoding="utf-8") as f:
            return cls(**json.load(f))
