"""`adapt`: a trained tiny model fitted to a new tiny domain (other item and user ids)."""

import os

import numpy as np
import pytest

from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX, OOV_SLOT
from tfrec_llm.experiment_config import AdaptConfig, ConfigError
from tfrec_llm.training.domain_adaptation import adapt, sample_users
from tfrec_llm.training.model_evaluation import catalog_embeddings
from tfrec_llm.training.trained_model import TrainedModel
from domain_fixtures import make_new_domain as new_domain


def weights_of(layer):
    return [np.array(w) for w in layer.get_weights()]


def assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_zero_shot_scores_every_new_item_from_its_text(trained_model_dir, tmp_path):
    model_dir, _ = trained_model_dir
    # no item matching: the two tiny worlds share some titles by chance (matching: test_item_matching.py)
    config = AdaptConfig(fraction=0.0, match_items_by="none")
    metrics = adapt(model_dir, str(tmp_path / "zero"), adapt_config=config, data=new_domain())
    adapted = TrainedModel.load(str(tmp_path / "zero"))
    assert adapted.assets.item_ids[0].startswith("new-")
    assert (adapted.assets.id_slots[FIRST_ITEM_INDEX:] == OOV_SLOT).all()  # nothing trained: all text
    table = catalog_embeddings(adapted.model, adapted.assets.num_index_rows)[FIRST_ITEM_INDEX:]
    assert np.isfinite(table).all()
    assert len(np.unique(np.round(table, 5), axis=0)) > len(table) // 2  # items differ by their text
    assert metrics["training"]["epochs_run"] == 0 and metrics["training"]["train_users"] == 0
    assert metrics["overall"]["n"] > 0 and np.isfinite(metrics["overall"]["recall@10"])


@pytest.mark.parametrize(
    "part, changed, frozen",
    [
        ("projection", ["text_projection"], ["user_encoder", "user_output_mlp", "ranking_head", "id_embedding"]),
        ("scenario", ["id_embedding"], ["text_projection", "user_encoder", "user_output_mlp", "ranking_head"]),
    ],
)
def test_training_only_one_part_leaves_the_others_bit_identical(trained_model_dir, tmp_path, part, changed, frozen):
    model_dir, _ = trained_model_dir
    source = TrainedModel.load(model_dir)
    out = str(tmp_path / part)
    config = AdaptConfig(fraction=1.0, train_only=part, epochs=2, match_items_by="none")  # frozen rows stay zero
    adapt(model_dir, out, adapt_config=config, data=new_domain())
    adapted = TrainedModel.load(out)

    def layers(model):
        return {
            "text_projection": model.item_tower.text_projection,
            "user_encoder": model.user_tower.encoder,
            "user_output_mlp": model.user_tower.output_mlp,
            "ranking_head": model.ranking_head,
            "id_embedding": model.item_tower.id_embedding,
        }

    before, after = layers(source.model), layers(adapted.model)
    for name in frozen:
        if name == "id_embedding":  # the new domain's rows: zero until trained
            assert not np.array(after[name].get_weights()[0]).any()
        else:
            assert_same(weights_of(before[name]), weights_of(after[name]))
    for name in changed:
        if name == "id_embedding":
            assert np.array(after[name].get_weights()[0]).any()
        else:
            assert any((x != y).any() for x, y in zip(weights_of(before[name]), weights_of(after[name])))


def test_from_scratch_trains_a_fresh_model_on_the_same_users(trained_model_dir, tmp_path):
    model_dir, _ = trained_model_dir
    source = TrainedModel.load(model_dir)
    config = AdaptConfig(fraction=0.5, from_scratch=True, epochs=1)
    metrics = adapt(model_dir, str(tmp_path / "scratch"), adapt_config=config, data=new_domain())
    adapted = TrainedModel.load(str(tmp_path / "scratch"))
    assert metrics["training"]["adapted_from"] is None and metrics["training"]["train_users"] == 24  # of 48
    first = weights_of(source.model.user_tower.output_mlp)[0]
    assert first.shape == weights_of(adapted.model.user_tower.output_mlp)[0].shape
    assert (first != weights_of(adapted.model.user_tower.output_mlp)[0]).any()


def test_unknown_model_dir_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no-such-model"):
        adapt(str(tmp_path / "no-such-model"), str(tmp_path / "out"), data=new_domain())
    assert not os.path.exists(tmp_path / "out")


def test_another_text_encoder_than_the_models_is_refused(trained_model_dir, tmp_path):
    model_dir, _ = trained_model_dir
    with pytest.raises(ValueError, match="is not the text encoder of"):
        adapt(model_dir, str(tmp_path / "out"), data=new_domain(), text_encoder="hf://someone/other-bert")
    assert not os.path.exists(tmp_path / "out")


def test_lora_trains_the_adapters_and_leaves_the_encoder_weights_bit_identical(trained_model_dir, tmp_path):
    model_dir, _ = trained_model_dir
    out = str(tmp_path / "lora")
    metrics = adapt(
        model_dir, out, adapt_config=AdaptConfig(fraction=0.25, train_only="lora", epochs=1), data=new_domain()
    )
    assert metrics["training"]["train_only"] == "lora" and metrics["training"]["trainable_variables"] > 0
    source, adapted = TrainedModel.load(model_dir), TrainedModel.load(out)  # reloads in LoRA mode
    weights = adapted.text_encoder.backbone.weights
    adapters = [w.numpy() for w in weights if "lora_kernel_b" in w.path]
    assert adapters and any(a.any() for a in adapters)  # LoRA's B starts at zero: trained
    before = source.text_encoder.backbone.weights
    after = [w for w in weights if "lora" not in w.path]
    assert len(after) == len(before)
    for old, new in zip(before, after):
        if not old.path.endswith("bias"):  # KerasHub leaves the LoRA'd layers' biases trainable
            np.testing.assert_array_equal(new.numpy(), old.numpy(), err_msg=old.path)
    assert_same(weights_of(source.model.user_tower.encoder), weights_of(adapted.model.user_tower.encoder))


def test_fraction_samples_whole_users():
    events = new_domain().interactions
    chosen = sample_users(events, 0.25, seed=3)
    users = np.unique(events.user_ids)
    picked = np.unique(events.user_ids[chosen])
    assert len(picked) == 12 and len(users) == 48
    assert chosen.sum() == np.isin(events.user_ids, picked).sum()  # every event of a picked user
    assert not sample_users(events, 0.0, seed=3).any()
    assert sample_users(events, 0.001, seed=3).sum() > 0  # at least one user


def test_adapt_config_rejects_bad_values():
    with pytest.raises(ConfigError, match="adapt.train_only"):
        AdaptConfig(train_only="everything").validate()
    with pytest.raises(ConfigError, match="adapt.fraction"):
        AdaptConfig(fraction=1.5).validate()
    with pytest.raises(ConfigError, match="from_scratch"):
        AdaptConfig(fraction=0.0, from_scratch=True).validate()
