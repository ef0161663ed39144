"""A BERT backbone and its tokenizer, as the item tower uses them.

Tokenization runs once per item in Python/`tf.data` land (item texts are
known ahead), producing a fixed [num_items, sequence_length] token-id table;
the models only ever see token ids, so retrieval and ranking graphs need no
TF Text op. `StartEndPacker` is used (one segment), never the multi-segment
packer whose `RoundRobinTrim` op stock TF Serving lacks.
"""

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

    def tokenize(self, texts, sequence_length: int, batch_size: int = 4096) -> np.ndarray:
        """Texts -> int32 [n, sequence_length] token ids with [CLS] ... [SEP] and padding."""
        sequence_length = min(sequence_length, self.backbone.max_sequence_length)
        packer = self.packer(sequence_length)
        texts = np.asarray(texts, dtype=str)
        chunks = [np.zeros((0, sequence_length), np.int32)]
        for start in range(0, len(texts), batch_size):
            tokens = self.tokenizer(tf.constant(texts[start:start + batch_size]))
            chunks.append(np.asarray(packer(tokens), dtype=np.int32))
        return np.concatenate(chunks)

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
            self._bridge = KerasHubBridgeLayer(self.backbone, pad_token_id=self.pad_token_id,
                                               name="bert_encoder")
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
        with Progress("Encoding texts with BERT", total=len(token_ids), unit="texts",
                      summary="Encoded {count:,} texts with BERT in {seconds:.1f} s") as progress:
            for start in range(0, len(token_ids), batch_size):
                batch = tf.constant(token_ids[start:start + batch_size], dtype=tf.int32)
                outputs.append(np.asarray(self._encode_fn(batch), dtype=np.float32))
                progress.update(len(batch))
        return np.concatenate(outputs)

    def save(self, directory: str):
        """Writes a KerasHub preset directory; `load_text_encoder(directory)` reads it back."""
        self.backbone.save_to_preset(directory)
        self.tokenizer.save_to_preset(directory)
