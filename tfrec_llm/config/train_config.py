"""`train`: the training loop (`TrainConfig`)."""

import dataclasses
from typing import Optional

from tfrec_llm.config.config_checks import ConfigError, check_choice, check_positive


STRATEGIES = ("default", "mirrored", "multiworker", "tpu")


@dataclasses.dataclass
class TrainConfig:
    """The training loop.

    Args:
        epochs, batch_size, learning_rate: the usual.
        seed: seeds Python, NumPy, TensorFlow and Keras 3 for repeatable runs.
        deterministic: enable TensorFlow op determinism (same seed, same run).
        strategy: "default", "mirrored" (all local GPUs), "multiworker"
            (TF_CONFIG cluster) or "tpu".
        tpu: TPU address for the "tpu" strategy ("" = the local TPU VM).
        mixed_precision: train in mixed_float16 (GPU) / mixed_bfloat16 (TPU).
        checkpoint_every_steps: also back up mid-epoch every N steps (0 = at
            each epoch end only); `train` resumes from the backup.
        eval_max_examples: cap on test examples evaluated (0 = all).
        early_stopping_patience: stop after this many epochs without a
            better validation Recall@10 and restore the best epoch's
            weights (0 = train every epoch, no validation hold-out). The
            validation target is each user's last training event
            (leave_last_out), the last 10% of the training period
            (time_cut) or a random 5% of training events (random).
        validation_max_examples: cap on validation examples (0 = all).
        lazy_adam_min_rows: embedding tables with at least this many rows
            get lazy Adam updates: only the rows a step's gradient touches
            move (`training/lazy_adam.py`; Keras' Adam moves every row of
            the table every step, O(items) per step). Smaller tables update
            exactly as Keras' Adam does (a full-catalog softmax touches
            every row: the same up to float rounding). 0 = Keras' Adam for
            every table.
        learning_rate_decay: the rate is multiplied by this after every
            `learning_rate_decay_patience` epochs without a better validation
            Recall@10 (Keras' ReduceLROnPlateau rule, replayed from the
            saved validation curve so resumed runs match:
            `training/plateau_learning_rate.py`); 1 = a constant rate. Needs
            the validation curve, so it applies only with
            `early_stopping_patience` > 0.
        learning_rate_decay_patience: epochs without improvement before
            each drop (below `early_stopping_patience` to matter).
        weight_average_momentum: m > 0 keeps an exponential moving average
            of the weights over training steps (average <- m * average +
            (1 - m) * weights; Keras' optimizer `use_ema`); validation scores,
            early stopping keeps and training ends on the averaged weights
            (`training/weight_averaging.py`). 0 = off: the last step's weights.
            Each step then also reads and writes every weight (O(items) for
            the item table, which `LazyAdam` avoids: 1.26-1.32 x the time
            per example at 1M items, README "Training throughput"). Measured on ml-100k
            (0.95, 0.99; benchmarks/RESULTS.md, "Weight averaging"):
            validation chose 0.95 for the attention peer only.
        verbose: Keras progress display (0 silent, 1 bar, 2 one line/epoch);
            None: 1 when stdout is a terminal, else 2.
    """

    epochs: int = 3
    batch_size: int = 128
    learning_rate: float = 2e-3
    seed: int = 0
    deterministic: bool = True
    strategy: str = "default"
    tpu: str = ""
    mixed_precision: bool = False
    checkpoint_every_steps: int = 0
    eval_max_examples: int = 0
    early_stopping_patience: int = 5
    validation_max_examples: int = 5000
    lazy_adam_min_rows: int = 50_000
    learning_rate_decay: float = 1.0
    learning_rate_decay_patience: int = 2
    weight_average_momentum: float = 0.0
    verbose: Optional[int] = None

    def validate(self):
        check_positive("train.epochs", self.epochs)
        check_positive("train.batch_size", self.batch_size)
        check_positive("train.learning_rate", self.learning_rate)
        check_choice("train.strategy", self.strategy, STRATEGIES)
        if self.seed < 0:
            raise ConfigError(f"train.seed must be >= 0, got {self.seed}.")
        if min(self.early_stopping_patience, self.validation_max_examples) < 0:
            raise ConfigError("train.early_stopping_patience and train.validation_max_examples must be >= 0.")
        if self.lazy_adam_min_rows < 0:
            raise ConfigError(f"train.lazy_adam_min_rows must be >= 0 (0 = never lazy), got {self.lazy_adam_min_rows}.")
        if not 0 < self.learning_rate_decay <= 1:
            raise ConfigError(
                f"train.learning_rate_decay must be in (0, 1] (1 = constant), got {self.learning_rate_decay}."
            )
        if self.learning_rate_decay_patience < 1:
            raise ConfigError(
                f"train.learning_rate_decay_patience must be >= 1, got {self.learning_rate_decay_patience}."
            )
        if not 0 <= self.weight_average_momentum < 1:
            raise ConfigError(
                f"train.weight_average_momentum must be in [0, 1) (0 = off), got {self.weight_average_momentum}."
            )
        if self.checkpoint_every_steps < 0 or self.eval_max_examples < 0:
            raise ConfigError("train.checkpoint_every_steps and train.eval_max_examples must be >= 0.")
