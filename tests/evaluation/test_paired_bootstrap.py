"""Tests for the paired bootstrap over test users."""

import numpy as np
import pytest

from tfrec_llm.evaluation.paired_bootstrap import UserResamples, interval, share_at_least

USERS = np.array(["u1", "u1", "u2", "u3"])  # u1 has two examples


def test_means_by_hand_with_given_draws():
    counts = np.array([[1, 1, 1], [2, 0, 1], [0, 0, 3]])  # how often u1, u2, u3 are drawn
    resamples = UserResamples(USERS, counts=counts)
    values = np.array([1.0, 0.0, 1.0, 0.5])
    # draw 1: u1 (1 + 0), u2 (1), u3 (0.5) over 4 examples; draw 2: u1 twice (2 x (1 + 0)) and u3: 2.5 / 5;
    # draw 3: u3 three times.
    np.testing.assert_allclose(resamples.means(values, np.ones(4, bool)), [2.5 / 4, 2.5 / 5, 0.5])


def test_a_users_examples_move_together_and_a_draw_without_the_place_is_nan():
    counts = np.array([[0, 1, 1], [1, 0, 0]])
    resamples = UserResamples(USERS, counts=counts)
    only_u1 = np.array([True, True, False, False])
    means = resamples.means(np.array([1.0, 0.0, 1.0, 1.0]), only_u1)
    assert np.isnan(means[0]) and means[1] == 0.5  # both of u1's examples, or neither
    assert interval(means) == (0.5, 0.5)
    assert interval(np.full(3, np.nan)) is None and share_at_least(np.full(3, np.nan)) is None


def test_the_gap_of_paired_models_is_surer_than_their_separate_intervals():
    rng = np.random.default_rng(0)
    users = np.arange(500)
    weaker = (rng.random(500) < 0.2).astype(float)
    stronger = weaker.copy()
    stronger[np.flatnonzero(weaker == 0)[:15]] = 1.0  # the same hits and 15 more: +0.03
    resamples = UserResamples(users, num_resamples=1000, seed=1)
    every = np.ones(500, bool)
    strong, weak = resamples.means(stronger, every), resamples.means(weaker, every)
    low, high = interval(strong - weak)
    assert 0.0 < low < 0.03 < high  # paired: the gap is never below 0 on any draw
    assert interval(strong)[0] < interval(weak)[1]  # unpaired, the two intervals overlap
    assert share_at_least(strong - weak, 0.0) == 1.0
    assert share_at_least(weak - strong, 0.0) < 0.01


def test_draws_repeat_with_the_seed_and_bad_draws_are_refused():
    first, again = UserResamples(USERS, 50, seed=3), UserResamples(USERS, 50, seed=3)
    np.testing.assert_array_equal(first.counts, again.counts)
    assert (first.counts.sum(axis=1) == 3).all()  # each draw holds as many users as the test set
    with pytest.raises(ValueError, match="counts must be"):
        UserResamples(USERS, counts=np.ones((2, 4)))
    with pytest.raises(ValueError, match="one entry per example"):
        first.means(np.ones(3), np.ones(3, bool))
