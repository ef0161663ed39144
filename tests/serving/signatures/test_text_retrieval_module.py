"""The exported text_retrieval model: one call from a request (and a history) to the top-K items,
as TextQueryRetriever and PersonalRetriever rank them."""

import os

import numpy as np
import pytest
import tensorflow as tf

from tfrec_llm.serving.saved_model_loading import load_saved_model
from tfrec_llm.serving.export.saved_model_ops import TF_TEXT_2_12_TOKENIZER_OPS, read_required_ops
from tfrec_llm.queries.personal_blend import EQUAL_SPREAD, fused_scores
from tfrec_llm.queries.personal_retriever import PersonalRetriever
from tfrec_llm.serving.signatures.text_retrieval_module import EQUAL_SPREAD as SERVED_EQUAL_SPREAD
from tfrec_llm.queries.retriever import TextQueryRetriever

QUERIES = ["galaxy rocket", "a wedding and romance", "soldier battle"]


@pytest.fixture(scope="module")
def text_retrieval(export_dir):
    return load_saved_model(os.path.join(export_dir, "text_retrieval", "1"))


def ids(tensor):
    return [[i.decode() for i in row] for row in tensor.numpy()]


def test_one_call_serves_a_request_alone_by_the_equal_spread_rule_as_the_library_does(text_retrieval, export_dir):
    """serving_default = the model's request embedding . items + std(those scores) * z(BERT cosine)."""
    outputs = text_retrieval.signatures["serving_default"](query=tf.constant(QUERIES))
    assert outputs["item_ids"].shape == (3, 10) and outputs["scores"].shape == (3, 10)
    library = PersonalRetriever.from_export(export_dir)
    embedding_only = TextQueryRetriever.from_export(export_dir)
    for row, query in enumerate(QUERIES):
        expected = library.search(query, [], 0.0, k=10, similarity_weight=EQUAL_SPREAD)
        np.testing.assert_allclose(outputs["scores"].numpy()[row], [r.score for r in expected], atol=1e-4)
        assert ids(outputs["item_ids"])[row] == [r.item_id for r in expected]
        model = embedding_only.scores([query])
        by_hand = fused_scores(model, library.text_features([query]), library.item_text_features, model.std())[0]
        np.testing.assert_allclose(outputs["scores"].numpy()[row], np.sort(by_hand)[::-1][:10], atol=1e-4)
    assert EQUAL_SPREAD == SERVED_EQUAL_SPREAD < 0


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


def personal(text_retrieval, queries, history, weight, k=10, alpha=0.0):
    return text_retrieval.signatures["retrieve_personal"](
        query=tf.constant(queries),
        history=tf.constant(history),
        history_weight=tf.constant(weight),
        k=tf.constant(k),
        text_similarity_weight=tf.constant(alpha),
    )


def test_personal_weight_0_is_the_plain_request_without_the_history_items(text_retrieval, export_dir):
    plain = ids(text_retrieval.signatures["serving_default"](query=tf.constant(QUERIES[:1]))["item_ids"])[0]
    seen = plain[:2]  # the request's two best items are in the history: they leave the list
    outputs = personal(text_retrieval, QUERIES[:1], [seen], 0.0, alpha=EQUAL_SPREAD)
    assert ids(outputs["item_ids"])[0][:8] == plain[2:]
    assert ids(outputs["item_ids"])[0] == expected_ids(
        PersonalRetriever.from_export(export_dir).search(QUERIES[0], seen, similarity_weight=EQUAL_SPREAD)
    )
    empty = personal(text_retrieval, QUERIES[:1], [["", ""]], 0.0, alpha=EQUAL_SPREAD)
    assert ids(empty["item_ids"])[0] == plain


def expected_ids(rows):
    return [r.item_id for r in rows]


def test_personal_signature_matches_the_library(text_retrieval, trained):
    library = PersonalRetriever.from_trained_model(trained)
    histories = [["m1", "m5", ""], ["m2", "", ""], ["", "", ""]]  # an empty history: the no-history user
    for weight in (0.3, 1.0):
        outputs = personal(text_retrieval, QUERIES, histories, weight)
        for row, (query, history) in enumerate(zip(QUERIES, histories)):
            expected = library.search(query, history, weight, k=10)
            assert ids(outputs["item_ids"])[row] == expected_ids(expected), (weight, row)
            np.testing.assert_allclose(outputs["scores"].numpy()[row], [r.score for r in expected], atol=1e-5)


def test_personal_weight_1_is_the_retrieval_answer_and_weights_are_clipped(text_retrieval, export_dir):
    retrieval = load_saved_model(os.path.join(export_dir, "retrieval", "1")).signatures["serving_default"]
    history = [["m3", "m7", "m11"]]
    by_history = retrieval(history=tf.constant(history))
    full = personal(text_retrieval, QUERIES[:1], history, 1.0)
    assert ids(full["item_ids"]) == ids(by_history["item_ids"])
    np.testing.assert_allclose(full["scores"].numpy(), by_history["scores"].numpy(), atol=1e-5)
    assert ids(personal(text_retrieval, QUERIES[:1], history, 7.0)["item_ids"]) == ids(full["item_ids"])


def test_personal_text_similarity_matches_the_library_in_memory_and_from_export(text_retrieval, trained, export_dir):
    """alpha * z(BERT cosine) is added in-graph exactly as `fused_scores` adds it in the library."""
    libraries = (PersonalRetriever.from_trained_model(trained), PersonalRetriever.from_export(export_dir))
    histories = [["m1", "m5", ""], ["m2", "", ""], ["", "", ""]]
    for weight, alpha in ((0.3, 0.05), (1.0, 0.5), (0.0, 2.0)):
        outputs = personal(text_retrieval, QUERIES, histories, weight, alpha=alpha)
        for library in libraries:
            for row, (query, history) in enumerate(zip(QUERIES, histories)):
                expected = library.search(query, history, weight, k=10, similarity_weight=alpha)
                assert ids(outputs["item_ids"])[row] == expected_ids(expected), (weight, alpha, row)
                np.testing.assert_allclose(outputs["scores"].numpy()[row], [r.score for r in expected], atol=1e-4)


def test_personal_alpha_0_is_the_old_blend_and_a_large_alpha_follows_bert(text_retrieval, export_dir):
    library = PersonalRetriever.from_export(export_dir)
    history = [["m3", "m7", ""]]
    old = personal(text_retrieval, QUERIES[:1], history, 0.4)  # alpha 0: the blend alone
    blend = library.scores(QUERIES[:1], history, 0.4)[0]  # (1 - w) * request + w * user, dot product
    order = [i for i in np.argsort(-blend, kind="stable") if np.isfinite(blend[i])][:10]
    assert ids(old["item_ids"])[0] == [str(library.catalog.item_ids[i]) for i in order]
    np.testing.assert_allclose(old["scores"].numpy()[0], blend[order], atol=1e-5)
    equal_spread = personal(text_retrieval, QUERIES[:1], history, 0.4, alpha=-3.0)  # any negative alpha
    expected = library.search(QUERIES[0], history[0], 0.4, k=10, similarity_weight=EQUAL_SPREAD)
    assert ids(equal_spread["item_ids"])[0] == expected_ids(expected)
    # A huge alpha ranks by BERT's cosine alone: the BERT nearest catalog item comes first.
    features = library.text_features(QUERIES[:1])[0]
    cosines = library.item_text_features @ features / np.linalg.norm(library.item_text_features, axis=1)
    cosines[[list(library.catalog.item_ids).index(i) for i in ("m3", "m7")]] = -np.inf  # the history is excluded
    top = personal(text_retrieval, QUERIES[:1], history, 0.4, alpha=1e4)
    assert ids(top["item_ids"])[0][0] == str(library.catalog.item_ids[int(np.argmax(cosines))])
    with pytest.raises(ValueError, match="text similarity weight must be a finite number"):
        library.scores(QUERIES[:1], history, 0.4, float("nan"))


def test_profile_signature_adds_the_popularity_prior_as_the_library_does(text_retrieval, trained, export_dir):
    """retrieve_profile = retrieve_personal + beta * popularity prior, in-graph; beta = 0 is retrieve_personal,
    a negative beta is clipped to 0; `retrieve_personal` keeps its inputs (no popularity_weight)."""
    profile = text_retrieval.signatures["retrieve_profile"]
    assert "popularity_weight" not in text_retrieval.signatures["retrieve_personal"].structured_input_signature[1]
    libraries = (PersonalRetriever.from_trained_model(trained), PersonalRetriever.from_export(export_dir))
    histories = [["m1", "m5", ""], ["m2", "", ""], ["", "", ""]]

    def call(weight, alpha, beta):
        return profile(
            query=tf.constant(QUERIES),
            history=tf.constant(histories),
            history_weight=tf.constant(weight),
            k=tf.constant(10),
            text_similarity_weight=tf.constant(alpha),
            popularity_weight=tf.constant(beta),
        )

    for weight, alpha, beta in ((0.2, 0.0, 10.0), (0.9, 0.05, 0.3)):
        outputs = call(weight, alpha, beta)
        for library in libraries:
            for row, (query, history) in enumerate(zip(QUERIES, histories)):
                expected = library.search(query, history, weight, 10, alpha, beta)
                assert ids(outputs["item_ids"])[row] == expected_ids(expected), (weight, alpha, beta, row)
                np.testing.assert_allclose(outputs["scores"].numpy()[row], [r.score for r in expected], atol=1e-4)
    plain = personal(text_retrieval, QUERIES, histories, 0.4, alpha=0.05)
    for beta in (0.0, -5.0):
        outputs = call(0.4, 0.05, beta)
        assert ids(outputs["item_ids"]) == ids(plain["item_ids"])
        np.testing.assert_allclose(outputs["scores"].numpy(), plain["scores"].numpy(), atol=1e-6)
