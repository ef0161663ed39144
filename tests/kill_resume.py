"""Kill-and-resume test helpers: a child process that SIGKILLs itself mid-training, run and rerun.

A test runs its own file as a child (`run_child(__file__, ...)`); the child
calls `kill_after_batches(n)` before training, so the n-th training batch
ends with SIGKILL right after Keras' `BackupAndRestore` had its turn. Running
the child again without the kill must resume from the backup.

In-process, `interrupting_backup(n)` raises `Interrupted` at the n-th batch
instead (the backups stay on disk), for fast tests of the resume bookkeeping.

Example:
    killed = run_child(__file__, str(output_dir), "15")
    assert killed.returncode == -signal.SIGKILL
    resumed = run_child(__file__, str(output_dir), "0")
"""

import os
import signal
import subprocess
import sys

import tf_keras


def kill_after_batches(batches: int):
    """Makes each `tf_keras.callbacks.BackupAndRestore` made from now on SIGKILL the process after `batches` batches."""

    class KillingBackup(tf_keras.callbacks.BackupAndRestore):
        seen = 0

        def on_train_batch_end(self, batch, logs=None):
            super().on_train_batch_end(batch, logs)
            KillingBackup.seen += 1
            if KillingBackup.seen == batches:
                os.kill(os.getpid(), signal.SIGKILL)

    tf_keras.callbacks.BackupAndRestore = KillingBackup


class Interrupted(Exception):
    """Raised by `interrupting_backup`'s callback: training stopped as if the process had died."""


def interrupting_backup(batches: int):
    """A `BackupAndRestore` subclass raising `Interrupted` after `batches` batches (monkeypatch it in)."""

    class InterruptingBackup(tf_keras.callbacks.BackupAndRestore):
        seen = 0

        def on_train_batch_end(self, batch, logs=None):
            super().on_train_batch_end(batch, logs)
            InterruptingBackup.seen += 1
            if InterruptingBackup.seen == batches:
                raise Interrupted(f"interrupted after {batches} batches")

    return InterruptingBackup


def run_child(script: str, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """Runs `python script args...`, capturing its output (INFO logs go to stderr)."""
    command = [sys.executable, os.path.abspath(script), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
