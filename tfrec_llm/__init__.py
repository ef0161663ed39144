"""tfrec-llm: TFRS two-tower recommenders whose item tower reads item text."""

from tfrec_llm.keras_setup import ensure_legacy_keras

ensure_legacy_keras()

__version__ = "0.1.0"
