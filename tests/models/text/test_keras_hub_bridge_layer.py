"""Tests for the Keras 3 (KerasHub BERT) -> tf_keras bridge.

The bridge exists because a Keras 3 backbone nested in a tf_keras model is
invisible to tf_keras: the joint model would silently train without BERT.
These tests pin down what it must guarantee: BERT's variables are the joint
model's trainable variables when fine-tuning (and change when trained), are
absent or frozen otherwise, only LoRA adapters train in LoRA mode, and
checkpoints and SavedModels capture every backbone variable.
"""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from tiny_fixtures import first_batch, make_built_model, make_tiny_assets, make_tiny_config, make_tiny_encoder

from tfrec_llm.models.text.keras_hub_bridge_layer import KerasHubBridgeLayer, mean_pool

TOKENS = ["space galaxy story 7", "love heart", "crime detective murder story 12"]


def _values(variables):
    """name -> numpy value of Keras 3 variables (by their path)."""
    return {v.path: v.numpy().copy() for v in variables}


def _changed(before, variables):
    return sorted(v.path for v in variables if not np.array_equal(before[v.path], v.numpy()))


def _refs(variables):
    return {v.ref() for v in variables}


def _joint_model(mode, tmp_path, encoder=None):
    encoder = make_tiny_encoder() if encoder is None else encoder
    config = make_tiny_config(text={"mode": mode})
    experiment, assets = make_tiny_assets(config, encoder, tmp_path)
    model = make_built_model(config, assets, encoder)
    return model, encoder, first_batch(experiment.train_examples)


def test_mean_pool_averages_real_tokens_only():
    sequence = tf.constant([[[1.0, 2.0], [3.0, 4.0], [50.0, 60.0]], [[7.0, 8.0], [0.0, 0.0], [0.0, 0.0]]])
    mask = tf.constant([[True, True, False], [False, False, False]])
    np.testing.assert_allclose(mean_pool(sequence, mask), [[2.0, 3.0], [0.0, 0.0]])


def test_bridge_outputs_the_mean_of_the_backbones_real_token_vectors():
    encoder = make_tiny_encoder()
    bridge = KerasHubBridgeLayer(encoder.backbone, pad_token_id=encoder.pad_token_id)
    token_ids = encoder.tokenize(TOKENS, sequence_length=8)
    vectors = bridge(token_ids).numpy()
    assert vectors.shape == (3, 16) and bridge.output_dim == 16
    outputs = encoder.backbone(
        {
            "token_ids": token_ids,
            "segment_ids": np.zeros_like(token_ids),
            "padding_mask": (token_ids != 0).astype(np.int32),
        }
    )
    sequence = np.asarray(outputs["sequence_output"])
    for row, ids in enumerate(token_ids):
        np.testing.assert_allclose(vectors[row], sequence[row][ids != 0].mean(axis=0), rtol=1e-5, atol=1e-6)
    # Extra padding changes nothing: padding is masked out of attention and pooling.
    short = encoder.tokenize(TOKENS[1:2], sequence_length=5)
    np.testing.assert_allclose(bridge(short).numpy()[0], vectors[1], rtol=1e-5, atol=1e-6)


def test_finetune_trains_every_trainable_backbone_variable(tmp_path):
    model, encoder, batch = _joint_model("finetune", tmp_path)
    frozen_model, _, _ = _joint_model("frozen", tmp_path / "frozen")
    backbone = encoder.backbone
    trainable = _refs(model.trainable_variables)
    backbone_trainable = [v for v in backbone.trainable_weights]
    assert len(backbone_trainable) > 10
    assert all(v.value.ref() in trainable for v in backbone_trainable)
    # Count: the joint model holds the text-free model's variables plus every trainable BERT variable.
    assert len(model.trainable_variables) == len(frozen_model.trainable_variables) + len(backbone_trainable)
    # The [CLS] pooler feeds nothing (mean pooling) and is frozen by the encoder.
    pooler = [v for v in backbone.variables if v.path.startswith("pooled_dense/")]
    assert pooler and not any(v.value.ref() in trainable for v in pooler)

    before = _values(backbone.variables)
    model.train_step(batch)
    changed = _changed(before, backbone.variables)
    assert set(v.path for v in backbone_trainable) <= set(changed)
    assert not any(path.startswith("pooled_dense/") for path in changed)


def test_frozen_mode_keeps_bert_out_of_the_model_and_unchanged(tmp_path):
    model, encoder, batch = _joint_model("frozen", tmp_path)
    backbone_refs = _refs(v.value for v in encoder.backbone.variables)
    assert not backbone_refs & _refs(model.variables)
    before = _values(encoder.backbone.variables)
    vectors_before = encoder.encode(encoder.tokenize(TOKENS, 8))
    model.train_step(batch)
    assert _changed(before, encoder.backbone.weights) == []
    np.testing.assert_array_equal(encoder.encode(encoder.tokenize(TOKENS, 8)), vectors_before)


def test_a_non_trainable_bridge_is_not_updated_by_training():
    encoder = make_tiny_encoder()
    bridge = KerasHubBridgeLayer(encoder.backbone)
    bridge.trainable = False
    assert bridge.trainable_weights == []
    assert len(bridge.non_trainable_weights) == len(encoder.backbone.variables)
    model = tf_keras.Sequential([bridge, tf_keras.layers.Dense(1)])
    model.compile(tf_keras.optimizers.Adam(0.01), loss="mse")
    token_ids = encoder.tokenize(TOKENS, 8)
    model(token_ids)
    assert len(model.trainable_variables) == 2  # the Dense kernel and bias only
    dense_before = model.layers[1].kernel.numpy().copy()
    before = _values(encoder.backbone.variables)
    model.train_on_batch(token_ids, np.ones((3, 1), np.float32))
    assert _changed(before, encoder.backbone.weights) == []
    assert not np.array_equal(model.layers[1].kernel.numpy(), dense_before)


def test_lora_trains_only_the_adapters(tmp_path):
    model, encoder, batch = _joint_model("lora", tmp_path)
    backbone = encoder.backbone
    trainable = _refs(model.trainable_variables)
    lora = [v for v in backbone.variables if "lora_kernel" in v.path]
    assert len(lora) == 4  # a and b adapters on the query and value projections of the one layer
    assert all(v.value.ref() in trainable for v in lora)
    from_backbone = sorted(v.path for v in backbone.variables if v.value.ref() in trainable)
    assert all("lora_kernel" in path or path.endswith(("query/bias", "value/bias")) for path in from_backbone)
    kernels = [v for v in backbone.variables if v.path.endswith(("query/kernel", "value/kernel"))]
    assert kernels and not any(v.value.ref() in trainable for v in kernels)

    before = _values(backbone.variables)
    model.train_step(batch)
    changed = _changed(before, backbone.weights)
    assert [p for p in changed if "lora_kernel_b" in p]  # b starts at zero; its gradient is not
    assert not [p for p in changed if "lora_kernel" not in p and not p.endswith("/bias")]


class _PlainAttributeLayer(tf_keras.layers.Layer):
    """The trap: a Keras 3 backbone assigned as a plain attribute of a tf_keras layer."""

    def __init__(self, backbone, **kwargs):
        super().__init__(**kwargs)
        self.backbone = backbone

    def call(self, token_ids):
        outputs = self.backbone(
            {
                "token_ids": token_ids,
                "segment_ids": tf.zeros_like(token_ids),
                "padding_mask": tf.cast(token_ids != 0, tf.int32),
            }
        )
        return tf.reduce_mean(outputs["sequence_output"], axis=1)


def test_without_the_bridge_tf_keras_silently_drops_bert_from_training():
    encoder = make_tiny_encoder()
    token_ids = encoder.tokenize(TOKENS, 8)
    plain = tf_keras.Sequential([_PlainAttributeLayer(encoder.backbone), tf_keras.layers.Dense(1)])
    plain(token_ids)
    bridged = tf_keras.Sequential([KerasHubBridgeLayer(encoder.backbone), tf_keras.layers.Dense(1)])
    bridged(token_ids)
    backbone_trainable = len(encoder.backbone.trainable_weights)
    assert len(plain.trainable_variables) == 2  # only the Dense layer: BERT would never train
    assert len(bridged.trainable_variables) == 2 + backbone_trainable


def test_checkpoint_restores_every_backbone_variable_into_a_fresh_bridge(tmp_path):
    source = KerasHubBridgeLayer(make_tiny_encoder(seed=0).backbone)
    target_encoder = make_tiny_encoder(seed=1)
    target = KerasHubBridgeLayer(target_encoder.backbone)
    token_ids = target_encoder.tokenize(TOKENS, 8)
    assert not np.allclose(source(token_ids), target(token_ids))
    path = tf.train.Checkpoint(bridge=source).write(str(tmp_path / "bridge"))
    status = tf.train.Checkpoint(bridge=target).read(path)
    status.assert_consumed()
    np.testing.assert_array_equal(target(token_ids), source(token_ids))
    for restored, original in zip(target.backbone.variables, source.backbone.variables):
        np.testing.assert_array_equal(restored.numpy(), original.numpy())


class _EncoderModule(tf.Module):
    """What an export holds: the bridge, an inference signature and a training-mode function."""

    def __init__(self, bridge):
        super().__init__()
        self.bridge = bridge

    @tf.function(input_signature=[tf.TensorSpec([None, 8], tf.int32)])
    def encode(self, token_ids):
        return self.bridge(token_ids, training=False)

    @tf.function(input_signature=[tf.TensorSpec([None, 8], tf.int32)])
    def encode_with_dropout(self, token_ids):
        # Dropout reads Keras 3 seed-generator state: variables outside `backbone.weights`.
        return self.bridge(token_ids, training=True)


def test_saved_model_export_reloads_with_equal_outputs(tmp_path):
    encoder = make_tiny_encoder()
    module = _EncoderModule(KerasHubBridgeLayer(encoder.backbone))
    token_ids = tf.constant(encoder.tokenize(TOKENS, 8))
    expected = module.encode(token_ids).numpy()
    tf.saved_model.save(module, str(tmp_path / "encoder"))
    reloaded = tf.saved_model.load(str(tmp_path / "encoder"))
    np.testing.assert_allclose(reloaded.encode(token_ids).numpy(), expected, rtol=1e-6)
    assert reloaded.encode_with_dropout(token_ids).shape == (3, 16)


def test_get_config_explains_how_the_layer_is_rebuilt():
    bridge = KerasHubBridgeLayer(make_tiny_encoder().backbone)
    with pytest.raises(NotImplementedError, match="rebuilt from the backbone config"):
        bridge.get_config()
