"""Item tower: BERT text features fused with an item-id embedding.

Input: item indices (see `data/item_vocabulary.py`). Two text modes:
- frozen: `text_features` is a precomputed [V, d_text] table (each item's
  text encoded once by BERT), a non-trainable variable;
- fine-tune / LoRA: `token_ids` is a [V, L] table and `text_encoder` a
  `KerasHubBridgeLayer`; BERT runs on the distinct items of each call.
The text vector goes through a small MLP; the id vector is an embedding of
the item's id slot. The two are summed. Items without an id slot of their
own (cold-start and unknown items, OOV slot) get NO id vector: they are
their text alone. Training-time id dropout sends items to the OOV slot, so
the text path learns to carry an item by itself (modality dropout).

Fusion "sum" adds the two vectors; fusion "gate" mixes them with a learned
weight g = sigmoid(a * log(1 + training interactions of the item) + b):
g * id + (1 - g) * text, so the tower can lean on ids for popular items and
on text for rare ones. Fusion "paths" keeps them apart: the item vector is
[id / |id|, text / |text|] / sqrt(2), 2 * embedding_dim wide, and the user
tower has one path per half (`TwoPathUserTower`), so a score is the mean of
an id cosine and a text cosine, each path trained on it. An item without an
id row has a zero id half: its text alone.
The id rows start from the items' text (`models/text_initialised_ids.py`,
`model.id_init`) or at random. With `id_text_prior` a training loss pulls
each id row towards a learned linear map of its item's frozen BERT vector
(`id_text_prior_loss`), so a row the data barely moves keeps what its text
predicts (opt-in: it lowered ml-100k validation, `model.id_text_prior_weight`).
Measured on the built-in world: with a shared learned OOV embedding instead,
cold-item Recall@50 of the full model was 0.245 against 0.327 for a
text-only model: the OOV vector swamped the text.
"""

import numpy as np
import tensorflow as tf
import tf_keras

from tfrec_llm.data.item_vocabulary import OOV_SLOT
from tfrec_llm.models.cold_id_map import fit_text_to_id_map, mapped_id_vectors, trained_items

DROPOUT_SEED = 20261122
FUSIONS = ("sum", "gate", "paths")
HALF_SCALE = 0.5**0.5  # two unit halves make a unit vector


class ItemTower(tf_keras.layers.Layer):
    """Item indices -> item embeddings.

    Args:
        id_slots: int32 [V] id-embedding slot of every item index.
        embedding_dim: output width.
        use_text: include the text path.
        use_item_ids: include the id-embedding path.
        item_id_dropout: training-time probability of dropping an item's id
            vector (teaches the text path to carry items alone).
        text_features: float32 [V, d_text] frozen text table (frozen mode).
        token_ids: int32 [V, L] token table (fine-tune modes).
        text_encoder: a `KerasHubBridgeLayer` (fine-tune modes).
        fusion: "sum", "gate" or "paths" (see the module docstring).
        item_popularity: int [V] training interactions per item index
            (needed by "gate").
        id_initial_rows: optional float [rows, embedding_dim] initial values
            of the id embedding (`models/text_initialised_ids.py`); None =
            Keras' random initialiser. Not part of the config: a rebuilt
            tower gets its trained rows from the checkpoint.
        maps_cold_ids: fusion "paths" with frozen text only: at inference,
            items without an id row get `cold_id_map` of their text as id
            vector (`models/cold_id_map.py`; fitted by `fit_cold_id_map`).
        cold_id_map: optional float [d_text, embedding_dim] initial map
            (zeros: such items stay their text alone until fitted).
        id_text_prior: ids and frozen text only: learn `id_prior_map`, a
            linear map from BERT vectors to id rows, for `id_text_prior_loss`.

    Example:
        tower = ItemTower(id_slots, 64, True, True, 0.1, text_features=table)
        vectors = tower(tf.constant([2, 3, 4]))  # [3, 64]
    """

    def __init__(
        self,
        id_slots,
        embedding_dim,
        use_text=True,
        use_item_ids=True,
        item_id_dropout=0.0,
        text_features=None,
        token_ids=None,
        text_encoder=None,
        fusion="sum",
        item_popularity=None,
        id_initial_rows=None,
        maps_cold_ids=False,
        cold_id_map=None,
        id_text_prior=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if use_text and text_features is None and (token_ids is None or text_encoder is None):
            raise ValueError("use_text needs text_features (frozen) or token_ids + text_encoder (fine-tune).")
        if fusion not in FUSIONS or (fusion == "gate" and item_popularity is None):
            raise ValueError(f"fusion must be one of {FUSIONS} ('gate' with item_popularity), got {fusion!r}.")
        self.fusion = fusion
        self.gates = fusion == "gate" and use_text and use_item_ids
        self.paths = fusion == "paths" and use_text and use_item_ids
        self.output_dim = 2 * embedding_dim if self.paths else embedding_dim  # the embeddings' width
        if self.gates:
            self.log_popularity = tf.Variable(
                np.log1p(np.asarray(item_popularity, np.float32))[:, np.newaxis], trainable=False, name="log_popularity"
            )
            self.gate = tf_keras.layers.Dense(1, activation="sigmoid", name="fusion_gate")
        self.embedding_dim = embedding_dim
        self.use_text = use_text
        self.use_item_ids = use_item_ids
        self.item_id_dropout = item_id_dropout
        self.finetunes_text = use_text and text_features is None
        if maps_cold_ids and not (self.paths and not self.finetunes_text):
            raise ValueError("maps_cold_ids needs fusion 'paths' with ids and frozen text_features.")
        self.maps_cold_ids = maps_cold_ids
        if id_text_prior and not (use_text and use_item_ids and not self.finetunes_text):
            raise ValueError("id_text_prior needs use_text and use_item_ids with frozen text_features.")
        self.id_text_prior = id_text_prior
        self.id_slots = tf.Variable(np.asarray(id_slots, np.int32), trainable=False, name="id_slots")
        # Id dropout draws stateless randomness keyed on this checkpointed
        # counter, so a resumed run drops exactly what an uninterrupted one does.
        self.dropout_step = tf.Variable(
            0,
            dtype=tf.int64,
            trainable=False,
            name="dropout_step",
            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
        )
        if use_item_ids:
            rows = int(np.max(id_slots)) + 1
            initializer = "uniform"
            if id_initial_rows is not None:
                if np.shape(id_initial_rows) != (rows, embedding_dim):
                    raise ValueError(
                        f"id_initial_rows must be [{rows}, {embedding_dim}], got {np.shape(id_initial_rows)}."
                    )
                initializer = tf_keras.initializers.Constant(np.asarray(id_initial_rows, np.float32))
            self.id_embedding = tf_keras.layers.Embedding(
                rows, embedding_dim, embeddings_initializer=initializer, name="item_id_embedding"
            )
        if use_text:
            if self.finetunes_text:
                self.token_ids = tf.Variable(np.asarray(token_ids, np.int32), trainable=False, name="token_ids")
                self.text_encoder = text_encoder
            else:
                self.text_features = tf.Variable(
                    np.asarray(text_features, np.float32), trainable=False, name="text_features"
                )
            self.text_projection = tf_keras.Sequential(
                [
                    tf_keras.layers.Dense(2 * embedding_dim, activation="gelu"),
                    tf_keras.layers.Dense(embedding_dim),
                ],
                name="text_projection",
            )
        if id_text_prior:
            self.id_prior_map = tf_keras.layers.Dense(embedding_dim, use_bias=False, name="id_prior_map")
        if maps_cold_ids:  # zeros until `fit_cold_id_map`: items without a row stay their text alone
            shape = (self.text_features.shape[1], embedding_dim)
            initial = np.zeros(shape, np.float32) if cold_id_map is None else np.asarray(cold_id_map, np.float32)
            self.cold_id_map = tf.Variable(initial, trainable=False, name="cold_id_map")

    def fit_cold_id_map(self, l2: float):
        """Fits `cold_id_map` from the trained id rows (`models/cold_id_map.py`) and returns it.

        Without any trained row (zero-shot `adapt`) the map is kept as it is.
        """
        rows, slots = self.id_embedding.embeddings.numpy(), self.id_slots.numpy()
        if trained_items(slots, rows).any():
            self.cold_id_map.assign(fit_text_to_id_map(self.text_features.numpy(), slots, rows, l2))
        return self.cold_id_map.numpy()

    def raw_text_vectors(self, item_indices, training=None):
        """BERT's vectors of `item_indices` (1-D), before the projection."""
        if self.finetunes_text:
            unique, position = tf.unique(item_indices)
            encoded = self.text_encoder(tf.gather(self.token_ids, unique), training=training)
            return tf.gather(encoded, position)
        return tf.gather(self.text_features, item_indices)

    def text_vectors(self, item_indices, training=None):
        """Projected text vectors of `item_indices` (1-D)."""
        return self.text_projection(self.raw_text_vectors(item_indices, training=training))

    def text_geometry_loss(self, item_indices, projected):
        """Mean squared gap between the projected and BERT cosines of every pair of items.

        Args:
            item_indices: int [M] distinct item indices.
            projected: float [M, d] their projected text vectors (from this
                step's forward pass; gradients flow through them only).

        Returns:
            A float32 scalar: 0 when the projection keeps BERT's geometry.
        """
        raw = tf.stop_gradient(tf.cast(self.raw_text_vectors(item_indices), tf.float32))
        raw = tf.math.l2_normalize(raw, axis=-1)
        projected = tf.math.l2_normalize(tf.cast(projected, tf.float32), axis=-1)
        gap = tf.matmul(projected, projected, transpose_b=True) - tf.matmul(raw, raw, transpose_b=True)
        return tf.reduce_mean(tf.square(gap))

    def id_text_prior_loss(self, item_indices=None):
        """Mean (1 - cosine) between id rows and `id_prior_map` of their items' frozen BERT vectors.

        Args:
            item_indices: int [N] items to compare (repeats count again);
                None = every item index. Items without an id row weigh 0.

        Returns:
            A float32 scalar; gradients reach both the id rows and the map.
        """
        if item_indices is None:
            item_indices = tf.range(tf.shape(self.id_slots)[0])
        slots = tf.gather(self.id_slots, tf.cast(item_indices, tf.int32))
        has_row = tf.cast(slots > OOV_SLOT, tf.float32)
        rows = tf.math.l2_normalize(tf.cast(self.id_embedding(slots), tf.float32), axis=-1)
        text = tf.math.l2_normalize(tf.gather(self.text_features, item_indices), axis=-1)
        predicted = tf.math.l2_normalize(tf.cast(self.id_prior_map(text), tf.float32), axis=-1)
        gaps = 1.0 - tf.reduce_sum(rows * predicted, axis=-1)
        return tf.reduce_sum(gaps * has_row) / tf.maximum(tf.reduce_sum(has_row), 1.0)

    def embed(self, item_indices, training=None):
        """(item embeddings, projected text vectors or None) of 1-D `item_indices`.

        One BERT pass serves both: the joint model's attribute task reads the
        text vectors of the same forward pass.
        """
        flat = tf.cast(item_indices, tf.int32)
        vectors = tf.zeros([tf.size(flat), self.embedding_dim], dtype=self.compute_dtype)
        text = None
        if self.use_text:
            text = self.text_vectors(flat, training=training)
            vectors += tf.cast(text, self.compute_dtype)
        if self.use_item_ids:
            slots = tf.gather(self.id_slots, flat)
            if training and self.item_id_dropout > 0:
                step = self.dropout_step.assign_add(1)
                dropped = (
                    tf.random.stateless_uniform(
                        tf.shape(slots), seed=tf.stack([tf.constant(DROPOUT_SEED, tf.int64), step])
                    )
                    < self.item_id_dropout
                )
                slots = tf.where(dropped & (slots > OOV_SLOT), OOV_SLOT, slots)
            has_own_id = tf.cast(tf.not_equal(slots, OOV_SLOT), self.compute_dtype)[:, tf.newaxis]
            id_vectors = tf.cast(self.id_embedding(slots), self.compute_dtype) * has_own_id
            if self.maps_cold_ids and not training:  # items without a row: their text's id vector
                mapped = mapped_id_vectors(self.raw_text_vectors(flat), self.cold_id_map)
                id_vectors = tf.where(has_own_id > 0, id_vectors, tf.cast(mapped, id_vectors.dtype))
                has_own_id = tf.ones_like(has_own_id)
            if self.paths:
                vectors = self.with_id_half(vectors, id_vectors, has_own_id)
            elif self.gates:
                weight = tf.cast(self.gate(tf.gather(self.log_popularity, flat)), self.compute_dtype) * has_own_id
                vectors = vectors * (1.0 - weight) + id_vectors * weight
            else:
                vectors += id_vectors
        return vectors, text

    @staticmethod
    def with_id_half(text_vectors, id_vectors, has_own_id):
        """Fusion "paths": [id / |id|, text / |text|] / sqrt(2); `has_own_id` [N, 1] zeroes absent ids."""
        halves = [tf.math.l2_normalize(id_vectors, axis=-1) * has_own_id, tf.math.l2_normalize(text_vectors, axis=-1)]
        return tf.concat(halves, axis=-1) * tf.cast(HALF_SCALE, text_vectors.dtype)

    def get_config(self):
        """The tower's settings and tables (lists, as Keras' lookup layers store vocabularies).

        Fine-tune modes hold a Keras 3 BERT, which a tf_keras config cannot
        carry: rebuild those towers with `training.model_building.build_model`.
        """
        if self.finetunes_text:
            raise NotImplementedError("A fine-tuning ItemTower's BERT is not part of its config; use build_model.")
        config = super().get_config()
        config.update(
            {
                "id_slots": self.id_slots.numpy().tolist(),
                "embedding_dim": self.embedding_dim,
                "use_text": self.use_text,
                "use_item_ids": self.use_item_ids,
                "item_id_dropout": self.item_id_dropout,
                "text_features": self.text_features.numpy().tolist() if self.use_text else None,
                "fusion": self.fusion,
                "maps_cold_ids": self.maps_cold_ids,
                "id_text_prior": self.id_text_prior,
                "cold_id_map": self.cold_id_map.numpy().tolist() if self.maps_cold_ids else None,
                "item_popularity": np.rint(np.expm1(self.log_popularity.numpy()[:, 0])).astype(int).tolist()
                if self.gates
                else None,
            }
        )
        return config

    def call(self, item_indices, training=None):
        item_indices = tf.cast(item_indices, tf.int32)
        vectors, _ = self.embed(tf.reshape(item_indices, [-1]), training=training)
        return tf.reshape(vectors, tf.concat([tf.shape(item_indices), [self.output_dim]], axis=0))
