"""`model.empty_history_answer` "popularity": the `retrieval` export ranks requests without history by popularity."""

import os

import numpy as np
import pytest
import tensorflow as tf

from serving_fixtures import train_topic_model
from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX
from tfrec_llm.serving.catalog.item_popularity import popularity_prior
from tfrec_llm.serving.export.export_info import ExportInfo
from tfrec_llm.serving.export.exporter import build_export_modules, export_models, serving_catalog
from tfrec_llm.serving.saved_model_loading import load_saved_model
from tfrec_llm.serving.saved_model_recommender import SavedModelRecommender
from tfrec_llm.serving.signatures.retrieval_module import RetrievalModule
from tfrec_llm.training.trained_model import TrainedModel

MAX_K = 10
EMPTY_ROWS = [["", "", ""], ["nope", "", "zzz"]]  # padding only; unknown ids only
WITH_HISTORY = [["m0", "m4", "m8"]]


@pytest.fixture(scope="module")
def model_answer(tmp_path_factory):
    """A topic model that trains and serves its tower's empty-history answer; its retrieval export."""
    root = tmp_path_factory.mktemp("model_answer")
    model_dir = train_topic_model(
        str(root / "model"),
        {"model": {"empty_history_targets": True, "empty_history_answer": "model"}, "train": {"epochs": 1}},
    )
    export_dir = str(root / "export")
    export_models(model_dir, export_dir, max_k=MAX_K, validate=False, model_names=["retrieval"])
    return TrainedModel.load(model_dir), export_dir


def history_encoder(trained, scratch_dir):
    """The export's history encoder for `trained` (item table, context, user tower)."""
    modules = build_export_modules(trained, serving_catalog(trained), ["retrieval"], str(scratch_dir), MAX_K)
    return modules["retrieval"].history_encoder


def strings(tensor):
    return np.char.decode(tensor.numpy().astype(np.bytes_), "utf-8")


def popular_first(trained, k=MAX_K):
    """The catalog by popularity prior, best first (ties: lower position first, as `tf.math.top_k`)."""
    prior = popularity_prior(trained.assets.item_popularity[FIRST_ITEM_INDEX:])
    order = np.argsort(-prior, kind="stable")[:k]
    return trained.assets.item_ids[order].tolist(), prior[order]


def test_requests_without_a_known_history_item_get_the_popular_items(trained, export_dir):
    assert trained.config.model.empty_history_answer == "popularity"  # the default
    assert ExportInfo.read(os.path.join(export_dir, "retrieval", "1")).empty_history_answer == "popularity"
    assert ExportInfo.read(os.path.join(export_dir, "ranking", "1")).empty_history_answer is None
    retrieval = load_saved_model(os.path.join(export_dir, "retrieval", "1"))
    outputs = retrieval.signatures["serving_default"](history=tf.constant(EMPTY_ROWS))
    ids, scores = popular_first(trained)
    assert strings(outputs["item_ids"]).tolist() == [ids, ids]
    np.testing.assert_allclose(outputs["scores"].numpy(), [scores, scores], atol=1e-6)
    np.testing.assert_allclose(
        retrieval.empty_history_scores.numpy(), popularity_prior(trained.assets.item_popularity[FIRST_ITEM_INDEX:])
    )


def test_every_retrieval_signature_applies_the_rule_and_histories_keep_the_user_tower(trained, export_dir, tmp_path):
    retrieval = load_saved_model(os.path.join(export_dir, "retrieval", "1"))
    ids, _ = popular_first(trained, 4)
    with_context = retrieval.signatures["retrieve_with_context"](
        history=tf.constant(EMPTY_ROWS), scenario=tf.constant(["web", ""]), user_age=tf.constant(["old", ""]), k=4
    )
    assert strings(with_context["item_ids"]).tolist() == [ids, ids]
    reranked = retrieval.signatures["retrieve_reranked"](
        history=tf.constant(EMPTY_ROWS), k=tf.constant(4), diversity=tf.constant(0.0), tail_boost=tf.constant(0.0)
    )
    assert strings(reranked["item_ids"]).tolist() == [ids, ids]
    # A history is scored by its user vector: the same list as a module built without the rule.
    histories = tf.constant(WITH_HISTORY + EMPTY_ROWS[:1])
    served = retrieval.signatures["serving_default"](history=histories)
    plain_module = RetrievalModule(history_encoder(trained, tmp_path), MAX_K)  # no rule
    reference = plain_module.retrieve({"history": histories})
    assert strings(served["item_ids"])[0].tolist() == strings(reference["item_ids"])[0].tolist()
    np.testing.assert_allclose(served["scores"].numpy()[0], reference["scores"].numpy()[0], atol=1e-5)
    assert strings(served["item_ids"])[1].tolist() != strings(reference["item_ids"])[1].tolist()


def test_recommend_serves_a_history_of_unknown_ids_popular_items(trained, export_dir):
    recommendations = SavedModelRecommender(export_dir).recommend(["no-such-item"], k=3)
    assert [r.item_id for r in recommendations] == popular_first(trained, 3)[0]


def test_the_model_answer_holds_no_rule_and_scores_empty_histories_by_the_user_tower(model_answer, tmp_path):
    trained, export_dir = model_answer
    retrieval = load_saved_model(os.path.join(export_dir, "retrieval", "1"))
    assert not hasattr(retrieval, "empty_history_scores")
    assert ExportInfo.read(os.path.join(export_dir, "retrieval", "1")).empty_history_answer == "model"
    served = retrieval.signatures["serving_default"](history=tf.constant(EMPTY_ROWS))
    reference = RetrievalModule(history_encoder(trained, tmp_path), MAX_K).retrieve(
        {"history": tf.constant(EMPTY_ROWS)}
    )
    assert strings(served["item_ids"]).tolist() == strings(reference["item_ids"]).tolist()
    np.testing.assert_allclose(served["scores"].numpy(), reference["scores"].numpy(), atol=1e-5)
    assert strings(served["item_ids"])[0].tolist() != popular_first(trained)[0]


def test_empty_history_scores_must_hold_one_finite_score_per_item(trained, tmp_path):
    history = history_encoder(trained, tmp_path)
    num_items = len(trained.assets.item_ids)
    with pytest.raises(ValueError, match=rf"empty_history_scores must be \[{num_items}\] finite scores"):
        RetrievalModule(history, MAX_K, empty_history_scores=np.ones(num_items - 1))
    with pytest.raises(ValueError, match="finite"):
        RetrievalModule(history, MAX_K, empty_history_scores=np.full(num_items, np.nan))
