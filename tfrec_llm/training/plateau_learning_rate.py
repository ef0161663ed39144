"""A learning rate that drops when the validation target stops improving, safe across resumes.

Keras' `ReduceLROnPlateau` counts epochs without improvement in memory: a run
killed and resumed by `BackupAndRestore` starts counting again and may lower
the rate at other epochs than an uninterrupted run. Here the rate is a
function of the validation curve the early stopper keeps on disk
(`ValidationEarlyStopping.curve`): Keras' rule replayed over it at the start
of every epoch, so a resumed run trains each epoch at the rate an
uninterrupted one would.
"""

from typing import Sequence

import numpy as np
import tf_keras

LEARNING_RATE_LOG = "lr"  # the key Keras' ReduceLROnPlateau writes into the epoch logs


def plateau_learning_rate(curve: Sequence[float], base_rate: float, factor: float, patience: int) -> float:
    """The rate for the epoch after `curve` (validation values of the epochs so far, in order).

    Keras' `ReduceLROnPlateau(mode="max", cooldown=0)` rule: the rate is
    multiplied by `factor` after every `patience` epochs in a row without a
    better value than the best so far; the count restarts after each drop
    and at each new best.

    Example:
        plateau_learning_rate([0.1, 0.2, 0.2, 0.2], 1e-3, 0.5, 2)  # 5e-4: epochs 3 and 4 did not improve
    """
    rate, best, waited = base_rate, -np.inf, 0
    for value in curve:
        if value > best:
            best, waited = value, 0
            continue
        waited += 1
        if waited >= patience:
            rate, waited = rate * factor, 0
    return rate


class PlateauLearningRate(tf_keras.callbacks.Callback):
    """Sets the optimizer's rate each epoch from the early stopper's validation curve.

    Args:
        stopper: the run's `ValidationEarlyStopping` (its `curve` is read from disk).
        base_rate: the rate before any drop (`train.learning_rate`).
        factor: multiplier at each plateau, in (0, 1).
        patience: epochs without a better validation value before a drop.

    Example:
        stopper = ValidationEarlyStopping(validation, rows, out + "/early_stopping", 5)
        model.fit(stream, epochs=50, callbacks=[stopper, PlateauLearningRate(stopper, 2e-3, 0.5, 2)])
    """

    def __init__(self, stopper, base_rate: float, factor: float, patience: int):
        super().__init__()
        if not 0 < factor < 1 or patience < 1:
            raise ValueError(f"factor must be in (0, 1) and patience >= 1, got {factor} and {patience}.")
        self.stopper = stopper
        self.base_rate = base_rate
        self.factor = factor
        self.patience = patience

    def rate_for_epoch(self, epoch: int) -> float:
        curve = self.stopper.curve
        earlier = [curve[e] for e in sorted(curve) if e < epoch]
        return plateau_learning_rate(earlier, self.base_rate, self.factor, self.patience)

    def on_epoch_begin(self, epoch, logs=None):
        self.model.optimizer.learning_rate = self.rate_for_epoch(epoch)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs[LEARNING_RATE_LOG] = float(tf_keras.backend.get_value(self.model.optimizer.learning_rate))


def validation_callbacks(stopper, train_config) -> list:
    """The epoch-end callbacks of a run: its early stopper (first: later callbacks see its
    `val_recall@10`), then the plateau rate when `train.learning_rate_decay` < 1; [] without a stopper."""
    if stopper is None:
        return []
    if train_config.learning_rate_decay == 1:
        return [stopper]
    rate = PlateauLearningRate(
        stopper, train_config.learning_rate, train_config.learning_rate_decay, train_config.learning_rate_decay_patience
    )
    return [stopper, rate]
