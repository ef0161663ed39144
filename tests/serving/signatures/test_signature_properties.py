"""Property-based tests: generated requests never crash the exported signatures.

Hypothesis generates batches of histories mixing catalog ids, "" padding,
unknown ids, unicode and very long rows, candidate lists and k values. Every
answer must be well-formed: right shapes, finite scores sorted best first
(or -inf for the trailing "no item" slots, whose id is ""), only catalog ids,
no item of the request history among the results. Natural-language requests
(`text_retrieval`) are any unicode text: empty, whitespace, control
characters, very long.
"""

import os

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings, strategies as st

from serving_fixtures import NUM_ITEMS

CATALOG_IDS = [f"m{i}" for i in range(NUM_ITEMS)]  # the ids of serving_fixtures.topic_world
ID = st.one_of(st.sampled_from(CATALOG_IDS), st.just(""), st.text(max_size=12))
HISTORIES = st.lists(st.lists(ID, max_size=60), max_size=6).map(
    lambda rows: [row + [""] * (max((len(r) for r in rows), default=0) - len(row)) for row in rows]
)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _latest(export_dir, name):
    base = os.path.join(export_dir, name)
    return os.path.join(base, str(max(int(v) for v in os.listdir(base) if v.isdigit())))


@pytest.fixture(scope="module")
def retrieval(export_dir):
    return tf.saved_model.load(_latest(export_dir, "retrieval"))


@pytest.fixture(scope="module")
def ranking(export_dir):
    return tf.saved_model.load(_latest(export_dir, "ranking"))


def _as_matrix(histories):
    width = len(histories[0]) if histories else 0
    return tf.constant(np.asarray(histories, dtype=object).reshape(len(histories), width), dtype=tf.string)


@SETTINGS
@given(histories=HISTORIES, k=st.integers(min_value=-5, max_value=500))
def test_retrieval_answers_every_generated_request(retrieval, histories, k):
    signature = retrieval.signatures["retrieve_with_context"]
    batch = len(histories)
    inputs = {
        "history": _as_matrix(histories),
        "k": tf.constant(k, tf.int32),
        "scenario": tf.constant([""] * batch, dtype=tf.string),
    }
    for name, _spec in signature.structured_input_signature[1].items():
        if name.startswith("user_"):
            inputs[name] = tf.constant([""] * batch, dtype=tf.string)
    out = signature(**inputs)
    ids, scores = out["item_ids"].numpy(), out["scores"].numpy()
    assert ids.shape == scores.shape and ids.shape[0] == batch
    assert ids.shape[1] == min(max(k, 0), 10)  # the fixture exports max_k=10
    for row_ids, row_scores, history in zip(ids, scores, histories):
        filled = np.isfinite(row_scores)
        assert np.all(row_scores[~filled] == -np.inf) and np.all(row_ids[~filled] == b"")
        assert np.all(np.diff(row_scores[filled]) <= 1e-6)
        decoded = [i.decode() for i in row_ids[filled]]
        assert set(decoded) <= set(CATALOG_IDS)
        assert not set(decoded) & set(history)
        assert len(set(decoded)) == len(decoded)


@SETTINGS
@given(histories=HISTORIES, candidates=st.lists(ID, max_size=20))
def test_ranking_scores_every_generated_request(ranking, histories, candidates):
    batch = len(histories)
    out = ranking.signatures["serving_default"](
        history=_as_matrix(histories),
        candidates=tf.constant(
            np.asarray([candidates] * batch, dtype=object).reshape(batch, len(candidates)), dtype=tf.string
        ),
    )
    for key in ("scores", "affinity"):
        values = out[key].numpy()
        assert values.shape == (batch, len(candidates))
        assert np.all(np.isfinite(values))


@pytest.fixture(scope="module")
def text_retrieval(export_dir):
    import tensorflow_text  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import

    return tf.saved_model.load(_latest(export_dir, "text_retrieval"))


@SETTINGS
@given(
    queries=st.lists(st.one_of(st.text(max_size=40), st.text(min_size=500, max_size=2000), st.just("")), max_size=6),
    k=st.integers(min_value=-5, max_value=500),
)
def test_text_retrieval_answers_every_generated_request(text_retrieval, queries, k):
    out = text_retrieval.signatures["retrieve_top_k"](
        query=tf.constant(queries, dtype=tf.string, shape=[len(queries)]), k=tf.constant(k, tf.int32)
    )
    ids, scores = out["item_ids"].numpy(), out["scores"].numpy()
    assert ids.shape == scores.shape == (len(queries), min(max(k, 0), 10))
    assert np.all(np.isfinite(scores)) and np.all(np.diff(scores, axis=1) <= 1e-6)
    for row_ids in ids:
        decoded = [i.decode() for i in row_ids]
        assert set(decoded) <= set(CATALOG_IDS) and len(set(decoded)) == len(decoded)
