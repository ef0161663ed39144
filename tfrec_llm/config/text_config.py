"""`text`: the text encoder and how the item tower reads item text (`TextConfig`)."""

import dataclasses
from typing import List, Optional

from tfrec_llm.config.config_checks import ConfigError, check_choice, check_positive


TEXT_MODES = ("frozen", "finetune", "lora")
# A small pretrained sentence encoder (6 layers, width 384, 90 MB), loaded by KerasHub.
DEFAULT_TEXT_ENCODER = "hf://sentence-transformers/all-MiniLM-L6-v2"


@dataclasses.dataclass
class TextConfig:
    """The BERT item-text encoder.

    Args:
        encoder: a KerasHub preset name, `hf://<repo>`, a local Keras preset
            directory or a local Hugging Face BERT checkpoint directory.
            Default: `DEFAULT_TEXT_ENCODER`, the pretrained MiniLM sentence
            encoder (Hugging Face cache first; downloaded once where there is
            internet; where it cannot be had, the fallback with a warning
            saying why). "none" (or null, as configs written before this
            default say): no pretrained encoder, without trying the network;
            a small randomly initialised BERT whose WordPiece vocabulary is
            computed from the catalog (with a warning: not pretrained).
        mode: "frozen" (encode each item once into a cache; the CPU default),
            "finetune" (train BERT jointly) or "lora" (KerasHub LoRA).
        lora_rank: rank of the LoRA adapters in "lora" mode.
        sequence_length: tokens per item text, [CLS] and [SEP] included.
        text_fields: catalog fields joined into the item text (None: all).
        encode_batch_size: items per BERT call when building the cache.
        fallback_vocabulary_size: WordPiece size of the fallback encoder.
        fallback_vocabulary_max_texts: the fallback vocabulary is learned from
            at most this many item texts (a sample seeded by `train.seed`
            beyond it, logged), so its cost stays bounded on large catalogs.
        fallback_num_layers, fallback_hidden_dim, fallback_num_heads,
        fallback_intermediate_dim: shape of the fallback BERT.
    """

    encoder: Optional[str] = DEFAULT_TEXT_ENCODER
    mode: str = "frozen"
    lora_rank: int = 4
    sequence_length: int = 32
    text_fields: Optional[List[str]] = None
    encode_batch_size: int = 256
    fallback_vocabulary_size: int = 3000
    fallback_vocabulary_max_texts: int = 5000
    fallback_num_layers: int = 2
    fallback_hidden_dim: int = 64
    fallback_num_heads: int = 2
    fallback_intermediate_dim: int = 128

    def validate(self):
        check_choice("text.mode", self.mode, TEXT_MODES)
        check_positive("text.sequence_length", self.sequence_length)
        check_positive("text.lora_rank", self.lora_rank)
        check_positive("text.encode_batch_size", self.encode_batch_size)
        for name in (
            "fallback_vocabulary_size",
            "fallback_vocabulary_max_texts",
            "fallback_num_layers",
            "fallback_hidden_dim",
            "fallback_num_heads",
            "fallback_intermediate_dim",
        ):
            check_positive(f"text.{name}", getattr(self, name))
        if self.sequence_length < 3:
            raise ConfigError("text.sequence_length must be >= 3 ([CLS], one token, [SEP]).")
