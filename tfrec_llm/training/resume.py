"""Resuming interrupted training exactly where it stopped.

Keras' `BackupAndRestore` restores weights, optimizer and the (epoch, step)
counters, but restarts the input iterator. We therefore feed `fit` a stream
that is a pure function of (seed, epoch): each epoch is shuffled with its
own seed, and a resumed run starts at the saved epoch and skips the batches
already trained on. Same seed, same batches, interrupted or not.

A truncated or corrupted newest backup is detected before training; it is
dropped (with a warning) so Keras restores the previous good one.

A backup belongs to one training config: `backup/training_config.json`
records it, and a run with another config refuses to resume it
(`BackupConfigError`) instead of mixing two runs. Keys that do not change
what training computes (`NOT_TRAINING_KEYS`) are left out of the record;
settings outside the config that change what is trained (`update`'s replay
ratio, `adapt`'s fraction and parts) join it as extra sections (`extra`).
"""

import json
import logging
import os
from typing import Optional

import tensorflow as tf

from tfrec_llm.experiment_config import ExperimentConfig

logger = logging.getLogger(__name__)

BACKUP_SUBDIR = "chief"
BACKUP_CONFIG_FILE = "training_config.json"
# Display, evaluation after training and encoding batch size: changing them still resumes.
NOT_TRAINING_KEYS = {"train": ("verbose", "eval_max_examples"), "text": ("encode_batch_size",)}
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
            logger.warning(
                "Backup checkpoint %s is truncated or corrupted: ignoring it%s.",
                prefix,
                f", resuming from {good[-1]}" if good else ", starting from scratch",
            )
            for path in tf.io.gfile.glob(prefix + ".*"):
                tf.io.gfile.remove(path)
        if good:
            tf.compat.v1.train.update_checkpoint_state(directory, good[-1], all_model_checkpoint_paths=good)
        else:
            tf.io.gfile.remove(os.path.join(directory, "checkpoint"))
    return dropped


class BackupConfigError(ValueError):
    """The backup in the output directory was made with another training config."""


def training_config(config: ExperimentConfig, extra: Optional[dict] = None) -> dict:
    """The config's dict without `NOT_TRAINING_KEYS`, plus the `extra` sections (JSON-normalised, as recorded).

    Args:
        config: the run's config.
        extra: {section: {key: value}} of settings outside `config` that change what is
            trained (e.g. `{"update": {"replay_ratio": 1.0}}`); None: none.
    """
    values = config.to_dict()
    for section, keys in NOT_TRAINING_KEYS.items():
        for key in keys:
            values[section].pop(key, None)
    values.update(extra or {})
    return json.loads(json.dumps(values))


def _differences(recorded: dict, current: dict) -> list:
    keys = sorted({(s, k) for d in (recorded, current) for s in d for k in d[s]})
    return [
        f"{s}.{k}: backup {recorded.get(s, {}).get(k)!r}, now {current.get(s, {}).get(k)!r}"
        for s, k in keys
        if recorded.get(s, {}).get(k) != current.get(s, {}).get(k)
    ]


def check_backup_config(backup_dir: str, config: ExperimentConfig, extra: Optional[dict] = None):
    """Raises `BackupConfigError` if `backup_dir` holds a backup of another training config.

    No backup: nothing to check. A backup without a readable record (written
    before records existed, or the record was damaged) is refused too.
    `extra`: as in `training_config`.
    """
    if tf.train.latest_checkpoint(os.path.join(backup_dir, BACKUP_SUBDIR)) is None:
        return
    current = training_config(config, extra)
    try:
        with open(os.path.join(backup_dir, BACKUP_CONFIG_FILE), encoding="utf-8") as f:
            recorded = json.load(f)
    except (OSError, ValueError):
        recorded = None
    if recorded == current:
        return
    if isinstance(recorded, dict) and all(isinstance(v, dict) for v in recorded.values()):
        what = "another training config (" + "; ".join(_differences(recorded, current)) + ")"
    else:
        what = f"an unknown training config (no readable {BACKUP_CONFIG_FILE})"
    raise BackupConfigError(
        f"{backup_dir} holds the backup of an interrupted run with {what}; resuming it would mix two runs. "
        f"Use a new output directory, or delete {backup_dir} to train this config from scratch."
    )


def record_backup_config(backup_dir: str, config: ExperimentConfig, extra: Optional[dict] = None):
    """Writes the record `check_backup_config` compares with (atomically), before any backup is saved."""
    os.makedirs(backup_dir, exist_ok=True)
    path = os.path.join(backup_dir, BACKUP_CONFIG_FILE)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(training_config(config, extra), f, indent=2, sort_keys=True)
    os.replace(path + ".tmp", path)


def clear_backup_config(backup_dir: str):
    """Removes the record once training finished (Keras deleted the backup), and `backup_dir` if empty."""
    path = os.path.join(backup_dir, BACKUP_CONFIG_FILE)
    if tf.train.latest_checkpoint(os.path.join(backup_dir, BACKUP_SUBDIR)) is None and os.path.exists(path):
        os.remove(path)
    if os.path.isdir(backup_dir) and not os.listdir(backup_dir):
        os.rmdir(backup_dir)


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


def epoch_stream(
    features: dict, batch_size: int, seed: int, epochs: int, start_epoch: int = 0, start_step: int = 0
) -> tf.data.Dataset:
    """Batches of epochs start_epoch..epochs-1, each shuffled by (seed, epoch); skips start_step batches."""
    examples = tf.data.Dataset.from_tensor_slices(features)
    size = len(next(iter(features.values())))

    def one_epoch(epoch):
        return examples.shuffle(size, seed=seed * 100003 + epoch, reshuffle_each_iteration=False).batch(
            batch_size, drop_remainder=True
        )

    stream = one_epoch(start_epoch)
    for epoch in range(start_epoch + 1, epochs):
        stream = stream.concatenate(one_epoch(epoch))
    return stream.skip(start_step).prefetch(tf.data.AUTOTUNE)
