"""In-graph scenario / user-feature strings -> category indices (0 = unknown).

Mirrors `data/category_vocabulary.py`: value `values[i]` -> i + 1, anything
else (including "") -> 0. Vocabularies are small, so the tables hold them
as constants.
"""

from typing import Dict, List, Union

import numpy as np
import tensorflow as tf

from tfrec_llm.data.category_vocabulary import UNKNOWN_CATEGORY
from tfrec_llm.data.interaction_data import DEFAULT_SCENARIO

BatchSize = Union[int, tf.Tensor]
"""A batch size: a Python int, or a scalar int32 tensor inside a signature."""


def default_scenario_index(scenario_values: np.ndarray) -> int:
    """Scenario used by signatures without context inputs.

    The only scenario if the model knows one, else the loaders' default
    scenario ("default") if known, else unknown (0).
    """
    values = np.asarray(scenario_values, dtype=str).tolist()
    if len(values) == 1:
        return 1
    if DEFAULT_SCENARIO in values:
        return values.index(DEFAULT_SCENARIO) + 1
    return UNKNOWN_CATEGORY


class ContextLookup(tf.Module):
    """Scenario and user-feature vocabularies of a trained model.

    Args:
        scenario_values: str [S] sorted scenario vocabulary (index i + 1).
        user_feature_values: feature name -> str sorted vocabulary.

    Example:
        context = ContextLookup(np.array(["app", "web"]), {"age": np.array(["old", "young"])})
        context.scenario_indices(tf.constant(["web", "tv"]))        # [2, 0]
        context.feature_indices({"user_age": tf.constant(["old"])}, 1)  # [[1]]
    """

    def __init__(self, scenario_values: np.ndarray, user_feature_values: Dict[str, np.ndarray], name: str = "context"):
        super().__init__(name=name)
        self.feature_names = sorted(user_feature_values)
        self.scenario_values = np.asarray(scenario_values, dtype=str)
        self.user_feature_values = {n: np.asarray(user_feature_values[n], dtype=str) for n in self.feature_names}
        self.scenario_table = _category_table(scenario_values)
        tables = {name: _category_table(user_feature_values[name]) for name in self.feature_names}
        self.feature_tables = {name: table for name, table in tables.items() if table is not None}
        self.default_scenario = default_scenario_index(scenario_values)

    @property
    def feature_input_names(self) -> List[str]:
        """Signature input names of the user features: `user_<name>`."""
        return [f"user_{name}" for name in self.feature_names]

    def scenario_indices(self, scenarios: tf.Tensor) -> tf.Tensor:
        return _lookup(self.scenario_table, scenarios)

    def default_scenarios(self, batch_size: BatchSize) -> tf.Tensor:
        return tf.fill([batch_size], tf.constant(self.default_scenario, tf.int32))

    def feature_indices(self, inputs: Dict[str, tf.Tensor], batch_size: BatchSize) -> tf.Tensor:
        """int32 [B, F] indices of the `user_<name>` inputs (F may be 0)."""
        columns = [
            _lookup(self.feature_tables.get(name), inputs[key])
            for name, key in zip(self.feature_names, self.feature_input_names)
        ]
        if not columns:
            return tf.zeros([batch_size, 0], tf.int32)
        return tf.stack(columns, axis=1)

    def unknown_features(self, batch_size: BatchSize) -> tf.Tensor:
        return tf.zeros([batch_size, len(self.feature_names)], tf.int32)


def _category_table(values):
    """A string -> index table, or None for an empty vocabulary (every value unknown)."""
    values = np.asarray(values, dtype=str)
    if len(values) == 0:
        return None
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(values), tf.range(1, len(values) + 1, dtype=tf.int32)),
        default_value=UNKNOWN_CATEGORY,
    )


def _lookup(table, values):
    if table is None:
        return tf.zeros_like(values, dtype=tf.int32)
    return table.lookup(values)
