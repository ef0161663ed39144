"""`tf.distribute` strategies by name (`--strategy`)."""

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
