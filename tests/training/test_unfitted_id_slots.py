"""Items whose every training event is held out for early stopping get no id row of their own."""

import dataclasses

import numpy as np
from tiny_fixtures import make_tiny_config, make_tiny_world

from tfrec_llm.data.item_vocabulary import OOV_SLOT, ItemVocabulary
from tfrec_llm.evaluation.strata import item_strata
from tfrec_llm.training.experiment_data import drop_unfitted_id_slots, prepare_experiment_data


def _world_with_an_item_only_in_validation():
    """The tiny world where one item's only event is user u0's last training event (leave_last_out validation)."""
    data = make_tiny_world()
    events = data.interactions
    items = events.item_ids.astype(object)
    lonely = data.catalog.item_ids[-1]
    items[items == lonely] = data.catalog.item_ids[0]
    u0 = np.flatnonzero(events.user_ids == "u0")
    second_to_last = u0[np.argsort(events.timestamps[u0])][-2]  # the last event is u0's test target
    items[second_to_last] = lonely
    return dataclasses.replace(data, interactions=dataclasses.replace(events, item_ids=items.astype(str))), lonely


def test_an_item_seen_only_in_validation_events_is_served_as_cold():
    data, lonely = _world_with_an_item_only_in_validation()
    experiment = prepare_experiment_data(make_tiny_config(train={"early_stopping_patience": 2}), data)
    fresh = ItemVocabulary(data.catalog.item_ids, np.unique(experiment.split.train.item_ids))
    index = int(experiment.vocabulary.lookup([lonely])[0])
    assert fresh.id_slots[index] != OOV_SLOT  # in the training split: it would get a row training never reaches
    assert experiment.vocabulary.id_slots[index] == OOV_SLOT
    assert experiment.cold_items()[index]
    assert experiment.item_popularity()[index] == 0  # cold for the strata too (they refuse cold items with events)
    strata = item_strata(experiment.item_popularity(), experiment.cold_items(), 0.8)
    assert strata["cold_items"][index] and not strata["tail"][index]
    others = np.arange(len(fresh.id_slots)) != index
    np.testing.assert_array_equal(experiment.vocabulary.id_slots[others], fresh.id_slots[others])


def test_without_early_stopping_every_training_item_keeps_its_row():
    data, lonely = _world_with_an_item_only_in_validation()
    experiment = prepare_experiment_data(make_tiny_config(train={"early_stopping_patience": 0}), data)
    assert experiment.vocabulary.id_slots[int(experiment.vocabulary.lookup([lonely])[0])] != OOV_SLOT


def test_drop_unfitted_id_slots_counts_and_keeps_the_table_shape():
    vocabulary = ItemVocabulary(np.array(["a", "b", "c"]), np.array(["a", "b", "c"]))
    before = vocabulary.id_slots.copy()
    held_out = np.array([False, True, True, False])
    assert drop_unfitted_id_slots(vocabulary, np.array(["a", "b", "c", "a"]), held_out) == 2
    assert vocabulary.id_slots.tolist() == [before[0], before[1], before[2], OOV_SLOT, OOV_SLOT]
    assert vocabulary.id_slots.max() <= before.max()
