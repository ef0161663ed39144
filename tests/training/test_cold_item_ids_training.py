"""`train` fits the text-to-id map of `model.cold_item_ids` "from_text" and saves it with the weights."""

import numpy as np

from tfrec_llm.training.model_evaluation import catalog_embeddings
from tfrec_llm.training.trained_model import TrainedModel
from tfrec_llm.training.trainer import train


def test_train_fits_the_map_and_a_reloaded_model_scores_the_same(tmp_path, tiny_config, tiny_world):
    config = tiny_config(model={"fusion": "paths", "cold_item_ids": "from_text"}, train={"epochs": 1})
    train(config, str(tmp_path), data=tiny_world)
    trained = TrainedModel.load(str(tmp_path))
    tower = trained.model.item_tower
    fitted = tower.cold_id_map.numpy()
    assert np.abs(fitted).sum() > 0  # fitted after training, not left at zeros
    expected = tower.fit_cold_id_map(config.model.cold_item_ids_l2)
    np.testing.assert_allclose(fitted, expected, rtol=1e-5, atol=1e-6)  # from the weights training chose
    table = catalog_embeddings(trained.model, trained.assets.num_index_rows)
    again = catalog_embeddings(TrainedModel.load(str(tmp_path)).model, trained.assets.num_index_rows)
    np.testing.assert_allclose(table, again, rtol=1e-6)


def test_update_refits_the_map_from_the_updated_weights(tmp_path, tiny_config, tiny_world):
    from tfrec_llm.data.data_split import split_interactions  # pylint: disable=import-outside-toplevel
    from tfrec_llm.data.interaction_data import InteractionData  # pylint: disable=import-outside-toplevel
    from tfrec_llm.experiment_config import UpdateConfig  # pylint: disable=import-outside-toplevel
    from tfrec_llm.training.event_log import save_events  # pylint: disable=import-outside-toplevel
    from tfrec_llm.training.incremental_update import update_model  # pylint: disable=import-outside-toplevel

    events = tiny_world.interactions
    cut = np.quantile(events.timestamps, 0.7)
    base = InteractionData("base", events.select(events.timestamps < cut), tiny_world.catalog)
    new = InteractionData("new", events.select(events.timestamps >= cut), tiny_world.catalog)
    config = tiny_config(model={"fusion": "paths", "cold_item_ids": "from_text"}, train={"epochs": 1})
    train(config, str(tmp_path / "base"), data=base)
    save_events(str(tmp_path / "base"), split_interactions(base.interactions, "leave_last_out").train)
    update_model(str(tmp_path / "base"), new, str(tmp_path / "updated"), UpdateConfig(epochs=1, replay_ratio=1.0))
    before = TrainedModel.load(str(tmp_path / "base")).model.item_tower.cold_id_map.numpy()
    tower = TrainedModel.load(str(tmp_path / "updated")).model.item_tower
    after = tower.cold_id_map.numpy()
    assert not np.allclose(after, before)
    np.testing.assert_allclose(after, tower.fit_cold_id_map(config.model.cold_item_ids_l2), rtol=1e-5, atol=1e-6)


def test_zero_shot_adapt_keeps_the_source_map_and_gives_new_items_an_id_half(tmp_path, tiny_config, tiny_world):
    from domain_fixtures import make_new_domain  # pylint: disable=import-outside-toplevel
    from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX  # pylint: disable=import-outside-toplevel
    from tfrec_llm.experiment_config import AdaptConfig  # pylint: disable=import-outside-toplevel
    from tfrec_llm.training.domain_adaptation import adapt  # pylint: disable=import-outside-toplevel

    config = tiny_config(model={"fusion": "paths", "cold_item_ids": "from_text"}, train={"epochs": 1})
    train(config, str(tmp_path / "source"), data=tiny_world)
    adapt(
        str(tmp_path / "source"),
        str(tmp_path / "zero"),
        adapt_config=AdaptConfig(fraction=0.0, match_items_by="none"),  # no id row is trained
        data=make_new_domain(),
    )
    source = TrainedModel.load(str(tmp_path / "source")).model.item_tower.cold_id_map.numpy()
    adapted = TrainedModel.load(str(tmp_path / "zero"))
    np.testing.assert_allclose(adapted.model.item_tower.cold_id_map.numpy(), source)
    table = catalog_embeddings(adapted.model, adapted.assets.num_index_rows)[FIRST_ITEM_INDEX:]
    assert (np.abs(table[:, : config.model.embedding_dim]).sum(axis=1) > 0.1).all()  # every new item: mapped ids
