"""Tests of the answer checks that `drive_signatures` applies to exported signatures."""

import numpy as np
import pytest

from tfrec_llm.testing.serving_requests import ranking_problem, retrieval_problem

CATALOG = {"a", "b", "c"}


def _answer(ids, scores):
    return {"item_ids": np.array(ids, dtype=object).astype(bytes), "scores": np.array(scores, dtype=np.float32)}


def _request(history, k=None):
    inputs = {"history": np.array(history, dtype=object)}
    if k is not None:
        inputs["k"] = np.array(k, dtype=np.int32)
    return inputs


def test_a_well_formed_retrieval_answer_has_no_problem():
    answer = _answer([["b", "c", ""]], [[2.0, 1.0, -np.inf]])
    assert retrieval_problem(answer, _request([["a"]]), top_k=3, catalog=CATALOG) is None


@pytest.mark.parametrize(
    "ids, scores, history, k, problem",
    [
        ([["b", "c"]], [[2.0, 1.0]], [["a"]], None, "shapes"),  # top_k is 3
        ([["b", "c", "a"]], [[1.0, 2.0, 0.0]], [[""]], None, "not sorted"),
        ([["b", "c", "a"]], [[np.nan, 1.0, 0.0]], [[""]], None, "NaN"),
        ([["b", ""]], [[2.0, 1.0]], [[""]], 2, "empty item id"),
        ([["b", "z"]], [[2.0, 1.0]], [[""]], 2, "outside the catalog"),
        ([["b", "b"]], [[2.0, 1.0]], [[""]], 2, "twice"),
        ([["a", "b"]], [[2.0, 1.0]], [["a"]], 2, "history item"),
    ],
)
def test_malformed_retrieval_answers_are_named(ids, scores, history, k, problem):
    found = retrieval_problem(_answer(ids, scores), _request(history, k), top_k=3, catalog=CATALOG)
    assert found is not None and problem in found


def test_ranking_answers_need_finite_scores_of_the_candidates_shape():
    inputs = {"candidates": np.array([["a", "b"]], dtype=object)}
    good = {"scores": np.zeros((1, 2)), "affinity": np.ones((1, 2))}
    assert ranking_problem(good, inputs) is None
    assert "non-finite affinity" in ranking_problem({**good, "affinity": np.array([[1.0, np.inf]])}, inputs)
    assert "shape" in ranking_problem({**good, "scores": np.zeros((1, 3))}, inputs)
