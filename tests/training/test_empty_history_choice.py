"""`model.empty_history_answer` "validation": `train` keeps the answer that ranks validation's new users better."""

import dataclasses
import json
import os

import numpy as np
import pytest

from tfrec_llm.benchmark.popularity_baseline import PopularityBaseline
from tfrec_llm.data.interaction_data import InteractionData, Interactions
from tfrec_llm.data.item_vocabulary import PAD_INDEX
from tfrec_llm.training import empty_history_choice
from tfrec_llm.training.empty_history_choice import choose_empty_history_answer
from tfrec_llm.training.experiment_data import prepare_experiment_data
from tfrec_llm.training.model_evaluation import evaluate_model
from tfrec_llm.training.trained_model import TrainedModel
from tfrec_llm.training.trainer import train


def _with_late_users(world, count=12):
    """The world plus `count` users whose first events fall in time_cut's validation slice (no history there)."""
    events = world.interactions
    late = np.quantile(events.timestamps, 0.75)  # after the validation slice starts, before the test cut (0.8)
    users = np.repeat([f"late{u}" for u in range(count)], 2)
    items = np.array([f"i{(u % 4) + 4 * j}" for u in range(count) for j in range(2)])
    times = np.array([late + u for u in range(count) for _ in range(2)], np.int64) + np.tile([0, 1], count)
    joined = Interactions(
        np.concatenate([events.user_ids, users]),
        np.concatenate([events.item_ids, items]),
        np.concatenate([events.timestamps, times]),
        np.concatenate([events.labels, np.full(len(users), 4.0, np.float32)]),
        None,
    )
    return InteractionData("tiny+late", joined, world.catalog)


def _blanked(examples):
    """The examples with every history emptied: each one is a request without history."""
    return dataclasses.replace(examples, history=np.full_like(examples.history, PAD_INDEX))


def test_leave_last_out_has_no_validation_user_without_history_so_popularity_is_kept(trained_model_dir):
    directory, metrics = trained_model_dir
    choice = metrics["empty_history_choice"]
    assert choice["answer"] == "popularity" and choice["examples"] == 0 and choice["recall@10"] == {}
    assert "fewer than" in choice["reason"]
    with open(os.path.join(directory, "config.json"), encoding="utf-8") as f:
        assert json.load(f)["model"]["empty_history_answer"] == "popularity"  # resolved, not "validation"
    assert metrics["empty_history_answer"] == "popularity"


def test_the_choice_scores_both_answers_as_the_evaluator_does_and_keeps_the_better(trained_model_dir, tiny_world):
    trained = TrainedModel.load(trained_model_dir[0])
    experiment = prepare_experiment_data(trained.config, tiny_world)
    examples = _blanked(experiment.test_examples)
    before = trained.model.config
    choice = choose_empty_history_answer(trained.model, trained.assets, examples, True, min_examples=1)
    assert trained.model.config is before  # restored
    assert choice["examples"] == len(examples)
    popularity = evaluate_model(PopularityBaseline(trained.assets.item_popularity), trained.assets, examples)
    assert choice["recall@10"]["popularity"] == pytest.approx(popularity["overall"]["recall@10"])
    trained.model.config = dataclasses.replace(before, empty_history_answer="model")
    tower = evaluate_model(trained.model, trained.assets, examples)["overall"]["recall@10"]
    assert choice["recall@10"]["model"] == pytest.approx(tower)
    assert choice["answer"] == ("model" if tower > popularity["overall"]["recall@10"] else "popularity")


@pytest.mark.parametrize(
    "scores, expected",
    [
        ({"model": 0.5, "popularity": 0.2}, "model"),
        ({"model": 0.2, "popularity": 0.5}, "popularity"),
        ({"model": 0.3, "popularity": 0.3}, "popularity"),
    ],
)
def test_the_higher_recall_wins_and_a_tie_keeps_popularity(
    monkeypatch, trained_model_dir, tiny_world, scores, expected
):
    trained = TrainedModel.load(trained_model_dir[0])
    examples = _blanked(prepare_experiment_data(trained.config, tiny_world).test_examples)

    def scripted(model, *_args):
        return {"overall": {"recall@10": scores[model.config.empty_history_answer]}}

    monkeypatch.setattr(empty_history_choice, "evaluate_model", scripted)
    choice = choose_empty_history_answer(trained.model, trained.assets, examples, True, min_examples=1)
    assert choice["answer"] == expected and choice["recall@10"] == scores


def test_too_few_examples_keep_popularity_without_scoring(trained_model_dir, tiny_world):
    trained = TrainedModel.load(trained_model_dir[0])
    examples = _blanked(prepare_experiment_data(trained.config, tiny_world).test_examples)
    choice = choose_empty_history_answer(trained.model, trained.assets, examples, True, min_examples=len(examples) + 1)
    assert choice["answer"] == "popularity" and choice["recall@10"] == {}
    with pytest.raises(ValueError, match="min_examples"):
        choose_empty_history_answer(trained.model, trained.assets, examples, True, min_examples=0)


def test_time_cut_training_writes_the_chosen_answer_where_export_and_evaluation_read_it(
    monkeypatch, tmp_path, tiny_config, tiny_world
):
    monkeypatch.setattr(empty_history_choice, "MIN_EXAMPLES", 1)
    config = tiny_config(data={"split": "time_cut"}, train={"epochs": 2, "early_stopping_patience": 2})
    assert config.model.empty_history_answer == "validation"  # the default
    world = _with_late_users(tiny_world)
    metrics = train(config, str(tmp_path), data=world)
    choice = metrics["empty_history_choice"]
    assert choice["examples"] >= 1 and set(choice["recall@10"]) == {"model", "popularity"}
    trained = TrainedModel.load(str(tmp_path))
    assert trained.config.model.empty_history_answer == choice["answer"] == metrics["empty_history_answer"]
    again = evaluate_model(trained.model, trained.assets, prepare_experiment_data(trained.config, world).test_examples)
    assert again["overall"] == metrics["overall"]  # the saved config reproduces metrics.json
