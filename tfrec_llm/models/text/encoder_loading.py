"""Resolves `--text-encoder SPEC` (`text.encoder`) into a `TextEncoder`.

SPEC may be:
- `hf://sentence-transformers/all-MiniLM-L6-v2`, the default
  (`DEFAULT_TEXT_ENCODER`): read from the Hugging Face cache, else
  downloaded once where the Hub answers; where it cannot be had (offline, no
  cached copy) the run goes on with the fallback below and a warning naming
  the source and the reason. The failed attempt is quick: one request,
  bounded by `hub_checkpoint.PROBE_TIMEOUT_SECONDS`;
- "none" / "fallback" / None / "": a small randomly initialised BERT whose
  WordPiece vocabulary is computed from the catalog texts (warns: not
  pretrained), without trying the network. None (`"encoder": null`) is what
  configs written before the pretrained default say, and still means this;
- a local directory: a Keras preset (`metadata.json`) or a Hugging Face
  BERT checkpoint (`config.json` + `model.safetensors` + `vocab.txt`), both
  read by KerasHub's `from_preset`;
- another `hf://<org>/<repo>` (cache first, same quick check) or a KerasHub
  preset name (e.g. `bert_tiny_en_uncased`), downloaded by KerasHub where
  there is internet. These are what the user asked for: failing to load them
  is an error, not a fallback.
"""

import logging
import os

import keras
import keras_hub
import numpy as np
import tensorflow as tf
from keras_hub.src.tokenizers.word_piece_tokenizer import pretokenize
from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib as wordpiece_learner

from tfrec_llm.experiment_config import DEFAULT_TEXT_ENCODER, TextConfig
from tfrec_llm.models.text.hub_checkpoint import cached_checkpoint_dir, hub_repo_id, hub_unreachable_reason
from tfrec_llm.models.text.no_text_encoder import NoTextEncoder
from tfrec_llm.models.text.text_encoder import TextEncoder

logger = logging.getLogger(__name__)

FALLBACK_SPECS = (None, "", "fallback", "none")
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
        setting = "null" if spec is None else repr(spec)
        return build_fallback_encoder(
            catalog_texts, config, seed, f"No pretrained text encoder (text.encoder: {setting})"
        )
    if spec == DEFAULT_TEXT_ENCODER:
        try:
            return load_pretrained_encoder(spec)
        except TextEncoderError as error:
            return build_fallback_encoder(catalog_texts, config, seed, str(error))
    return load_pretrained_encoder(spec)


def load_pretrained_encoder(spec: str) -> TextEncoder:
    """The encoder at a local directory, `hf://` handle or KerasHub preset name.

    Raises:
        TextEncoderError: it cannot be had; the message says why and how to fix it.
    """
    if os.path.isdir(spec):
        return _from_preset(spec, pretrained=True)
    if os.path.exists(spec):
        raise TextEncoderError(
            f"--text-encoder {spec!r} is a file; pass the directory holding a Keras preset "
            "(metadata.json) or a Hugging Face BERT checkpoint (config.json, model.safetensors, vocab.txt)."
        )
    repo_id = hub_repo_id(spec)
    if repo_id is not None:
        return _from_hugging_face(spec, repo_id)
    return _from_preset(spec, pretrained=True)


def _from_hugging_face(spec: str, repo_id: str) -> TextEncoder:
    cached = cached_checkpoint_dir(repo_id)
    if cached is not None:
        try:
            return _from_preset(cached, pretrained=True, source=spec)
        except TextEncoderError as error:  # e.g. a download cut short: fetch it again
            logger.warning(
                "The cached copy of %s in %s does not load (%s); downloading it again.", spec, cached, error.__cause__
            )
    unreachable = hub_unreachable_reason(repo_id)
    if unreachable is not None:
        raise TextEncoderError(
            f"Could not fetch the text encoder {spec}: {unreachable}, and the Hugging Face cache has no usable copy. "
            "Offline, copy ~/.cache/huggingface from a machine that has it, or pass --text-encoder with a "
            "local checkpoint directory (README, 'Choosing a text encoder'); --text-encoder none asks for "
            "the (not pretrained) fallback encoder without trying."
        )
    logger.info("Downloading the text encoder %s (once: the Hugging Face cache keeps it).", spec)
    return _from_preset(spec, pretrained=True)


def _from_preset(spec: str, pretrained: bool, source: str = None) -> TextEncoder:
    try:
        backbone = keras_hub.models.BertBackbone.from_preset(spec)
        tokenizer = keras_hub.models.BertTokenizer.from_preset(spec)
    except Exception as error:  # KerasHub raises many types for missing files/network.
        where = "directory" if os.path.isdir(spec) else "preset"
        raise TextEncoderError(
            f"Could not load the BERT text encoder from {where} {spec!r}: {error}. "
            "Preset names and hf:// handles need internet; offline, pass a local directory "
            "with a Keras preset or a Hugging Face BERT checkpoint, or --text-encoder none "
            "for the (not pretrained) fallback encoder."
        ) from error
    metadata_path = os.path.join(spec, "metadata.json") if os.path.isdir(spec) else None
    is_own_save = metadata_path is not None and os.path.exists(os.path.join(spec, "tfrec_llm_encoder.json"))
    if is_own_save:
        import json  # pylint: disable=import-outside-toplevel

        with open(os.path.join(spec, "tfrec_llm_encoder.json"), encoding="utf-8") as f:
            info = json.load(f)
        return TextEncoder(backbone, tokenizer, pretrained=info["pretrained"], source=info["source"])
    logger.info(
        "Text encoder: %s (pretrained, %d layers, width %d)", source or spec, backbone.num_layers, backbone.hidden_dim
    )
    return TextEncoder(backbone, tokenizer, pretrained=pretrained, source=source or spec)


def build_fallback_encoder(
    catalog_texts, config: TextConfig, seed: int = 0, reason: str = "No pretrained text encoder asked for"
) -> TextEncoder:
    """A small random BERT with a WordPiece vocabulary computed from `catalog_texts`.

    `reason` starts the warning saying it is not pretrained (why this encoder).
    """
    texts = [t for t in np.asarray(catalog_texts, dtype=str).tolist() if t.strip()]
    if not texts:
        raise TextEncoderError("The catalog has no item text to build a fallback vocabulary from.")
    logger.warning(
        "%s. Using a small randomly initialised BERT (%d layers, width %d) with a WordPiece vocabulary "
        "computed from the catalog. It is NOT pretrained; pass a KerasHub preset, hf:// handle or local "
        "checkpoint directory for language-model semantics.",
        reason.rstrip("."),
        config.fallback_num_layers,
        config.fallback_hidden_dim,
    )
    vocabulary = learn_word_piece_vocabulary(
        texts, config.fallback_vocabulary_size, config.fallback_vocabulary_max_texts, seed
    )
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


def learn_word_piece_vocabulary(texts, vocabulary_size: int, max_texts: int = None, seed: int = 0):
    """A WordPiece vocabulary of at most `vocabulary_size` tokens, `RESERVED_TOKENS` first.

    Words are kept whole whenever the size allows, however rare they are.
    tensorflow_text's learner costs O(texts) in Python, and more with each
    distinct word: beyond `max_texts` texts (None: no bound) it learns from a
    sample of `max_texts` of them drawn with `seed` (the same texts for the
    same seed), and logs how many it used. A 3000-token vocabulary is full
    well before that: the built-in world's first 5,000 item texts hold 3,243
    distinct words. Words only in unsampled texts are spelled in subwords.

    Example:
        >>> learn_word_piece_vocabulary(["Toy Story", "Four Rooms"], 100)[:5]
        ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
    """
    texts = list(texts)
    if max_texts is not None and len(texts) > max_texts:
        chosen = np.sort(np.random.default_rng(seed).choice(len(texts), size=max_texts, replace=False))
        logger.info(
            "Fallback vocabulary: learned from a seeded sample of %d of %d item texts "
            "(text.fallback_vocabulary_max_texts).",
            max_texts,
            len(texts),
        )
        texts = [texts[i] for i in chosen]
    words = tf.data.Dataset.from_tensor_slices(texts).batch(TEXT_BATCH_SIZE).map(_bert_pretokenize)
    vocabulary = wordpiece_learner.learn(
        wordpiece_learner.count_words(words),
        vocab_size=vocabulary_size,
        reserved_tokens=RESERVED_TOKENS,
        lower_thresh=MIN_SUBWORD_COUNT,
        include_joiner_token=True,
        joiner="##",
    )
    return vocabulary[:vocabulary_size]


def save_text_encoder(encoder: TextEncoder, directory: str):
    """Saves as a KerasHub preset plus a note of where it came from (nothing for a `NoTextEncoder`)."""
    import json  # pylint: disable=import-outside-toplevel

    if isinstance(encoder, NoTextEncoder):
        return  # the model reads no text: there is no encoder to save
    os.makedirs(directory, exist_ok=True)
    encoder.save(directory)
    with open(os.path.join(directory, "tfrec_llm_encoder.json"), "w", encoding="utf-8") as f:
        json.dump({"pretrained": encoder.pretrained, "source": encoder.source}, f)
