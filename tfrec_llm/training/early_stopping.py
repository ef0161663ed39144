"""Early stopping on a validation target, restoring the best epoch, safe across resumes.

Keras' `EarlyStopping(restore_best_weights=True)` keeps its best value and
weights in memory: a run killed and resumed by `BackupAndRestore` forgets
them and may end on other weights than an uninterrupted run. This callback
keeps its state in `directory` instead (the per-epoch validation curve as
JSON and the best epoch's weights as a checkpoint), so a resumed run stops
and restores exactly as an uninterrupted one.

Each epoch it computes full-catalog Recall@10 on the validation examples
(items the user already had excluded, ties counted against the target) and
adds it to the epoch's logs as `val_recall@10` (CSVLogger and TensorBoard
record it).
"""

import json
import logging
import os
from typing import Optional

import numpy as np
import tensorflow as tf
import tf_keras

from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX
from tfrec_llm.evaluation.full_catalog_evaluator import chunk_rows
from tfrec_llm.evaluation.ranking_metrics import recall_at_k, target_ranks
from tfrec_llm.training.model_evaluation import catalog_embeddings, query_embeddings
from tfrec_llm.training.weight_averaging import averaged_weights

logger = logging.getLogger(__name__)

VALIDATION_METRIC = "val_recall@10"
VALIDATION_K = 10
STATE_FILE = "state.json"
CHECKPOINT_PREFIX = "best"
SCORE_CHUNK = 1024
EARLY_STOPPING_DIR = "early_stopping"  # under a model directory: the best weights and the stopper's state


def validation_recall(model, num_index_rows: int, examples, exclude_seen: bool = True) -> float:
    """Full-catalog Recall@10 of `model` on `examples` (a `SequenceExamples`)."""
    item_table = catalog_embeddings(model, num_index_rows)
    known = np.flatnonzero(examples.target >= FIRST_ITEM_INDEX)
    examples = examples.subset(known)
    if len(examples) == 0:
        return 0.0
    users = query_embeddings(model, examples.features(), item_table)
    catalog = item_table[FIRST_ITEM_INDEX:]
    targets = examples.target - FIRST_ITEM_INDEX
    ranks = []
    chunk = chunk_rows(len(catalog), SCORE_CHUNK)  # bounded scores per chunk, whatever the catalog size
    for start in range(0, len(examples), chunk):
        rows = range(start, min(start + chunk, len(examples)))
        exclusions = None
        if exclude_seen:
            exclusions = [
                seen[seen >= FIRST_ITEM_INDEX] - FIRST_ITEM_INDEX for seen in (examples.seen_before(i) for i in rows)
            ]
        ranks.append(
            target_ranks(users[rows.start : rows.stop] @ catalog.T, targets[rows.start : rows.stop], exclusions)
        )
    return float(recall_at_k(np.concatenate(ranks), VALIDATION_K))


class ValidationEarlyStopping(tf_keras.callbacks.Callback):
    """Validation Recall@10 per epoch; stops after `patience` epochs without a better one.

    Args:
        examples: validation `SequenceExamples`.
        num_index_rows: rows of the item index space (the model's item table).
        directory: where the curve and the best weights are kept.
        patience: epochs without improvement before training stops.
        exclude_seen: exclude items the user already had from the ranking.

    Example:
        stopper = ValidationEarlyStopping(validation, assets.num_index_rows, out + "/early_stopping", 3)
        model.fit(stream, epochs=50, callbacks=[stopper, ...])
        stopper.restore_best(model)
    """

    def __init__(self, examples, num_index_rows: int, directory: str, patience: int, exclude_seen: bool = True):
        super().__init__()
        self.examples = examples
        self.num_index_rows = num_index_rows
        self.directory = directory
        self.patience = patience
        self.exclude_seen = exclude_seen

    # State -------------------------------------------------------------------

    @property
    def curve(self) -> dict:
        """{epoch (0-based): validation Recall@10} of the epochs run so far."""
        path = os.path.join(self.directory, STATE_FILE)
        if not os.path.exists(path):
            return {}
        with open(path, encoding="utf-8") as f:
            return {int(epoch): value for epoch, value in json.load(f)["curve"].items()}

    @property
    def best_epoch(self) -> Optional[int]:
        curve = self.curve
        return max(curve, key=lambda epoch: (curve[epoch], -epoch)) if curve else None

    def reset(self):
        """Forgets an earlier run's state (a fresh run into the same directory)."""
        if tf.io.gfile.exists(self.directory):
            tf.io.gfile.rmtree(self.directory)

    # Callback ----------------------------------------------------------------

    def on_epoch_end(self, epoch, logs=None):
        curve = {e: v for e, v in self.curve.items() if e < epoch}
        best_before = max(curve.values()) if curve else -np.inf
        with averaged_weights(self.model):  # the weights training keeps (the averaged ones, with averaging)
            value = validation_recall(self.model, self.num_index_rows, self.examples, self.exclude_seen)
            if value > best_before:
                tf.train.Checkpoint(model=self.model).write(os.path.join(self.directory, CHECKPOINT_PREFIX))
        if logs is not None:
            logs[VALIDATION_METRIC] = value
        curve[epoch] = value
        os.makedirs(self.directory, exist_ok=True)
        with open(os.path.join(self.directory, STATE_FILE + ".tmp"), "w", encoding="utf-8") as f:
            json.dump({"curve": curve}, f)
        os.replace(os.path.join(self.directory, STATE_FILE + ".tmp"), os.path.join(self.directory, STATE_FILE))
        best = self.best_epoch
        logger.info(
            "Epoch %d: validation Recall@10 %.4f (best %.4f at epoch %d)", epoch + 1, value, curve[best], best + 1
        )
        if epoch - best >= self.patience:
            logger.info("Early stopping: no better validation Recall@10 for %d epochs.", self.patience)
            self.model.stop_training = True

    def restore_best(self, model) -> Optional[int]:
        """Loads the best epoch's weights into `model`; returns that epoch (None without a curve)."""
        best = self.best_epoch
        if best is not None:
            tf.train.Checkpoint(model=model).read(os.path.join(self.directory, CHECKPOINT_PREFIX)).expect_partial()
        return best


def validation_early_stopping(experiment, num_index_rows: int, train_config, model_dir: str):
    """The `ValidationEarlyStopping` of a run writing `model_dir`, or None when its split holds no validation target.

    Args:
        experiment: the run's `ExperimentData` (validation targets and split).
        num_index_rows: item index rows of the model (`ModelAssets.num_index_rows`).
        train_config: the `TrainConfig` (validation sample size, seed, patience).
        model_dir: the directory the run writes; the stopper keeps its state under it.
    """
    if not experiment.validation.any():
        return None
    return ValidationEarlyStopping(
        experiment.validation_examples(train_config.validation_max_examples, train_config.seed),
        num_index_rows,
        os.path.join(model_dir, EARLY_STOPPING_DIR),
        train_config.early_stopping_patience,
        experiment.split.excludes_seen_items,
    )
