"""Resolves `--text-encoder SPEC` into a `TextEncoder`.

SPEC may be:
- None / "" / "fallback": a small randomly initialised BERT whose WordPiece
  vocabulary is computed from the catalog texts (warns: not pretrained);
- a local directory: a Keras preset (`metadata.json`) or a Hugging Face
  BERT checkpoint (`config.json` + `model.safetensors` + `vocab.txt`), both
  read by KerasHub's `from_preset`;
- `hf://<org>/<repo>` or a KerasHub preset name (e.g. `bert_tiny_en_uncased`),
  downloaded by KerasHub where there is internet.
"""

import logging
import os

import keras
import keras_hub
import numpy as np
import tensorflow as tf
from keras_hub.src.tokenizers.word_piece_tokenizer import pretokenize
from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib as wordpiece_learner

from tfrec_llm.experiment_config import TextConfig
from tfrec_llm.models.text.text_encoder import TextEncoder

logger = logging.getLogger(__name__)

FALLBACK_SPECS = (None, "", "fallback")
RESERVED_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# Smallest count a (sub)word needs to enter the fallback vocabulary. KerasHub's
# `compute_word_piece_vocabulary` uses 10, which on catalogs of a few thousand
# titles leaves most words spelled out letter by letter (ml-100k titles: 293
# tokens instead of the 3000 asked for, "toy" -> "to ##y").
MIN_SUBWORD_COUNT = 1
TEXT_BATCH_SIZE = 1024


class TextEncoderError(RuntimeError):
    """The text encoder could not be loaded; the message says how to fix it."""


def load_text_encoder(spec, catalog_texts, config: TextConfig, seed: int = 0) -> TextEncoder:
    """Returns the encoder named by `spec` (see module docstring)."""
    if spec in FALLBACK_SPECS:
        return build_fallback_encoder(catalog_texts, config, seed)
    if os.path.isdir(spec):
        return _from_preset(spec, pretrained=True)
    if os.path.exists(spec):
        raise TextEncoderError(
            f"--text-encoder {spec!r} is a file; pass the directory holding a Keras preset "
            "(metadata.json) or a Hugging Face BERT checkpoint (config.json, model.safetensors, vocab.txt)."
        )
    return _from_preset(spec, pretrained=True)


def _from_preset(spec: str, pretrained: bool) -> TextEncoder:
    try:
        backbone = keras_hub.models.BertBackbone.from_preset(spec)
        tokenizer = keras_hub.models.BertTokenizer.from_preset(spec)
    except Exception as error:  # KerasHub raises many types for missing files/network.
        where = "directory" if os.path.isdir(spec) else "preset"
        raise TextEncoderError(
            f"Could not load the BERT text encoder from {where} {spec!r}: {error}. "
            "Preset names and hf:// handles need internet; offline, pass a local directory "
            "with a Keras preset or a Hugging Face BERT checkpoint, or omit --text-encoder "
            "for the (not pretrained) fallback encoder."
        ) from error
    metadata_path = os.path.join(spec, "metadata.json") if os.path.isdir(spec) else None
    is_own_save = metadata_path is not None and os.path.exists(os.path.join(spec, "tfrec_llm_encoder.json"))
    if is_own_save:
        import json  # pylint: disable=import-outside-toplevel
        with open(os.path.join(spec, "tfrec_llm_encoder.json"), encoding="utf-8") as f:
            info = json.load(f)
        return TextEncoder(backbone, tokenizer, pretrained=info["pretrained"], source=info["source"])
    return TextEncoder(backbone, tokenizer, pretrained=pretrained, source=spec)


def build_fallback_encoder(catalog_texts, config: TextConfig, seed: int = 0) -> TextEncoder:
    """A small random BERT with a WordPiece vocabulary computed from `catalog_texts`."""
    texts = [t for t in np.asarray(catalog_texts, dtype=str).tolist() if t.strip()]
    if not texts:
        raise TextEncoderError("The catalog has no item text to build a fallback vocabulary from.")
    logger.warning(
        "No --text-encoder given: using a small randomly initialised BERT (%d layers, width %d) "
        "with a WordPiece vocabulary computed from the catalog. It is NOT pretrained; pass a "
        "KerasHub preset, hf:// handle or local checkpoint directory for language-model semantics.",
        config.fallback_num_layers, config.fallback_hidden_dim)
    vocabulary = learn_word_piece_vocabulary(texts, config.fallback_vocabulary_size)
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocabulary, lowercase=True)
    keras.utils.set_random_seed(seed)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(vocabulary),
        num_layers=config.fallback_num_layers,
        num_heads=config.fallback_num_heads,
        hidden_dim=config.fallback_hidden_dim,
        intermediate_dim=config.fallback_intermediate_dim,
        max_sequence_length=max(config.sequence_length, 8),
    )
    return TextEncoder(backbone, tokenizer, pretrained=False, source="fallback")


def _bert_pretokenize(texts):
    """The normalisation and splitting `BertTokenizer(lowercase=True)` applies before WordPiece."""
    return pretokenize(texts, lowercase=True, strip_accents=False, split=True, split_on_cjk=True)


def learn_word_piece_vocabulary(texts, vocabulary_size: int):
    """A WordPiece vocabulary of at most `vocabulary_size` tokens, `RESERVED_TOKENS` first.

    Words are kept whole whenever the size allows, however rare they are.
    """
    words = tf.data.Dataset.from_tensor_slices(list(texts)).batch(TEXT_BATCH_SIZE).map(_bert_pretokenize)
    vocabulary = wordpiece_learner.learn(
        wordpiece_learner.count_words(words), vocab_size=vocabulary_size, reserved_tokens=RESERVED_TOKENS,
        lower_thresh=MIN_SUBWORD_COUNT, include_joiner_token=True, joiner="##")
    return vocabulary[:vocabulary_size]


def save_text_encoder(encoder: TextEncoder, directory: str):
    """Saves as a KerasHub preset plus a note of where it came from."""
    import json  # pylint: disable=import-outside-toplevel
    os.makedirs(directory, exist_ok=True)
    encoder.save(directory)
    with open(os.path.join(directory, "tfrec_llm_encoder.json"), "w", encoding="utf-8") as f:
        json.dump({"pretrained": encoder.pretrained, "source": encoder.source}, f)
