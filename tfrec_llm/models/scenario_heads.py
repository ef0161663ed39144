"""STAR scenario heads: a dense layer whose kernel is shared weights times per-scenario weights.

STAR (Sheng et al. 2021, "One Model to Serve All: Star Topology Adaptive
Recommender for Multi-Domain CTR Prediction") gives each scenario `s` the
weights `W ⊙ W_s` and bias `b + b_s`: `W`, `b` learn from every scenario,
`W_s`, `b_s` only from scenario `s`'s examples. `W_s` starts at ones and
`b_s` at zeros, so an untrained head is the shared dense layer exactly.

This layer holds only the per-scenario weights; the shared `W`, `b` are a
`Dense` layer's, passed at each call (the user tower's final output layer,
`model.scenario_heads = "star"`), so the shared weights stay where they are
without heads and `adapt --train-only scenario` can train the heads alone.
Scenario index 0 ("unknown": context dropout and requests without a
scenario) has its own head like any other.

Every scenario's output is computed with one MatMul against the [in, S *
units] stack of kernels and the example's own is gathered (core TF ops
only; S times the cost of one dense layer, small next to the softmax).
The weights are indexed by scenario row (axis 0), like the scenario
embedding: vocabulary growth and domain transfer map their rows the same way.
"""

import tensorflow as tf
import tf_keras


class ScenarioStarHeads(tf_keras.layers.Layer):
    """(inputs [..., in], scenario int [...], shared kernel [in, units], bias [units]) -> [..., units].

    Scenario `s`'s output is `inputs @ (kernel ⊙ W_s) + bias + b_s`.

    Args:
        units: output width (the shared kernel's).
        num_scenarios: rows of the per-scenario weights (scenario vocabulary + unknown).

    Example:
        final = tf_keras.layers.Dense(64); final.build([None, 128])
        heads = ScenarioStarHeads(64, num_scenarios=3)
        users = heads(hidden, scenario, final.kernel, final.bias)        # [B, 128], [B] -> [B, 64]
        per_position = heads(hidden_seq, scenario_seq, final.kernel, final.bias)  # [B, L, 128], [B, L] or [B]
    """

    def __init__(self, units: int, num_scenarios: int, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.num_scenarios = int(num_scenarios)

    def build(self, input_shape):
        width = int(input_shape[-1])
        self.scenario_kernel = self.add_weight(
            "scenario_kernel", [self.num_scenarios, width, self.units], initializer="ones"
        )
        self.scenario_bias = self.add_weight("scenario_bias", [self.num_scenarios, self.units], initializer="zeros")
        super().build(input_shape)

    def scenario_variables(self) -> list:
        """The variables indexed by scenario row on axis 0 (grown / mapped like the scenario embedding)."""
        return [self.scenario_kernel, self.scenario_bias]

    def call(self, inputs, scenario, kernel, bias):
        width = tf.shape(inputs)[-1]
        rows = tf.shape(inputs)[:-1]
        scenario = tf.cast(scenario, tf.int32)
        for _ in range(inputs.shape.rank - 1 - scenario.shape.rank):
            scenario = scenario[..., tf.newaxis]  # [B] with [B, L, in]: each position has its row's scenario
        scenario = tf.reshape(tf.broadcast_to(scenario, rows), [-1])
        kernels = tf.cast(kernel, inputs.dtype)[tf.newaxis] * self.scenario_kernel  # [S, in, units]
        stacked = tf.reshape(tf.transpose(kernels, [1, 0, 2]), [width, self.num_scenarios * self.units])
        every = tf.reshape(tf.matmul(tf.reshape(inputs, [-1, width]), stacked), [-1, self.num_scenarios, self.units])
        own = tf.gather(every, scenario, batch_dims=1) + tf.gather(self.scenario_bias, scenario)
        return tf.reshape(own + tf.cast(bias, inputs.dtype), tf.concat([rows, [self.units]], 0))

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "num_scenarios": self.num_scenarios})
        return config
