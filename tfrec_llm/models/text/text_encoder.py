"""A BERT backbone and its tokenizer, as the item tower uses them.

Tokenization runs once per item in Python/`tf.data` land (item texts are
known ahead), producing a fixed [num_items, sequence_length] token-id table;
the models only ever see token ids, so retrieval and ranking graphs need no
TF Text op. `StartEndPacker` is used (one segment), never the multi-segment
packer whose `RoundRobinTrim` op stock TF Serving lacks.
"""

import hashlib
import json
import logging

import keras_hub
import numpy as np
import tensorflow as tf

from tfrec_llm.models.text.keras_hub_bridge_layer import KerasHubBridgeLayer
from tfrec_llm.progress import Progress

logger = logging.getLogger(__name__)


class TextEncoder:
    """A KerasHub `BertBackbone` + `BertTokenizer`, with mean pooling.

    Args:
        backbone: `keras_hub.models.BertBackbone`.
        tokenizer: `keras_hub.models.BertTokenizer` matching the backbone.
        pretrained: whether the weights come from a pretrained checkpoint.
        source: where it came from (preset name, path or "fallback").

    Example:
        encoder = load_text_encoder("/path/to/minilm", texts, TextConfig())
        token_ids = encoder.tokenize(["A space opera"], sequence_length=32)
        vectors = encoder.encode(token_ids)  # [1, 384]
    """

    def __init__(self, backbone, tokenizer, pretrained: bool, source: str):
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.pretrained = pretrained
        self.source = source
        self._bridge = None
        self._encode_fn = None
        self._tokenize_fn = None
        self.lora_rank = None

    @property
    def hidden_dim(self) -> int:
        return self.backbone.hidden_dim

    @property
    def pad_token_id(self) -> int:
        return int(self.tokenizer.pad_token_id)

    def packer(self, sequence_length: int):
        return keras_hub.layers.StartEndPacker(
            sequence_length=sequence_length,
            start_value=self.tokenizer.cls_token_id,
            end_value=self.tokenizer.sep_token_id,
            pad_value=self.tokenizer.pad_token_id,
            return_padding_mask=False,
        )

    def tokenize(self, texts, sequence_length: int, batch_size: int = 4096, return_lengths: bool = False):
        """Texts -> int32 [n, sequence_length] token ids with [CLS] ... [SEP] and padding.

        `sequence_length` is capped at the backbone's `max_sequence_length`;
        longer texts are cut (their [SEP] kept last).

        Args:
            texts: the texts.
            sequence_length: tokens per row, [CLS] and [SEP] included.
            batch_size: texts per tokenizer call.
            return_lengths: also return each text's length in tokens before
                the cut ([CLS] and [SEP] included), to count cut texts
                without tokenizing twice.

        Returns:
            The token ids, or (token ids, int64 [n] lengths) with `return_lengths`.
        """
        sequence_length = min(sequence_length, self.backbone.max_sequence_length)
        packer = self.packer(sequence_length)
        texts = np.asarray(texts, dtype=str)
        chunks = [np.zeros((0, sequence_length), np.int32)]
        lengths = [np.zeros(0, np.int64)]
        for start in range(0, len(texts), batch_size):
            tokens = self._tokenize_batch(tf.constant(texts[start : start + batch_size]))
            chunks.append(np.asarray(packer(tokens), dtype=np.int32))
            lengths.append(_token_counts(tokens, self.pad_token_id) + 2)
        if return_lengths:
            return np.concatenate(chunks), np.concatenate(lengths)
        return np.concatenate(chunks)

    def _tokenize_batch(self, texts: tf.Tensor):
        """The tokenizer over a batch of texts, traced once: called eagerly, KerasHub's
        WordPiece takes a pure-Python path about 2.6x slower (1M catalog texts took ~1 h here)."""
        if self._tokenize_fn is None:
            self._tokenize_fn = tf.function(self.tokenizer, input_signature=[tf.TensorSpec([None], tf.string)])
        return self._tokenize_fn(texts)

    def enable_lora(self, rank: int):
        """Switches the backbone to LoRA adapters (KerasHub `enable_lora`); idempotent.

        The bridge layer is rebuilt so it exposes the new adapter variables.
        """
        if self.lora_rank == rank:
            return
        if self.lora_rank is not None:
            raise ValueError(f"LoRA is already enabled with rank {self.lora_rank}; cannot switch to {rank}.")
        self.backbone.enable_lora(rank)
        self.lora_rank = rank
        self._bridge = None
        self._encode_fn = None

    def bridge_layer(self) -> KerasHubBridgeLayer:
        """The tf_keras layer around the backbone (one per encoder)."""
        if self._bridge is None:
            # Mean pooling reads sequence_output; the [CLS] pooler gets no gradient.
            self.backbone.get_layer("pooled_dense").trainable = False
            self._bridge = KerasHubBridgeLayer(self.backbone, pad_token_id=self.pad_token_id, name="bert_encoder")
        return self._bridge

    def encode(self, token_ids: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Token ids -> float32 [n, hidden_dim] mean-pooled vectors (inference mode).

        A long catalog shows a progress bar on a terminal; otherwise one INFO
        line reports the count and time (`tfrec_llm.progress`).
        """
        if self._encode_fn is None:
            bridge = self.bridge_layer()
            self._encode_fn = tf.function(lambda ids: bridge(ids, training=False), reduce_retracing=True)
        outputs = [np.zeros((0, self.hidden_dim), np.float32)]
        with Progress(
            "Encoding texts with BERT",
            total=len(token_ids),
            unit="texts",
            summary="Encoded {count:,} texts with BERT in {seconds:.1f} s",
        ) as progress:
            for start in range(0, len(token_ids), batch_size):
                batch = tf.constant(token_ids[start : start + batch_size], dtype=tf.int32)
                outputs.append(np.asarray(self._encode_fn(batch), dtype=np.float32))
                progress.update(len(batch))
        return np.concatenate(outputs)

    def fingerprint(self) -> str:
        """A sha256 hex digest of everything that decides `tokenize` and `encode` outputs.

        Covers the source, the backbone and tokenizer configs (without their
        auto-generated names), the vocabulary and every backbone weight, so two
        fallback encoders of another seed or size differ even though both are
        "fallback". Cheap next to encoding: one pass over the weights.
        """
        digest = hashlib.sha256(self.source.encode())
        for layer in (self.backbone, self.tokenizer):
            config = {k: v for k, v in layer.get_config().items() if k != "name"}
            digest.update(json.dumps(config, sort_keys=True, default=str).encode())
        digest.update("\n".join(self.tokenizer.get_vocabulary()).encode())
        for weight in self.backbone.weights:
            value = np.ascontiguousarray(weight.numpy())
            digest.update(f"{value.dtype}{value.shape}".encode())
            digest.update(value.tobytes())
        return digest.hexdigest()

    def save(self, directory: str):
        """Writes a KerasHub preset directory; `load_text_encoder(directory)` reads it back."""
        self.backbone.save_to_preset(directory)
        self.tokenizer.save_to_preset(directory)


def _token_counts(tokens, pad_token_id: int) -> np.ndarray:
    """Tokens per text of a tokenizer's output: a list of lists, ragged, or dense and padded."""
    if isinstance(tokens, list):
        return np.asarray([len(row) for row in tokens], dtype=np.int64)
    if isinstance(tokens, tf.RaggedTensor):
        return np.asarray(tokens.row_lengths(), dtype=np.int64)
    return np.count_nonzero(np.asarray(tokens) != pad_token_id, axis=1).astype(np.int64)


def warn_about_cut_texts(lengths: np.ndarray, requested_length: int, max_sequence_length: int) -> int:
    """Logs a warning counting texts longer than their token rows; returns the count.

    Args:
        lengths: tokens per text before the cut ([CLS] and [SEP] included),
            from `TextEncoder.tokenize(..., return_lengths=True)`.
        requested_length: `text.sequence_length`.
        max_sequence_length: the backbone's limit (rows are the smaller one).

    Example:
        >>> warn_about_cut_texts(np.array([3, 40, 12]), 32, 512)
        1
    """
    row_length = min(requested_length, max_sequence_length)
    cut = int(np.count_nonzero(np.asarray(lengths) > row_length))
    if cut:
        if requested_length > max_sequence_length:
            limit = f"the text encoder's limit of {row_length}"
            fix = "shorten the texts or choose fewer text fields (text.text_fields)"
        else:
            limit = f"text.sequence_length={row_length}"
            fix = "raise it with --text-sequence-length or text.sequence_length in --config"
        share = 100.0 * cut / len(lengths)
        logger.warning(
            "%s of %s item texts (%s) were longer than %s tokens and were cut (longest: %d tokens); %s.",
            f"{cut:,}",
            f"{len(lengths):,}",
            f"{share:.1f}%" if share >= 0.1 else "<0.1%",
            limit,
            int(np.max(lengths)),
            fix,
        )
    return cut
