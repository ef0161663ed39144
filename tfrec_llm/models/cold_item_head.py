"""The cold-item head: a learned correction of the text vector of items without an id of their own.

With gate fusion a warm item is g * id + (1 - g) * text; an item without an
id slot (cold-start or unknown) is its projected text alone, a vector of
another kind, which training sees only through id dropout. With the head
it is `text + head(BERT(text))`, the head an MLP whose output layer starts
at zero (an untrained head changes nothing), trained by its own retrieval
loss (DropoutNet-style, over a frozen backbone): each step a random share
(`COLD_SHARE`) of the candidate items is made cold, as positives and as the
other users' negatives, among the other candidates' real vectors (as cold
items compete with warm ones when served). Every target counts: a user
whose target stayed warm pushes the cold rows away. User vectors, real item
vectors, the projection and BERT are stop-gradient'ed, so only the head
learns from this loss, and warm items, users and every other weight train
exactly as without it (ml-100k leave_last_out: Recall@10 0.2185 with and
without, the same to 4 decimals).

Measured on ml-100k time_cut with MiniLM (cold items are films first rated
after the cut): cold-item Recall@50 0.203 with the head against 0.257 for
the text alone, warm items 0.515 vs 0.514, so `model.cold_item_head` is off
by default. Tried before it: the head as the whole cold vector (0.183);
counting only the cold targets' losses (the head learned a vector every
user scores high: validation Recall@10 0.01-0.05); and, fitted on the
trained model, a content-to-id mapping text -> id vector mixed in by the
gate (0.13-0.25). The cold items of that split are new releases that
become popular after the cut; text carries little of that.

Example:
    head = cold_item_head(64)
    cold = projection(bert_vectors) + head(bert_vectors)  # [N, 64]
    is_cold = cold_candidates(num_rows, step)
    loss = cold_retrieval_loss(users, table, tf.math.l2_normalize(cold, -1), is_cold, targets, mask, 0.1)
"""

import tensorflow as tf
import tf_keras

from tfrec_llm.models.full_catalog_softmax import MASKED_LOGIT

HEAD_SEED = 20261202  # seeded initialisers: building the head draws nothing from the global RNG
COLD_SHARE = 0.2  # share of the candidates made cold at each step of the head's loss


def cold_item_head(embedding_dim: int) -> tf_keras.Sequential:
    """An MLP BERT vector -> correction of the projected text (Dense(2d, gelu) -> Dense(d)).

    Its output layer starts at zero, so an untrained head leaves cold items
    their projected text; its own seeds keep every other layer's initial
    weights the same with or without the head (unseeded initialisers draw
    from the global RNG in creation order).
    """
    return tf_keras.Sequential(
        [
            tf_keras.layers.Dense(
                2 * embedding_dim,
                activation="gelu",
                kernel_initializer=tf_keras.initializers.GlorotUniform(seed=HEAD_SEED),
            ),
            tf_keras.layers.Dense(embedding_dim, kernel_initializer="zeros"),
        ],
        name="cold_item_head",
    )


class ColdItemPath(tf_keras.layers.Layer):
    """BERT vectors -> cold item vectors: `projection(x) + head(x)` (the export's text-only path).

    Args:
        projection: the item tower's text projection.
        head: its cold-item head.

    Example:
        path = ColdItemPath(tower.text_projection, tower.cold_head)
        vectors = path(bert_vectors)  # [N, d], before L2 normalisation
    """

    def __init__(self, projection, head, **kwargs):
        super().__init__(**kwargs)
        self.projection = projection
        self.head = head

    def call(self, inputs):
        return self.projection(inputs) + self.head(inputs)


def cold_candidates(num_candidates, step) -> tf.Tensor:
    """bool [num_candidates]: a random `COLD_SHARE` of them, drawn statelessly from `step` (int64 scalar).

    Stateless, so drawing them leaves every other random stream (dropout,
    initialisers) as it is, and a resumed run draws what an uninterrupted one does.
    """
    seed = tf.stack([tf.constant(HEAD_SEED, tf.int64), tf.cast(step, tf.int64)])
    return tf.random.stateless_uniform(tf.reshape(num_candidates, [1]), seed=seed) < COLD_SHARE


def cold_retrieval_loss(users, candidates, cold_candidates, is_cold, labels, candidate_mask, temperature):
    """Per-target softmax loss [N] with the `is_cold` candidates scored by their cold vectors.

    The batch's targets are cold, as positives and as the other users'
    negatives (without negatives the head would learn one vector that
    every user scores high); the other candidates keep their real vectors.

    Args:
        users: float [N, d] L2-normalised user vectors (stop-gradient'ed here).
        candidates: float [C, d] L2-normalised candidate item vectors
            (stop-gradient'ed here): the catalog, or the batch's targets.
        cold_candidates: float [C, d] L2-normalised cold vectors of the same
            candidates (the only input gradients reach).
        is_cold: bool [C]: the candidates scored by their cold vector.
        labels: int [N] each target's column among the candidates.
        candidate_mask: bool [C] or [N, C]: which candidates compete.
        temperature: the retrieval temperature.
    """
    users = tf.stop_gradient(tf.cast(users, tf.float32))
    candidates = tf.where(
        is_cold[:, tf.newaxis], tf.cast(cold_candidates, tf.float32), tf.stop_gradient(tf.cast(candidates, tf.float32))
    )
    logits = tf.matmul(users, candidates, transpose_b=True) / temperature
    logits = tf.where(tf.broadcast_to(candidate_mask, tf.shape(logits)), logits, MASKED_LOGIT)
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(labels, tf.int32), logits=logits)
