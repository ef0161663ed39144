"""attribute_profile: a short taste profile from the attributes of a user's items."""

import numpy as np
import pytest

from tfrec_llm.queries.user_profiles import attribute_profile, attribute_profiles

NAMES = ["Action", "Drama", "War", "Western"]


def test_names_the_three_most_frequent_attributes_ties_in_column_order():
    assert attribute_profile(np.array([0, 5, 2, 7]), NAMES) == "likes Western, Drama and War films"
    assert attribute_profile(np.array([1, 1, 1, 1]), NAMES) == "likes Action, Drama and War films"


def test_fewer_attributes_than_top_and_none_at_all():
    assert attribute_profile(np.array([0, 0, 3, 0]), NAMES) == "likes War films"
    assert attribute_profile(np.array([0, 2, 3, 0]), NAMES) == "likes War and Drama films"
    assert attribute_profile(np.zeros(4), NAMES) == ""


def test_profiles_of_users_from_item_rows():
    attributes = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 1, 1, 0]])
    assert attribute_profiles(attributes, [np.array([0]), np.array([1, 2, 2])], NAMES, top=2) == [
        "likes Action films",
        "likes Drama and War films",
    ]


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="3 counts for 4 attribute names"):
        attribute_profile(np.array([1, 2, 3]), NAMES)
    with pytest.raises(ValueError, match="top must be >= 1"):
        attribute_profile(np.array([1, 2, 3, 4]), NAMES, top=0)
