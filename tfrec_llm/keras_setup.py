"""Selects legacy Keras (tf_keras) as `tf.keras` before TensorFlow is imported.

TensorFlow Recommenders 0.7.7 is written against Keras 2, which TensorFlow
2.16+ only provides through the `tf_keras` package and the environment
variable `TF_USE_LEGACY_KERAS=1`. That variable is read once, the first time
anything touches `tf.keras`, so it must be set before TensorFlow is used.
Importing `tfrec_llm` calls `ensure_legacy_keras()`; users never need to set it.
KerasHub (the BERT item encoder) stays on Keras 3; `text/keras_bridge.py`
joins the two worlds.

`import_tensorflow_quietly()` (called by the CLI unless `-v`) keeps
TensorFlow's C++ start-up lines (oneDNN, CUDA stub, CPU feature notices)
off the terminal.
"""

import contextlib
import logging
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


TF_LOG_LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
# C++ INFO, WARNING and ERROR lines dropped: on a CPU machine the ERROR ones are notices too ("failed call
# to cuInit", "oneDNN supports DT_BOOL only on platforms with AVX-512"); real failures raise Python errors.
QUIET_TF_LOG_LEVEL = "3"


def import_tensorflow_quietly() -> bool:
    """Imports TensorFlow without its C++ start-up lines on stderr; returns whether it silenced them.

    Sets `TF_CPP_MIN_LOG_LEVEL=3` and quiets the `tensorflow` and `absl`
    Python loggers to errors. TensorFlow 2.21 prints its oneDNN and CUDA
    notices (`port.cc`, `cudart_stub.cc`) before absl logging is initialised,
    where that variable does not reach, so stderr (file descriptor 2) points
    at /dev/null while `import tensorflow` runs; an import that fails still
    raises its Python error. Does nothing (returns False) when the user set
    `TF_CPP_MIN_LOG_LEVEL` (their choice) or TensorFlow is already imported.
    """
    if TF_LOG_LEVEL_VARIABLE in os.environ or "tensorflow" in sys.modules:
        return False
    os.environ[TF_LOG_LEVEL_VARIABLE] = QUIET_TF_LOG_LEVEL
    ensure_legacy_keras()
    with _stderr_discarded():
        import tensorflow  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    return True


@contextlib.contextmanager
def _stderr_discarded():
    """Points file descriptor 2 (what C++ code writes to) at /dev/null, then back."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w", encoding="utf-8") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
