"""STAR scenario heads in a whole model: every-position training, adapt parts, vocabulary growth, export."""

import dataclasses
import logging

import numpy as np
import pytest
import tensorflow as tf

from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX

from tfrec_llm.training.domain_transfer import set_trainable_parts
from tfrec_llm.training.domain_transfer import transfer_weights as transfer_domain
from tfrec_llm.training.model_building import build_model
from tfrec_llm.training.trainer import build_variables
from tfrec_llm.training.vocabulary_growth import grow_assets, transfer_weights
from tiny_fixtures import make_built_model, make_tiny_assets, make_tiny_config, make_tiny_encoder

STAR = {"scenario_heads": "star", "context_dropout": 0.0}


@pytest.fixture(scope="module", name="star_model")
def _star_model(tmp_path_factory):
    """A tiny star-heads model trained a few every-position steps on the tiny world (one scenario, "default")."""
    config = make_tiny_config(model=STAR)
    encoder = make_tiny_encoder()
    experiment, assets = make_tiny_assets(config, encoder, tmp_path_factory.mktemp("cache"))
    model = make_built_model(config, assets, encoder)
    features = experiment.training_features("every_position")
    batch = {name: values[:16] for name, values in features.items()}
    assert batch["scenario"].ndim == 2  # the scenario at every position
    for _ in range(3):
        logs = model.train_step(batch)
    return config, encoder, assets, model, batch, logs


def test_every_position_training_moves_only_the_seen_scenarios_head(star_model):
    _, _, assets, model, batch, logs = star_model
    assert np.isfinite(float(logs["loss"]))
    kernel = model.user_tower.scenario_heads.scenario_kernel.numpy()
    seen = np.unique(batch["scenario"][batch["next_items"] > 0])  # padding positions carry no loss
    assert seen.tolist() == [1] and assets.scenario_values.tolist() == ["default"]
    assert not np.allclose(kernel[1], 1.0)  # trained by its own examples
    assert np.array_equal(kernel[0], np.ones_like(kernel[0]))  # unknown: no example (context dropout off)


def test_adapting_the_scenario_part_trains_the_heads_not_the_shared_layers(star_model):
    config, encoder, assets, model, _, _ = star_model
    new_assets = dataclasses.replace(assets, scenario_values=np.array(["default", "new"]))
    adapted = build_model(config, new_assets, encoder)
    build_variables(adapted, new_assets, config)
    transfer_domain(model, adapted, assets.scenario_values, new_assets.scenario_values)
    heads = adapted.user_tower.scenario_heads
    old = model.user_tower.scenario_heads.scenario_kernel.numpy()
    assert heads.scenario_kernel.shape[0] == 3  # unknown, "default", "new"
    np.testing.assert_array_equal(heads.scenario_kernel.numpy()[2], old[0])  # "new" starts from unknown's head
    set_trainable_parts(adapted, "scenario")
    trainable = {id(v) for v in adapted.trainable_variables}
    assert {id(v) for v in heads.scenario_variables()} <= trainable
    assert not {id(v) for v in adapted.user_tower.output_mlp.variables} & trainable
    np.testing.assert_array_equal(heads.scenario_kernel.numpy()[1], old[1])  # "default" kept its head


def test_growth_keeps_each_scenarios_head_and_starts_new_ones_as_the_shared_layer(star_model):
    config, encoder, assets, model, batch, _ = star_model
    growth = grow_assets(
        assets,
        np.zeros(0, str),
        np.zeros(0, str),
        np.zeros(0, str),
        trained_item_ids=np.zeros(0, str),
        scenarios=np.array(["app"]),  # "app" sorts before "default": default moves to row 2
        user_feature_values={},
        text_rows=np.zeros((0, assets.text_features.shape[1]), np.float32),
        token_rows=np.zeros((0, assets.token_ids.shape[1]), np.int32),
        attribute_rows=None,
    )
    grown = build_model(config, growth.assets, encoder)
    build_variables(grown, growth.assets, config)
    transfer_weights(model, grown, growth)
    old, new = model.user_tower.scenario_heads, grown.user_tower.scenario_heads
    assert new.scenario_kernel.shape[0] == 3
    np.testing.assert_array_equal(new.scenario_kernel.numpy()[[0, 2]], old.scenario_kernel.numpy())
    np.testing.assert_array_equal(new.scenario_kernel.numpy()[1], np.ones_like(old.scenario_kernel.numpy()[0]))
    np.testing.assert_array_equal(new.scenario_bias.numpy()[1], np.zeros(new.scenario_bias.shape[1]))
    # the same users, their scenario "default" moved from row 1 to row 2: the same embeddings
    scenario = batch["scenario"][:, 0]
    users = {"history": batch["sequence"], "target": batch["next_items"][:, 0], "label": np.ones(len(scenario))}
    old_users = model({**users, "scenario": scenario})["user_embedding"].numpy()
    grown_users = grown({**users, "scenario": np.where(scenario == 1, 2, scenario)})["user_embedding"].numpy()
    np.testing.assert_array_equal(grown_users, old_users)


@pytest.mark.slow  # trains the topic model (2 epochs) and exports it with the fresh-process validation
def test_trained_heads_reload_and_serve_each_scenario_through_the_export(tmp_path):
    from serving_fixtures import MAX_HISTORY, train_topic_model  # pylint: disable=import-outside-toplevel
    from tfrec_llm.serving.export.exporter import export_models  # pylint: disable=import-outside-toplevel
    from tfrec_llm.serving.saved_model_loading import load_saved_model  # pylint: disable=import-outside-toplevel
    from tfrec_llm.training.model_evaluation import catalog_embeddings, query_embeddings  # pylint: disable=import-outside-toplevel
    from tfrec_llm.training.trained_model import TrainedModel  # pylint: disable=import-outside-toplevel

    model_dir = train_topic_model(
        str(tmp_path / "model"), {"model": {"scenario_heads": "star"}, "train": {"epochs": 2}}
    )
    trained = TrainedModel.load(model_dir)  # the checkpoint matched every variable, heads included
    heads = trained.model.user_tower.scenario_heads
    assert trained.config.model.scenario_heads == "star" and not np.allclose(heads.scenario_kernel.numpy()[1:], 1.0)
    paths = export_models(model_dir, str(tmp_path / "export"), model_names=["user_encoder"], validate=True)
    encode = load_saved_model(paths["user_encoder"]).signatures["encode_with_context"]
    history = np.array([["m0", "m4"], ["m0", "m4"]])
    served = encode(history=tf.constant(history), scenario=tf.constant(["app", "web"]), user_age=tf.constant(["", ""]))
    served = served["user_embedding"].numpy()
    rows = np.zeros((2, MAX_HISTORY), np.int32)
    rows[:, :2] = [FIRST_ITEM_INDEX + int(np.flatnonzero(trained.assets.item_ids == i)[0]) for i in ("m0", "m4")]
    scenario = np.searchsorted(trained.assets.scenario_values, ["app", "web"]).astype(np.int32) + 1
    table = catalog_embeddings(trained.model, trained.assets.num_index_rows)
    features = {"history": rows, "scenario": scenario, "user_age": np.zeros(2, np.int32)}
    np.testing.assert_allclose(served, query_embeddings(trained.model, features, table), atol=1e-5)
    assert not np.allclose(served[0], served[1])  # each scenario its own head (and embedding)


@pytest.mark.slow  # three tiny trainings (uninterrupted, interrupted, resumed): about a minute
def test_an_interrupted_star_heads_training_resumes_to_the_uninterrupted_result(tmp_path, monkeypatch, caplog):
    import tf_keras  # pylint: disable=import-outside-toplevel

    from tfrec_llm.training import trainer  # pylint: disable=import-outside-toplevel
    from tiny_fixtures import make_tiny_world  # pylint: disable=import-outside-toplevel

    config = make_tiny_config(
        model={"scenario_heads": "star"}, train={"epochs": 2, "batch_size": 8, "checkpoint_every_steps": 3}
    )
    uninterrupted = trainer.train(config, str(tmp_path / "whole"), data=make_tiny_world())

    class Interrupt(tf_keras.callbacks.CSVLogger):
        """The trainer's CSV logger, raising after 14 batches (mid-epoch 2)."""

        seen = 0

        def on_train_batch_end(self, batch, logs=None):
            super().on_train_batch_end(batch, logs)
            Interrupt.seen += 1
            if Interrupt.seen == 14:
                raise KeyboardInterrupt("interrupted")

    with monkeypatch.context() as patch:
        patch.setattr(trainer.tf_keras.callbacks, "CSVLogger", Interrupt)
        with pytest.raises(KeyboardInterrupt):
            trainer.train(config, str(tmp_path / "cut"), data=make_tiny_world())
    with caplog.at_level(logging.INFO, logger="tfrec_llm"):
        resumed = trainer.train(config, str(tmp_path / "cut"), data=make_tiny_world())
    assert "Resuming the training from backup: epoch 2" in caplog.text  # really resumed (a fresh run would match too)
    np.testing.assert_allclose(resumed["training"]["loss"], uninterrupted["training"]["loss"], rtol=1e-5)
    assert resumed["overall"]["recall@10"] == pytest.approx(uninterrupted["overall"]["recall@10"], abs=1e-6)


@pytest.mark.slow  # trains a tiny star-heads model, then adapts its scenario part to a new domain
def test_adapting_only_the_scenario_part_trains_the_new_domains_head(tmp_path):
    from domain_fixtures import make_new_domain  # pylint: disable=import-outside-toplevel
    from tfrec_llm.experiment_config import AdaptConfig  # pylint: disable=import-outside-toplevel
    from tfrec_llm.training import trainer  # pylint: disable=import-outside-toplevel
    from tfrec_llm.training.domain_adaptation import adapt  # pylint: disable=import-outside-toplevel
    from tfrec_llm.training.trained_model import TrainedModel  # pylint: disable=import-outside-toplevel
    from tiny_fixtures import make_tiny_world  # pylint: disable=import-outside-toplevel

    source_dir, adapted_dir = str(tmp_path / "source"), str(tmp_path / "adapted")
    trainer.train(make_tiny_config(model={"scenario_heads": "star"}), source_dir, data=make_tiny_world())
    adapt(source_dir, adapted_dir, adapt_config=AdaptConfig(train_only="scenario", epochs=1), data=make_new_domain())
    source, adapted = TrainedModel.load(source_dir).model.user_tower, TrainedModel.load(adapted_dir).model.user_tower
    for old, new in zip(source.output_mlp.get_weights(), adapted.output_mlp.get_weights()):
        np.testing.assert_array_equal(new, old)  # the shared layers stay
    old_rows, new_rows = source.scenario_heads.scenario_kernel.numpy(), adapted.scenario_heads.scenario_kernel.numpy()
    assert old_rows.shape[0] == new_rows.shape[0] == 2  # unknown + "default", in both domains
    assert not np.array_equal(new_rows[1], old_rows[1])  # the new domain's events trained its scenario's head
