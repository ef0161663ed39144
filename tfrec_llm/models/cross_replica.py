"""Loss terms that span every replica's part of a global batch under `tf.distribute`.

Each replica computes its loss on its own slice of the batch. Two terms of
the joint model depend on the whole batch, not the slice:

- in-batch negatives (TFRS `Retrieval`): with R replicas each would see only
  its B/R targets as negatives; `with_other_replicas_candidates` appends the
  other replicas' targets after the replica's own, so every query sees the
  global batch (the positives stay on the diagonal TFRS expects);
- the per-target mean of per-position training: `replica_sum` gives the
  global number of targets to divide by.

Outside a replica context (no strategy, one replica, or building variables
in cross-replica context) both return their input unchanged.
"""

import tensorflow as tf


def _multi_replica_context():
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return None
    return context


def num_replicas() -> int:
    """Replicas sharing the global batch: the strategy's in a replica context, else 1."""
    context = _multi_replica_context()
    return 1 if context is None else context.num_replicas_in_sync


def replica_sum(value: tf.Tensor) -> tf.Tensor:
    """`value` summed over the replicas in sync (no gradient flows through it)."""
    context = _multi_replica_context()
    value = tf.stop_gradient(value)
    return value if context is None else context.all_reduce(tf.distribute.ReduceOp.SUM, value)


def with_other_replicas_candidates(*columns):
    """Each column [n, ...] (this replica's rows) followed by the other replicas' rows, in replica order.

    Replicas may hold different numbers of rows. Gradients reach the replica
    that computed a row (`all_gather` sums them back).

    Example:
        items, ids = with_other_replicas_candidates(items, target_ids)
        loss = retrieval_task(users, items, candidate_ids=ids)
    """
    context = _multi_replica_context()
    if context is None or columns[0] is None:
        return columns
    size = tf.shape(columns[0])[:1]
    sizes = context.all_gather(size, axis=0)  # [R]
    start = tf.reduce_sum(sizes[: context.replica_id_in_sync_group])
    end = start + size[0]
    gathered = []
    for column in columns:
        if column is None:
            gathered.append(None)
            continue
        every = context.all_gather(column, axis=0)
        gathered.append(tf.concat([column, every[:start], every[end:]], axis=0))
    return tuple(gathered)
