"""`resumable_fit`: `model.fit` that resumes from `<output_dir>/backup` after an interruption.

`train`, `update` and `adapt` train this way: the backup belongs to one run, recorded by
`resume.record_backup_config` (the run's config plus the `extra` settings
outside it); a rerun with other settings is refused with `BackupConfigError`
instead of mixing two runs; a truncated newest backup is dropped; the
stream is `resume.epoch_stream`, so a resumed run trains on the batches an
uninterrupted one would and ends on the same weights.

Example:
    check_backup_config(backup_dir, config, extra)  # early, before the slow setup
    ...
    history = resumable_fit(model, features, config, backup_dir, extra, name="update")
"""

import hashlib
import logging
import os
from typing import Callable, Optional, Sequence

import tf_keras

from tfrec_llm.experiment_config import ExperimentConfig
from tfrec_llm.progress import keras_verbosity
from tfrec_llm.training.resume import (
    check_backup_config,
    clear_backup_config,
    discard_corrupt_backups,
    epoch_stream,
    record_backup_config,
    resume_position,
)

logger = logging.getLogger(__name__)

BACKUP_DIR = "backup"  # under the output directory


def backup_dir_of(output_dir: str) -> str:
    """Where a run writing `output_dir` keeps its backup."""
    return os.path.join(output_dir, BACKUP_DIR)


def events_fingerprint(events) -> str:
    """The count and sha256 prefix of an `Interactions`' columns: an `extra` entry telling two event sets apart."""
    digest = hashlib.sha256()
    for column in (events.user_ids, events.item_ids, events.timestamps, events.labels, events.scenarios):
        digest.update(column.tobytes())
    return f"{len(events)} events, sha256 {digest.hexdigest()[:16]}"


def resumable_fit(
    model,
    features: dict,
    config: ExperimentConfig,
    backup_dir: str,
    extra: Optional[dict] = None,
    callbacks: Sequence = (),
    loggers: Sequence = (),
    on_fresh_start: Optional[Callable[[], None]] = None,
    name: str = "training",
    chief: bool = True,
):
    """Fits `model` for `config.train.epochs` on `features`, resuming from `backup_dir`; returns the History.

    Args:
        model: a compiled model.
        features: equal-length feature arrays (one row per training example).
        config: the run's config (`train`: epochs, batch size, seed, checkpoint_every_steps, verbose).
        backup_dir: Keras `BackupAndRestore`'s directory (`backup_dir_of(output_dir)`).
        extra: settings outside `config` that change what is trained (see `resume.training_config`).
        callbacks: run before the backup is saved at an epoch's end (e.g. early stopping).
        loggers: run after it (e.g. a CSVLogger appending across resumes).
        on_fresh_start: called when nothing is resumed (e.g. to forget an earlier run's log).
        name: what trains, in the "Resuming the <name> from backup" line.
        chief: False on a multi-worker non-chief: it reads the chief's backup
            (Keras restores every worker from it) but writes no backup record.
    """
    train = config.train
    check_backup_config(backup_dir, config, extra)
    if chief:
        os.makedirs(backup_dir, exist_ok=True)
        discard_corrupt_backups(backup_dir)
    rows = len(next(iter(features.values())))
    batch_size = min(train.batch_size, rows)
    steps = rows // batch_size
    start_epoch, start_step = resume_position(backup_dir, steps, train.checkpoint_every_steps > 0)
    if (start_epoch, start_step) != (0, 0):
        logger.info("Resuming the %s from backup: epoch %d, step %d", name, start_epoch + 1, start_step)
    elif on_fresh_start is not None:
        on_fresh_start()
    if chief:
        record_backup_config(backup_dir, config, extra)
    backup = tf_keras.callbacks.BackupAndRestore(backup_dir, save_freq=train.checkpoint_every_steps or "epoch")
    history = model.fit(
        epoch_stream(features, batch_size, train.seed, train.epochs, start_epoch, start_step),
        epochs=train.epochs,
        steps_per_epoch=steps,
        callbacks=[*callbacks, backup, *loggers],
        verbose=keras_verbosity(train.verbose),
    )
    if chief:
        clear_backup_config(backup_dir)
    return history
