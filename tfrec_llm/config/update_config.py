"""How `tfrec-llm update` continues a trained model on new events (`UpdateConfig`)."""

import dataclasses
from typing import Optional

from tfrec_llm.config.config_checks import ConfigError, check_positive


@dataclasses.dataclass
class UpdateConfig:
    """How `tfrec-llm update` continues a trained model on new events.

    Args:
        epochs: passes over the update's training windows (those holding
            new events and the replayed ones).
        learning_rate: Adam's learning rate (None: a quarter of the
            model's own: a fresh Adam's first steps at the full rate undo
            much of a trained model; on ml-100k, 2 epochs at the full rate
            fell to 0.57-0.90 of a retrain's Recall@10, 4 at a quarter
            reached 0.88-1.0).
        replay_ratio: older training windows replayed per window holding
            new events, sampled uniformly (against forgetting); 0 = none.
            4: chosen among 1, 2, 4 on ml-100k's validation slices, then
            0.987-0.999 of an early-stopped retrain's Recall@10 at 0.12-0.17
            of its wall time (README, feedback loop).
        seed: seeds the replay sample and the training stream.

    Example:
        UpdateConfig(epochs=4, replay_ratio=1.0).validate()
    """

    epochs: int = 4
    learning_rate: Optional[float] = None
    replay_ratio: float = 4.0
    seed: int = 0

    def validate(self) -> "UpdateConfig":
        check_positive("update.epochs", self.epochs)
        if self.learning_rate is not None:
            check_positive("update.learning_rate", self.learning_rate)
        if not self.replay_ratio >= 0:  # also false for NaN
            raise ConfigError(f"update.replay_ratio must be >= 0, got {self.replay_ratio!r}.")
        if self.seed < 0:
            raise ConfigError(f"update.seed must be >= 0, got {self.seed}.")
        return self
