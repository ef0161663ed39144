"""Resuming interrupted training exactly where it stopped.

Keras' `BackupAndRestore` restores weights, optimizer and the (epoch, step)
counters, but restarts the input iterator. We therefore feed `fit` a stream
that is a pure function of (seed, epoch): each epoch is shuffled with its
own seed, and a resumed run starts at the saved epoch and skips the batches
already trained on. Same seed, same batches, interrupted or not.

A truncated or corrupted newest backup is detected before training; it is
dropped (with a warning) so Keras restores the previous good one.
"""

import logging
import os

import tensorflow as tf

logger = logging.getLogger(__name__)

BACKUP_SUBDIR = "chief"
_EPOCH_KEY = "ckpt_saved_epoch/.ATTRIBUTES/VARIABLE_VALUE"
_BATCH_KEY = "ckpt_saved_batch/.ATTRIBUTES/VARIABLE_VALUE"


def _checkpoint_is_readable(prefix: str) -> bool:
    try:
        reader = tf.train.load_checkpoint(prefix)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
        return True
    except Exception:  # pylint: disable=broad-except
        # The reader raises OpError, ValueError, OSError or IndexError
        # ("Read less bytes than requested") depending on where a file is cut.
        return False


def discard_corrupt_backups(backup_dir: str) -> int:
    """Drops unreadable newest backups so the previous good one is restored; returns how many."""
    directory = os.path.join(backup_dir, BACKUP_SUBDIR)
    state = tf.train.get_checkpoint_state(directory)
    if state is None:
        return 0
    prefixes = list(state.all_model_checkpoint_paths) or [state.model_checkpoint_path]
    good = [p for p in prefixes if _checkpoint_is_readable(p)]
    dropped = len(prefixes) - len(good)
    if dropped:
        for prefix in set(prefixes) - set(good):
            logger.warning("Backup checkpoint %s is truncated or corrupted: ignoring it%s.", prefix,
                           f", resuming from {good[-1]}" if good else ", starting from scratch")
            for path in tf.io.gfile.glob(prefix + ".*"):
                tf.io.gfile.remove(path)
        if good:
            tf.compat.v1.train.update_checkpoint_state(directory, good[-1], all_model_checkpoint_paths=good)
        else:
            tf.io.gfile.remove(os.path.join(directory, "checkpoint"))
    return dropped


def resume_position(backup_dir: str, steps_per_epoch: int, save_freq_is_steps: bool):
    """(epoch, step) where Keras' BackupAndRestore will continue; (0, 0) without a backup."""
    prefix = tf.train.latest_checkpoint(os.path.join(backup_dir, BACKUP_SUBDIR))
    if prefix is None:
        return 0, 0
    reader = tf.train.load_checkpoint(prefix)
    epoch = int(reader.get_tensor(_EPOCH_KEY))
    batch = int(reader.get_tensor(_BATCH_KEY))
    if save_freq_is_steps and batch >= 0:
        return (epoch + 1, 0) if batch == steps_per_epoch - 1 else (epoch, batch + 1)
    return (epoch + 1, 0) if epoch >= 0 else (0, 0)


def epoch_stream(features: dict, batch_size: int, seed: int, epochs: int, start_epoch: int = 0,
                 start_step: int = 0) -> tf.data.Dataset:
    """Batches of epochs start_epoch..epochs-1, each shuffled by (seed, epoch); skips start_step batches."""
    examples = tf.data.Dataset.from_tensor_slices(features)
    size = len(next(iter(features.values())))

    def one_epoch(epoch):
        return (examples.shuffle(size, seed=seed * 100003 + epoch, reshuffle_each_iteration=False)
                .batch(batch_size, drop_remainder=True))

    stream = one_epoch(start_epoch)
    for epoch in range(start_epoch + 1, epochs):
        stream = stream.concatenate(one_epoch(epoch))
    return stream.skip(start_step).prefetch(tf.data.AUTOTUNE)
