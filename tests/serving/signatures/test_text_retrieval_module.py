"""The exported text_retrieval model: one call from a request to the top-K items, as TextQueryRetriever ranks them."""

import os

import numpy as np
import pytest
import tensorflow as tf

from tfrec_llm.serving.saved_model_loading import load_saved_model
from tfrec_llm.serving.export.saved_model_ops import TF_TEXT_2_12_TOKENIZER_OPS, read_required_ops
from tfrec_llm.queries.retriever import TextQueryRetriever

QUERIES = ["galaxy rocket", "a wedding and romance", "soldier battle"]


@pytest.fixture(scope="module")
def text_retrieval(export_dir):
    return load_saved_model(os.path.join(export_dir, "text_retrieval", "1"))


def ids(tensor):
    return [[i.decode() for i in row] for row in tensor.numpy()]


def test_one_call_returns_what_the_retriever_ranks(text_retrieval, export_dir):
    outputs = text_retrieval.signatures["serving_default"](query=tf.constant(QUERIES))
    assert outputs["item_ids"].shape == (3, 10) and outputs["scores"].shape == (3, 10)
    retriever = TextQueryRetriever.from_export(export_dir)
    for row, query in enumerate(QUERIES):
        expected = retriever.search(query, k=10)
        np.testing.assert_allclose(outputs["scores"].numpy()[row], [r.score for r in expected], atol=1e-5)
        assert ids(outputs["item_ids"])[row] == [r.item_id for r in expected]


def test_k_slices_and_is_clipped(text_retrieval):
    top_k = text_retrieval.signatures["retrieve_top_k"]
    full = text_retrieval.signatures["serving_default"](query=tf.constant(QUERIES[:1]))
    three = top_k(query=tf.constant(QUERIES[:1]), k=tf.constant(3))
    assert ids(three["item_ids"]) == [ids(full["item_ids"])[0][:3]]
    assert top_k(query=tf.constant(QUERIES[:1]), k=tf.constant(10_000))["item_ids"].shape == (1, 10)
    assert top_k(query=tf.constant(QUERIES[:1]), k=tf.constant(-5))["item_ids"].shape == (1, 0)


def test_empty_requests_and_empty_batches_are_defined(text_retrieval):
    serve = text_retrieval.signatures["serving_default"]
    empty_text = serve(query=tf.constant([""]))
    assert empty_text["item_ids"].shape == (1, 10) and np.isfinite(empty_text["scores"].numpy()).all()
    assert serve(query=tf.constant([], dtype=tf.string))["item_ids"].shape == (0, 10)


def test_needs_only_tf_text_tokenizer_ops_beyond_core(export_dir):
    ops = read_required_ops(os.path.join(export_dir, "text_retrieval", "1"))
    # It tokenises in-graph (TF Text 2.12 ops, which stock TF Serving links), never with RoundRobinTrim.
    assert set(ops) & TF_TEXT_2_12_TOKENIZER_OPS
    assert not any("RoundRobinTrim" in op for op in ops) and "TopKV2" in ops
