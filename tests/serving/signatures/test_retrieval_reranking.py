"""The exported `retrieve_reranked` signature: same lists as the library re-ranker, core ops, clear errors."""

import os

import numpy as np
import pytest
import tensorflow as tf

from serving_fixtures import with_empty_history_answer
from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX
from tfrec_llm.serving.export.saved_model_ops import read_required_ops
from tfrec_llm.serving.reranking import rerank, tailness_from_popularity
from tfrec_llm.serving.saved_model_loading import load_saved_model

HISTORIES = [["m0", "m4", "m8"], ["m1", "", ""], ["", "", ""]]


@pytest.fixture(scope="module")
def retrieval_dir(export_dir):
    return os.path.join(export_dir, "retrieval", "1")


@pytest.fixture(scope="module")
def retrieval(retrieval_dir):
    return load_saved_model(retrieval_dir)


def _library_lists(export_dir, trained, k, diversity, tail_boost):
    """Candidates from the user_encoder export and the item table, re-ranked by the library."""
    users = load_saved_model(os.path.join(export_dir, "user_encoder", "1")).signatures["serving_default"]
    vectors = (
        load_saved_model(os.path.join(export_dir, "item_encoder", "1"))
        .signatures["serving_default"](item_ids=tf.constant(trained.assets.item_ids))["item_embedding"]
        .numpy()
    )
    scores = with_empty_history_answer(
        users(history=tf.constant(HISTORIES))["user_embedding"].numpy() @ vectors.T, HISTORIES, trained
    )
    index = {item: i for i, item in enumerate(trained.assets.item_ids)}
    for row, history in enumerate(HISTORIES):
        scores[row, [index[h] for h in history if h]] = -np.inf
    candidates = np.argsort(-scores, axis=1, kind="stable")[:, :10]  # K = max_k = 10
    tailness = tailness_from_popularity(trained.assets.item_popularity[FIRST_ITEM_INDEX:])
    positions = rerank(
        np.take_along_axis(scores, candidates, 1), vectors[candidates], tailness[candidates], k, diversity, tail_boost
    )
    return trained.assets.item_ids[np.take_along_axis(candidates, positions, 1)].tolist()


@pytest.mark.parametrize("diversity, tail_boost", [(0.0, 0.0), (0.5, 0.0), (0.7, 0.4), (1.0, 2.0)])
def test_reranked_signature_matches_the_library(export_dir, trained, retrieval, diversity, tail_boost):
    outputs = retrieval.signatures["retrieve_reranked"](
        history=tf.constant(HISTORIES),
        k=tf.constant(6),
        diversity=tf.constant(diversity),
        tail_boost=tf.constant(tail_boost),
    )
    served = [[i.decode() for i in row] for row in outputs["item_ids"].numpy()]
    assert served == _library_lists(export_dir, trained, 6, diversity, tail_boost)
    if diversity == tail_boost == 0.0:
        plain = retrieval.signatures["serving_default"](history=tf.constant(HISTORIES))
        assert served == [[i.decode() for i in row[:6]] for row in plain["item_ids"].numpy()]
        np.testing.assert_allclose(outputs["scores"].numpy(), plain["scores"].numpy()[:, :6], atol=1e-6)


def test_reranked_signature_uses_core_ops_only_and_holds_training_tailness(retrieval, retrieval_dir, trained):
    from tensorflow.python.framework import op_def_registry  # pylint: disable=import-outside-toplevel

    ops = read_required_ops(retrieval_dir)
    assert {"TensorListReserve", "While"} & set(ops) or "StatelessWhile" in ops  # the MMR loop is in the graph
    assert [op for op in ops if op_def_registry.get(op) is None] == []
    np.testing.assert_allclose(
        retrieval.tailness.numpy(), tailness_from_popularity(trained.assets.item_popularity[FIRST_ITEM_INDEX:])
    )


def test_reranked_signature_rejects_a_bad_diversity_by_name(retrieval):
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"diversity must be in \[0, 1\]"):
        retrieval.signatures["retrieve_reranked"](
            history=tf.constant([["m0"]]), k=tf.constant(3), diversity=tf.constant(1.5), tail_boost=tf.constant(0.0)
        )
