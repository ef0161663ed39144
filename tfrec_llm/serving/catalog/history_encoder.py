"""String histories (+ context) -> user embeddings, inside exported models.

A request history is a [batch, any] string matrix of item ids, oldest
first; "" is padding and may appear anywhere. Each row is compacted to its
non-empty ids and, like the training examples (`sequence_examples.py`),
only the most recent `max_history` are kept, right-padded with index 0.
Unknown ids become the unknown-item index 1 and are read as such.
"""

from typing import Dict, Tuple, Union

import numpy as np
import tensorflow as tf

from tfrec_llm.data.item_vocabulary import PAD_INDEX
from tfrec_llm.serving.catalog.context_lookup import BatchSize, ContextLookup
from tfrec_llm.serving.catalog.item_lookup import ItemLookup
from tfrec_llm.serving.saved_model_loading import LoadedSavedModel
from tfrec_llm.serving.signatures.user_tower_module import UserTowerModule

HISTORY_INPUT = "history"
SCENARIO_INPUT = "scenario"


def compact_histories(indices: tf.Tensor, max_history: int) -> tf.Tensor:
    """int32 [B, max_history]: each row's last `max_history` non-padding indices, oldest first, right-padded."""
    indices = tf.convert_to_tensor(indices, tf.int32)
    present = tf.not_equal(indices, PAD_INDEX)
    position = tf.cumsum(tf.cast(present, tf.int32), axis=1, exclusive=True)
    length = tf.reduce_sum(tf.cast(present, tf.int32), axis=1)
    first_kept = tf.maximum(length - max_history, 0)
    kept = tf.where(present & (position >= first_kept[:, tf.newaxis]))
    target = tf.stack(
        [
            kept[:, 0],
            tf.cast(tf.gather_nd(position, kept), tf.int64) - tf.cast(tf.gather(first_kept, kept[:, 0]), tf.int64),
        ],
        axis=1,
    )
    return tf.scatter_nd(
        target,
        tf.gather_nd(indices, kept),
        tf.stack([tf.shape(indices, out_type=tf.int64)[0], tf.constant(max_history, tf.int64)]),
    )


class HistoryEncoder(tf.Module):
    """Item lookup + context lookup + user tower: what every history-reading model shares.

    Args:
        items: the `ItemLookup` (history items are read from its table).
        context: the `ContextLookup`.
        user_tower: a `UserTowerModule` (or its restored SavedModel object).
        max_history: how many most recent history items the tower reads.

    Example:
        encoder = HistoryEncoder(items, context, user_tower, max_history=20)
        indices = encoder.items.indices(tf.constant([["a", "b", ""]]))
        users = encoder.user_vectors(indices, *encoder.default_context(1))  # [1, d]
    """

    def __init__(
        self,
        items: ItemLookup,
        context: ContextLookup,
        user_tower: Union[UserTowerModule, LoadedSavedModel],
        max_history: int,
        name: str = "history_encoder",
    ):
        super().__init__(name=name)
        self.items = items
        self.context = context
        self.user_tower = user_tower
        self.max_history = int(max_history)

    def history_spec(self) -> tf.TensorSpec:
        return tf.TensorSpec([None, None], tf.string, name=HISTORY_INPUT)

    def context_specs(self) -> Dict[str, tf.TensorSpec]:
        """Signature inputs of the context: `scenario` and one `user_<name>` per user feature, all [B]."""
        specs = {SCENARIO_INPUT: tf.TensorSpec([None], tf.string, name=SCENARIO_INPUT)}
        for key in self.context.feature_input_names:
            specs[key] = tf.TensorSpec([None], tf.string, name=key)
        return specs

    def default_context(self, batch_size: BatchSize) -> Tuple[tf.Tensor, tf.Tensor]:
        """(scenario, user features) used when a request gives no context."""
        return self.context.default_scenarios(batch_size), self.context.unknown_features(batch_size)

    def context_of(self, inputs: Dict[str, tf.Tensor]) -> Tuple[tf.Tensor, tf.Tensor]:
        """(scenario, user features) indices from string context inputs."""
        scenario = inputs[SCENARIO_INPUT]
        return (self.context.scenario_indices(scenario), self.context.feature_indices(inputs, tf.shape(scenario)[0]))

    def example_context(self, batch_size: int) -> Dict[str, np.ndarray]:
        """Context inputs for warm-up requests: each input's first known value, then "" (unknown)."""
        context = self.context
        inputs = {SCENARIO_INPUT: _first_then_unknown(context.scenario_values, batch_size)}
        for name, key in zip(context.feature_names, context.feature_input_names):
            inputs[key] = _first_then_unknown(context.user_feature_values[name], batch_size)
        return inputs

    def user_vectors(self, history_indices: tf.Tensor, scenario: tf.Tensor, user_features: tf.Tensor) -> tf.Tensor:
        """float32 [B, d] L2-normalised user embeddings."""
        compact = compact_histories(history_indices, self.max_history)
        return self.user_tower.encode(
            self.items.vectors(compact), tf.not_equal(compact, PAD_INDEX), scenario, user_features
        )


def _first_then_unknown(values, batch_size: int) -> np.ndarray:
    first = str(values[0]) if len(values) else ""
    return np.array([first] + [""] * (batch_size - 1))
