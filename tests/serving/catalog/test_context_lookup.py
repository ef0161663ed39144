"""ContextLookup mirrors CategoryVocabulary: value i -> i + 1, anything else -> 0."""

import numpy as np
import tensorflow as tf

import tfrec_llm  # noqa: F401
from tfrec_llm.data.category_vocabulary import CategoryVocabulary
from tfrec_llm.serving.catalog.context_lookup import ContextLookup, default_scenario_index


def test_lookups_match_category_vocabulary():
    scenarios = CategoryVocabulary(["web", "app", "tv"])
    ages = CategoryVocabulary(["old", "young"])
    context = ContextLookup(scenarios.values, {"age": ages.values, "zip": np.zeros(0, str)})
    values = ["tv", "web", "", "radio"]
    np.testing.assert_array_equal(context.scenario_indices(tf.constant(values)).numpy(), scenarios.lookup(values))
    features = context.feature_indices({"user_age": tf.constant(["young", "x"]), "user_zip": tf.constant(["1", ""])}, 2)
    np.testing.assert_array_equal(features.numpy(), [[2, 0], [0, 0]])
    assert context.feature_input_names == ["user_age", "user_zip"]


def test_default_scenario():
    assert default_scenario_index(["web"]) == 1
    assert default_scenario_index(["app", "default", "web"]) == 2
    assert default_scenario_index(["app", "web"]) == 0
    assert ContextLookup(np.zeros(0, str), {}).feature_indices({}, 2).shape == (2, 0)
