"""Loads exported SavedModels, importing `tensorflow_text` first when a model needs it.

Only `item_text_encoder` uses TF Text ops (its tokenizer); the op list in
`assets.extra/required_ops.txt` tells. Everything else loads with plain
TensorFlow, as TF Serving would.
"""

import os
from typing import Any, Tuple

import tensorflow as tf

from tfrec_llm.serving.export.export_layout import latest_version_path
from tfrec_llm.serving.export.saved_model_ops import read_required_ops, required_ops_path, saved_model_op_names

LoadedSavedModel = Any
"""What `tf.saved_model.load` returns: a restored object with `.signatures` and the saved module's attributes."""

TF_TEXT_OP_PREFIX = "TFText>"


def needs_tensorflow_text(saved_model_dir: str) -> bool:
    """Whether the SavedModel uses ops that only `tensorflow_text` registers."""
    if os.path.exists(required_ops_path(saved_model_dir)):
        ops = read_required_ops(saved_model_dir)
    else:
        ops = saved_model_op_names(saved_model_dir)
    from tensorflow.python.framework import op_def_registry  # pylint: disable=import-outside-toplevel,no-name-in-module

    return any(op.startswith(TF_TEXT_OP_PREFIX) or op_def_registry.get(op) is None for op in ops)


def load_saved_model(saved_model_dir: str) -> LoadedSavedModel:
    """`tf.saved_model.load`, after importing `tensorflow_text` if the model's ops need it."""
    if not os.path.isdir(saved_model_dir):
        raise FileNotFoundError(f"No SavedModel directory at {saved_model_dir!r}.")
    if needs_tensorflow_text(saved_model_dir):
        import tensorflow_text  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    return tf.saved_model.load(saved_model_dir)


def load_latest_version(export_dir: str, model_name: str) -> Tuple[str, LoadedSavedModel]:
    """(path, loaded SavedModel) of a model's highest version."""
    path = latest_version_path(export_dir, model_name)
    return path, load_saved_model(path)
