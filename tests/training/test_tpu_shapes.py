"""The TPU path on a CPU: static shapes everywhere, one XLA-compiled (jit_compile) training step.

No TPU here: the test builds the model as `train.strategy = "tpu"` does
(bfloat16 towers, static-shape losses, fixed batches with drop_remainder) and
runs a step compiled with XLA, the compiler TPUs use.
"""

import numpy as np
import pytest
import tensorflow as tf
from tiny_fixtures import make_tiny_assets, make_tiny_config, make_tiny_encoder, make_tiny_world

from tfrec_llm.training.experiment_data import prepare_experiment_data
from tfrec_llm.training.model_building import build_model, make_optimizer, mixed_precision_policy
from tfrec_llm.training.resume import epoch_stream
from tfrec_llm.training.trainer import build_variables

BATCH = 8
DYNAMIC_SHAPE_OPS = {"Where", "Unique", "UniqueV2"}  # outputs sized by the data: XLA on TPU cannot compile them


def _model(config, assets):
    model = build_model(config, assets)
    build_variables(model, assets, config)
    return model


def _ops_with_unknown_shapes(function, spec) -> set:
    graph = tf.function(function).get_concrete_function(spec).graph
    unknown = set()
    for op in graph.get_operations():
        if op.type in DYNAMIC_SHAPE_OPS:
            unknown.add(op.type)
        for output in op.outputs:
            if output.dtype not in (tf.resource, tf.variant) and not output.shape.is_fully_defined():
                unknown.add(op.type)
    return unknown


@pytest.fixture(scope="module")
def tpu_world(tmp_path_factory):
    config = make_tiny_config(train={"strategy": "tpu", "mixed_precision": True, "batch_size": BATCH})
    experiment, assets = make_tiny_assets(config, make_tiny_encoder(), tmp_path_factory.mktemp("tpu"))
    features = experiment.training_features(config.model.training_targets)
    return config, assets, features


@pytest.mark.parametrize(
    "targets, empty_history", [("every_position", False), ("every_position", True), ("last_position", False)]
)
def test_the_tpu_loss_has_only_static_shapes(tmp_path, targets, empty_history):
    model_settings = {"training_targets": targets, "empty_history_targets": empty_history}
    config = make_tiny_config(train={"strategy": "tpu", "batch_size": BATCH}, model=model_settings)
    experiment, assets = make_tiny_assets(config, make_tiny_encoder(), tmp_path)
    stream = epoch_stream(experiment.training_features(targets, empty_history), BATCH, seed=0, epochs=1)
    assert all(spec.shape.is_fully_defined() for spec in stream.element_spec.values())
    model = _model(config, assets)
    assert (
        _ops_with_unknown_shapes(lambda batch: model.compute_loss(batch, training=True), stream.element_spec) == set()
    )


@pytest.mark.parametrize("empty_history", [False, True])
def test_the_static_loss_equals_the_dynamic_one(tpu_world, empty_history):
    config, assets, _ = tpu_world
    float32 = make_tiny_config(train={"strategy": "tpu", "batch_size": BATCH})
    model = _model(float32, assets)
    experiment = prepare_experiment_data(float32, make_tiny_world())
    features = experiment.training_features("every_position", empty_history)
    assert ("first_items" in features) == empty_history
    batch = {name: values[:BATCH] for name, values in features.items()}
    assert not empty_history or (batch["first_items"] != 0).any()
    static = model.compute_loss(batch)
    model.static_shapes = False
    np.testing.assert_allclose(static.numpy(), model.compute_loss(batch).numpy(), rtol=1e-5)


def test_one_xla_compiled_training_step_the_tpu_way(tpu_world):
    config, assets, features = tpu_world
    assert mixed_precision_policy(config) == "mixed_bfloat16"
    model = _model(config, assets)
    assert model.user_tower.compute_dtype == "bfloat16"
    model.compile(optimizer=make_optimizer(config), jit_compile=True)
    before = [v.numpy().copy() for v in model.trainable_variables]
    history = model.fit(epoch_stream(features, BATCH, seed=0, epochs=1), epochs=1, steps_per_epoch=1, verbose=0)
    assert model._jit_compile  # pylint: disable=protected-access
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.allclose(b, v.numpy()) for b, v in zip(before, model.trainable_variables))


def test_in_batch_negatives_are_refused_on_tpu(tpu_world):
    _, assets, _ = tpu_world
    with pytest.raises(ValueError, match="Static shapes .* need model.negatives='full_catalog'"):
        build_model(make_tiny_config(train={"strategy": "tpu"}, model={"negatives": "in_batch"}), assets)


def test_the_text_geometry_loss_is_refused_on_tpu(tpu_world):
    _, assets, _ = tpu_world
    with pytest.raises(ValueError, match="need model.text_geometry_weight=0"):
        build_model(make_tiny_config(train={"strategy": "tpu"}, model={"text_geometry_weight": 1.0}), assets)
