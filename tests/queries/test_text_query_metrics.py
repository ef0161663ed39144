"""text_query_metrics: precision, MRR and chance level, checked by hand; ties count against relevance."""

import numpy as np
import pytest

from tfrec_llm.queries.metrics import ranked_relevance, text_query_metrics


def test_metrics_by_hand():
    scores = [[3.0, 2.0, 1.0, 0.0], [0.0, 1.0, 2.0, 3.0]]
    relevant = [[False, True, False, True], [False, False, True, False]]
    metrics = text_query_metrics(scores, relevant, ks=(1, 2))
    # request 0 ranks F T F T; request 1 ranks F T F F.
    assert metrics["precision@1"] == 0.0
    assert metrics["precision@2"] == pytest.approx((0.5 + 0.5) / 2)
    assert metrics["mrr"] == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert metrics["chance_precision"] == pytest.approx(3 / 8)
    assert metrics["n"] == 2


def test_ties_rank_relevant_items_last():
    ranked = ranked_relevance([[1.0, 1.0, 1.0, 0.5]], [[True, False, False, False]])
    assert ranked.tolist() == [[False, False, True, False]]
    metrics = text_query_metrics([[2.0, 2.0, 2.0]], [[True, False, False]], ks=(1,))
    assert metrics["precision@1"] == 0.0 and metrics["mrr"] == pytest.approx(1 / 3)


def test_a_perfect_scorer_gets_full_marks():
    relevant = np.array([[True, True, False, False, False]])
    metrics = text_query_metrics(relevant.astype(float), relevant, ks=(2,))
    assert metrics["precision@2"] == 1.0 and metrics["mrr"] == 1.0


@pytest.mark.parametrize(
    "scores, relevant, ks, message",
    [
        ([[1.0, 2.0]], [[False, False]], (1,), "at least one relevant"),
        ([[1.0, 2.0]], [[True, False, False]], (1,), "both be"),
        ([[1.0, np.nan]], [[True, False]], (1,), "finite"),
        ([[1.0, 2.0]], [[True, False]], (3,), "1 <= k <= 2"),
        (np.zeros((0, 2)), np.zeros((0, 2), bool), (1,), "No requests"),
    ],
)
def test_bad_input_is_refused_clearly(scores, relevant, ks, message):
    with pytest.raises(ValueError, match=message):
        text_query_metrics(scores, relevant, ks)
