"""Selects legacy Keras (tf_keras) as `tf.keras` before TensorFlow is imported.

TensorFlow Recommenders 0.7.7 is written against Keras 2, which TensorFlow
2.16+ only provides through the `tf_keras` package and the environment
variable `TF_USE_LEGACY_KERAS=1`. That variable is read once, the first time
anything touches `tf.keras`, so it must be set before TensorFlow is used.
Importing `tfrec_llm` calls `ensure_legacy_keras()`; users never need to set it.
KerasHub (the BERT item encoder) stays on Keras 3; `text/keras_bridge.py`
joins the two worlds.
"""

import os
import sys

_MESSAGE = (
    "tfrec_llm needs TensorFlow's legacy Keras (tf_keras) as `tf.keras`, "
    "because tensorflow-recommenders is built on Keras 2. TensorFlow was "
    "already imported with Keras 3 as `tf.keras`. Fix: import tfrec_llm "
    "before anything else that uses TensorFlow, or set the environment "
    "variable TF_USE_LEGACY_KERAS=1 before starting Python "
    "(e.g. `export TF_USE_LEGACY_KERAS=1`)."
)


class KerasVersionError(ImportError):
    """Raised when `tf.keras` is already bound to Keras 3."""


def ensure_legacy_keras():
    """Makes `tf.keras` resolve to tf_keras, or explains why it cannot."""
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    if "tensorflow" not in sys.modules:
        return
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    keras_module = getattr(tf.keras, "__name__", "")
    if not keras_module.startswith("tf_keras"):
        raise KerasVersionError(_MESSAGE)
