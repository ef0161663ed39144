"""`tf.distribute` strategies by name (`--strategy`), and which worker writes the output directory."""

import contextlib
import os
import shutil
import tempfile

import tensorflow as tf


def make_strategy(name: str = "default", tpu: str = ""):
    """Returns the strategy for "default", "mirrored", "multiworker" or "tpu".

    - mirrored: synchronous data parallelism over all local GPUs (or CPU).
    - multiworker: several machines, described by the TF_CONFIG variable.
    - tpu: a TPU at address `tpu` ("" = the local TPU VM).
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"Unknown strategy {name!r}: use default, mirrored, multiworker or tpu.")


def is_chief(strategy) -> bool:
    """True on the worker that writes the run's artifacts (the only one outside multi-worker training)."""
    return bool(strategy.extended.should_checkpoint)


def writer_dir(output_dir: str, strategy) -> str:
    """Where this worker writes: `output_dir` on the chief, a fresh temporary directory on the others.

    Every worker runs the same steps (saving included: reading synchronised
    variables may need all workers), as the Keras multi-worker guide does;
    the others' copies go to a temporary directory `finish_writer_dir` deletes.

    Prefer `writer_directory`, which also deletes it when training raises.

    Example:
        directory = writer_dir(output_dir, strategy)
        ...  # save weights, metrics into `directory`
        finish_writer_dir(output_dir, directory)
    """
    if is_chief(strategy):
        return output_dir
    return tempfile.mkdtemp(prefix="tfrec_llm_worker_")


def finish_writer_dir(output_dir: str, directory: str, keras_dirs=()):
    """Deletes a non-chief's temporary `directory`, then `keras_dirs` and `output_dir` if Keras left them empty.

    Keras' `BackupAndRestore` gives a non-chief a `workertemp_<id>` folder
    inside the backup directory and deletes only that folder.
    """
    if directory == output_dir:
        return
    shutil.rmtree(directory, ignore_errors=True)
    for path in (*keras_dirs, output_dir):
        try:
            os.rmdir(path)  # only if empty
        except OSError:
            pass


@contextlib.contextmanager
def writer_directory(output_dir: str, strategy, keras_dirs=()):
    """`writer_dir` as a context: `finish_writer_dir` runs on leaving it, also when training raises.

    Args:
        output_dir: the run's output directory (the chief writes it).
        strategy: the run's `tf.distribute` strategy.
        keras_dirs: directories Keras may leave empty on a non-chief (the backup directory).

    Example:
        with writer_directory(output_dir, strategy, keras_dirs=[backup_dir]) as directory:
            ...  # train, save weights and metrics into `directory`
    """
    directory = writer_dir(output_dir, strategy)
    try:
        yield directory
    finally:
        finish_writer_dir(output_dir, directory, keras_dirs)
