"""The empty-history answer comparison: both answers on the same weights, as `train` evaluates."""

import dataclasses

import numpy as np
import pytest
from tiny_fixtures import make_tiny_world

from tfrec_llm.benchmark.empty_history_comparison import compare_empty_history_answers, format_comparison
from tfrec_llm.benchmark.popularity_baseline import PopularityBaseline
from tfrec_llm.data.item_vocabulary import PAD_INDEX
from tfrec_llm.training.experiment_data import prepare_experiment_data
from tfrec_llm.training.model_evaluation import evaluate_model, has_known_items
from tfrec_llm.training.trained_model import TrainedModel


@pytest.fixture(scope="module")
def compared(trained_model_dir):
    """The tiny model's test examples (leave-last-out), a third of them with their history blanked."""
    directory, metrics = trained_model_dir
    trained = TrainedModel.load(directory)
    experiment = prepare_experiment_data(trained.config, make_tiny_world())
    examples = experiment.test_examples
    history = examples.history.copy()
    history[::3] = PAD_INDEX
    blanked = dataclasses.replace(examples, history=history)
    return trained, metrics, experiment, blanked, compare_empty_history_answers(trained, experiment, blanked)


def test_the_default_answer_reproduces_what_train_wrote_and_the_config_is_restored(trained_model_dir):
    directory, metrics = trained_model_dir
    trained = TrainedModel.load(directory)
    experiment = prepare_experiment_data(trained.config, make_tiny_world())
    comparison = compare_empty_history_answers(trained, experiment)
    assert trained.config.model.empty_history_answer == "popularity"  # the default
    assert trained.model.config.empty_history_answer == "popularity"  # restored after the comparison
    assert comparison["answers"]["popularity"]["all"]["overall"] == metrics["overall"]
    # Leave-last-out: every test user has a history, so the answers agree.
    assert comparison["without_history"] == 0
    assert comparison["answers"]["model"]["all"]["overall"] == metrics["overall"]


def test_examples_without_history_get_popularity_and_the_others_keep_their_ranks(compared):
    trained, _, _, examples, comparison = compared
    without = np.flatnonzero(~has_known_items(examples.history))
    assert comparison["without_history"] == len(without) > 0
    popularity = evaluate_model(
        PopularityBaseline(trained.assets.item_popularity), trained.assets, examples.subset(without)
    )
    by_rule, by_model = (comparison["answers"][a]["without_history"] for a in ("popularity", "model"))
    assert by_rule == popularity["overall"] != by_model
    rule, tower = (comparison["answers"][a]["all"]["overall"] for a in ("popularity", "model"))
    assert rule["n"] == tower["n"] == len(examples)
    assert rule != tower


def test_the_table_has_one_row_per_answer(compared):
    comparison = compared[-1]
    table = format_comparison(comparison, "tiny")
    assert table.startswith(f"tiny: {comparison['without_history']:,} of {comparison['examples']:,} test examples")
    rows = [line for line in table.splitlines() if line.startswith("| model") or line.startswith("| popularity")]
    assert len(rows) == 2 and all(row.count("|") == 9 for row in rows)
    popular = comparison["answers"]["popularity"]["without_history"]["recall@10"]
    assert f"| popularity | {popular:.4f} |" in table
    assert format_comparison(comparison, "tiny", "validation").startswith(
        f"tiny: {comparison['without_history']:,} of {comparison['examples']:,} validation examples"
    )
