"""Item matching across domains: the same item by title, its trained id row and gate count carried over."""

import dataclasses
import json
import os
from types import SimpleNamespace

import numpy as np
import pytest

from tfrec_llm.data.interaction_data import ItemCatalog
from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX, OOV_SLOT
from tfrec_llm.experiment_config import AdaptConfig, ConfigError
from tfrec_llm.training.domain_adaptation import adapt
from tfrec_llm.training.item_matching import find_matches, match_items
from tfrec_llm.training.trained_model import TrainedModel
from domain_fixtures import make_new_domain
from tiny_fixtures import make_tiny_config

MATCHED = 6  # new items 0..5 carry (re-spaced, upper-cased) titles of trained items


def fake_assets(titles, slots, popularity):
    """Trained-model assets with the fields matching reads (index space: two leading rows)."""
    return SimpleNamespace(
        item_titles=np.asarray(titles, str),
        item_texts=np.asarray(titles, str),
        id_slots=np.asarray([0, OOV_SLOT] + list(slots), np.int32),
        item_popularity=np.asarray([0, 0] + list(popularity), np.int64),
    )


def test_matching_ignores_case_and_white_space():
    assets = fake_assets(["Toy Story (1995)", "Heat (1995)"], [2, 3], [5, 4])
    match = match_items("title", assets, ["  toy   STORY (1995) ", "Heat(1995)", "heat (1995)"])
    assert match.new_index.tolist() == [2, 4] and match.source_index.tolist() == [2, 3]
    assert match.summary() == {
        "field": "title",
        "matched": 2,
        "new_items": 3,
        "source_duplicates": 0,
        "source_duplicate_items": 0,
        "loose_matched": 0,
    }


def test_a_title_several_trained_items_share_goes_to_the_most_interacted_and_is_counted():
    # items 0, 1, 3 are "Hamlet"; 3 is the most interacted; 2 ("Solo") never trained: no slot, no match
    assets = fake_assets(["Hamlet", "hamlet ", "Solo", "HAMLET"], [2, 3, OOV_SLOT, 4], [3, 3, 0, 9])
    match = match_items("title", assets, ["Solo", "Hamlet"])
    assert match.new_index.tolist() == [3] and match.source_index.tolist() == [3 + FIRST_ITEM_INDEX]
    assert (match.source_duplicates, match.source_duplicate_items) == (1, 2)
    tie = match_items("title", fake_assets(["Hamlet", "hamlet"], [2, 3], [3, 3]), ["Hamlet"])
    assert tie.source_index.tolist() == [FIRST_ITEM_INDEX]  # ties: the first in catalog order


def test_loose_titles_drop_alternate_titles_but_keep_the_year_and_exact_titles_come_first():
    titles = ["Twelve Monkeys (a.k.a. 12 Monkeys) (1995)", "Heat (Hitze) (1995)", "Heat (1995)"]
    assets = fake_assets(titles, [2, 3, 4], [1, 9, 1])  # the loose "heat (1995)" twin is the more interacted
    new = ["twelve monkeys (1995)", "Heat (1995)", "Twelve Monkeys (1996)", "Kolya (Kolja) (1996)"]
    loose = match_items("title_loose", assets, new)
    assert loose.new_index.tolist() == [2, 3] and loose.source_index.tolist() == [2, 4]  # exact Heat kept
    assert loose.summary()["loose_matched"] == 1 and loose.summary()["source_duplicates"] == 0
    assert match_items("title", assets, new).new_index.tolist() == [3]  # exact only


def test_a_field_either_catalog_lacks_is_a_clear_error():
    config = make_tiny_config()
    assets = fake_assets(["Heat"], [2], [1])
    no_title = ItemCatalog(np.asarray(["a"]), {"name": np.asarray(["Heat"])})
    with pytest.raises(ValueError, match="new catalog has no 'title' field"):
        find_matches("title", config, assets, no_title, None)
    assert find_matches("auto", config, assets, no_title, None) is None  # auto: nothing to match on
    untitled_source = dataclasses.replace(config, text=dataclasses.replace(config.text, text_fields=["name"]))
    titled = ItemCatalog(np.asarray(["a"]), {"title": np.asarray(["Heat"])})
    with pytest.raises(ValueError, match="trained model's catalog had no 'title' field"):
        find_matches("title", untitled_source, assets, titled, None)
    with pytest.raises(ConfigError, match="adapt.match_items_by"):
        AdaptConfig(match_items_by="genres").validate()


def new_domain_sharing_titles(source: TrainedModel):
    """The new tiny domain; its first `MATCHED` items titled as trained items (with a slot), re-spaced."""
    data = make_new_domain()
    trained = np.flatnonzero(source.assets.id_slots[FIRST_ITEM_INDEX:] > OOV_SLOT)[:MATCHED]
    titles = np.char.add("other ", data.catalog.text_fields["title"]).astype(object)
    for new, old in enumerate(trained):
        titles[new] = "  " + source.assets.item_titles[old].upper().replace(" ", "   ") + " "
    catalog = ItemCatalog(data.catalog.item_ids, {"title": titles.astype(str)})
    return dataclasses.replace(data, catalog=catalog), trained + FIRST_ITEM_INDEX


def test_matched_items_start_from_the_trained_id_rows_and_gate_counts_bit_for_bit(trained_model_dir, tmp_path):
    model_dir, _ = trained_model_dir
    source = TrainedModel.load(model_dir)
    data, source_index = new_domain_sharing_titles(source)
    out = str(tmp_path / "zero")
    metrics = adapt(model_dir, out, adapt_config=AdaptConfig(fraction=0.0), data=data)
    adapted = TrainedModel.load(out)  # what was written, not the in-memory model
    new_index = np.arange(MATCHED) + FIRST_ITEM_INDEX
    slots = adapted.assets.id_slots
    assert (slots[new_index] > OOV_SLOT).all() and (slots[MATCHED + FIRST_ITEM_INDEX :] == OOV_SLOT).all()
    table = adapted.model.item_tower.id_embedding.get_weights()[0]
    source_table = source.model.item_tower.id_embedding.get_weights()[0]
    np.testing.assert_array_equal(table[slots[new_index]], source_table[source.assets.id_slots[source_index]])
    others = np.setdiff1d(np.arange(len(table)), slots[new_index])
    assert not table[others].any()  # unmatched: zero as before
    gate_counts = adapted.model.item_tower.log_popularity.numpy()[:, 0]
    source_counts = source.model.item_tower.log_popularity.numpy()[:, 0]
    np.testing.assert_array_equal(gate_counts[new_index], source_counts[source_index])
    assert not gate_counts[MATCHED + FIRST_ITEM_INDEX :].any()
    assert not adapted.assets.item_popularity.any()  # this domain's counts (baselines, strata) unchanged
    assert adapted.assets.cold_items[FIRST_ITEM_INDEX:].all()  # no event in this domain: still cold
    expected = {"field": "title", "matched": MATCHED, "new_items": len(data.catalog.item_ids)}
    assert expected.items() <= metrics["training"]["item_match"].items()
    with open(os.path.join(out, "adapt.json"), encoding="utf-8") as f:
        assert expected.items() <= json.load(f)["item_match"].items()


def test_trained_matched_items_count_both_domains_events_and_none_turns_matching_off(trained_model_dir, tmp_path):
    model_dir, _ = trained_model_dir
    source = TrainedModel.load(model_dir)
    data, source_index = new_domain_sharing_titles(source)
    out = str(tmp_path / "projection")
    adapt(model_dir, out, adapt_config=AdaptConfig(fraction=1.0, train_only="projection", epochs=1), data=data)
    adapted = TrainedModel.load(out)
    new_index = np.arange(MATCHED) + FIRST_ITEM_INDEX
    both = source.assets.item_popularity[source_index] + adapted.assets.item_popularity[new_index]
    np.testing.assert_allclose(adapted.model.item_tower.log_popularity.numpy()[new_index, 0], np.log1p(both), 1e-6)
    slots = adapted.assets.id_slots[new_index]  # frozen id rows: still the trained ones
    np.testing.assert_array_equal(
        adapted.model.item_tower.id_embedding.get_weights()[0][slots],
        source.model.item_tower.id_embedding.get_weights()[0][source.assets.id_slots[source_index]],
    )
    off = adapt(model_dir, str(tmp_path / "off"), adapt_config=AdaptConfig(0.0, match_items_by="none"), data=data)
    assert off["training"]["item_match"] is None
    assert (TrainedModel.load(str(tmp_path / "off")).assets.id_slots[FIRST_ITEM_INDEX:] == OOV_SLOT).all()
