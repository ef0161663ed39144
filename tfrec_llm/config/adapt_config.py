"""How `tfrec-llm adapt` fits a trained model to a new domain (`AdaptConfig`)."""

import dataclasses
from typing import Optional

from tfrec_llm.config.config_checks import ConfigError, check_choice, check_positive, check_range


ADAPT_PARTS = ("scenario", "projection", "lora", "all")
MATCH_ITEMS_BY = ("auto", "title", "text", "title_loose", "none")  # see training/item_matching.py


@dataclasses.dataclass
class AdaptConfig:
    """How `tfrec-llm adapt` fits a trained model to a new domain (`adapt.json` in its output).

    Args:
        fraction: share of the new domain's training users trained on
            (0 = zero-shot: the new items enter through their text, nothing
            is trained; 1 = all of them).
        train_only: which parts train: "scenario" (the domain's own tables:
            scenario and item-id embeddings), "projection" (the item tower's
            text projection), "lora" (KerasHub LoRA adapters of the text
            encoder; text mode becomes "lora") or "all" (every part but a
            frozen encoder).
        epochs: most epochs (early stopping as in `train.early_stopping_patience`).
        learning_rate: Adam's learning rate (None: the model's own).
        seed: seeds the user sample and the training.
        from_scratch: train a fresh model of the same architecture and text
            encoder instead of starting from the trained one (the baseline).
        match_items_by: carry item identity across domains: new items whose
            field equals a trained item's (case/whitespace-insensitive) start
            from its id row and gate count ("auto": "title" when both catalogs
            have titles; "title"; "text": the whole item text; "title_loose":
            title, then title without alternate titles; "none"; see
            `training/item_matching.py`). Not used with from_scratch.

    Example:
        AdaptConfig(fraction=0.1, train_only="projection").validate()
    """

    fraction: float = 1.0
    train_only: str = "all"
    epochs: int = 20
    learning_rate: Optional[float] = None
    seed: int = 0
    from_scratch: bool = False
    match_items_by: str = "auto"

    def validate(self) -> "AdaptConfig":
        check_range("adapt.fraction", self.fraction, 0.0, 1.0)
        check_choice("adapt.train_only", self.train_only, ADAPT_PARTS)
        check_choice("adapt.match_items_by", self.match_items_by, MATCH_ITEMS_BY)
        check_positive("adapt.epochs", self.epochs)
        if self.learning_rate is not None:
            check_positive("adapt.learning_rate", self.learning_rate)
        if self.seed < 0:
            raise ConfigError(f"adapt.seed must be >= 0, got {self.seed}.")
        if self.from_scratch and self.fraction == 0:
            raise ConfigError("adapt.from_scratch needs adapt.fraction > 0: a fresh model trained on nothing.")
        return self
