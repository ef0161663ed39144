"""TfidfScorer: exact-word cosine similarity, rare words weigh more, no shared word scores 0."""

import numpy as np
import pytest

from tfrec_llm.queries.tfidf_scorer import TfidfScorer

ITEMS = ["A haunted house story", "A love story", "A story of war", "Dragons and wizards"]


def test_shared_words_score_and_rare_words_weigh_more():
    scores = TfidfScorer(ITEMS).scores(["haunted story", "dragons"])
    assert scores.shape == (2, 4)
    assert np.argmax(scores[0]) == 0
    # "story" is shared by three items, "haunted" by one: item 0 leads by far.
    assert scores[0, 0] > 2 * scores[0, 1] > 0
    assert scores[1].tolist()[:3] == [0.0, 0.0, 0.0] and scores[1, 3] > 0


def test_case_is_ignored_and_identical_text_scores_one():
    scores = TfidfScorer(ITEMS).scores(["a LOVE story"])
    assert scores[0, 1] == pytest.approx(1.0)


def test_a_request_without_known_words_scores_zero_everywhere():
    assert not TfidfScorer(ITEMS).scores(["spaceships", ""]).any()
