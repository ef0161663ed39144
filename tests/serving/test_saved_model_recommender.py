"""recommend(): recommendations and explanations from a copied export directory alone."""

import logging
import math
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from tfrec_llm.serving.saved_model_loading import load_saved_model
from tfrec_llm.serving.saved_model_recommender import SavedModelRecommender, recommend


@pytest.fixture(scope="module")
def copied_export(export_dir, tmp_path_factory):
    """The export moved away from everything else (no model dir next to it)."""
    directory = str(tmp_path_factory.mktemp("elsewhere") / "export")
    shutil.copytree(export_dir, directory)
    return directory


def test_recommend_returns_titled_top_items_without_history(copied_export, trained):
    history = ["m0", "m4", "m8"]
    rows = recommend(copied_export, history, k=5)
    assert len(rows) == 5
    outputs = load_saved_model(os.path.join(copied_export, "retrieval", "1")).signatures["serving_default"](
        history=tf.constant([history])
    )
    assert [row.item_id for row in rows] == [i.decode() for i in outputs["item_ids"].numpy()[0][:5]]
    np.testing.assert_allclose([row.score for row in rows], outputs["scores"].numpy()[0][:5], atol=1e-6)
    titles = dict(zip(trained.assets.item_ids, trained.assets.item_titles))
    for item_id, title, _score in rows:
        assert title == titles[item_id] and item_id not in history
    assert [row.score for row in rows] == sorted((row.score for row in rows), reverse=True)


def test_recommend_handles_empty_unknown_and_large_k(copied_export):
    recommender = SavedModelRecommender(copied_export)
    assert len(recommender.recommend([], k=3)) == 3
    assert len(recommender.recommend(["not-an-item"], k=3)) == 3
    assert len(recommender.recommend(["m1"], k=500)) == 10  # K fixed at export (max_k=10)
    with pytest.raises(ValueError, match="k must be >= 1"):
        recommender.recommend(["m1"], k=0)


def test_explain_names_the_history_item_whose_removal_lowers_the_score_most(copied_export):
    history = ["m0", "m5", "m9", "unknown-item"]
    rows = recommend(copied_export, history, k=4, explain=True)
    users = load_saved_model(os.path.join(copied_export, "user_encoder", "1")).signatures["serving_default"]
    encode = load_saved_model(os.path.join(copied_export, "item_encoder", "1")).signatures["serving_default"]
    known = ["m0", "m5", "m9"]
    without = [[h for h in known if h != removed] for removed in known]
    user_vectors = users(history=tf.constant([known] + [row + [""] for row in without]))["user_embedding"].numpy()
    for row in rows:
        vector = encode(item_ids=tf.constant([row.item_id]))["item_embedding"].numpy()[0]
        scores = user_vectors @ vector
        assert row.score == pytest.approx(float(scores[0]), abs=1e-5)  # the explained score is the served one
        drops = scores[0] - scores[1:]
        assert row.because_of_item_id == known[int(np.argmax(drops))]
        assert row.score_drop == pytest.approx(float(drops.max()), abs=1e-5)
        assert [item for item, _ in row.contributors] == [known[j] for j in np.argsort(-drops)]
    no_known = recommend(copied_export, ["unknown-item"], k=2, explain=True)
    assert [r.because_of_item_id for r in no_known] == ["", ""] and all(math.isnan(r.score_drop) for r in no_known)


def test_explain_lists_title_words_shared_with_the_top_contributor(copied_export):
    rows = recommend(copied_export, ["m2", "m6", "m10"], k=5, explain=True)
    titles = SavedModelRecommender(copied_export).titles
    for row in rows:
        expected = [w for w in row.title.split() if w.isalpha() and w in titles[row.because_of_item_id].split()]
        assert row.shared_words == ", ".join(dict.fromkeys(expected))
    assert any(row.shared_words for row in rows)  # same-topic titles share topic words ("tale" at least)


def test_diversity_and_tail_boost_rerank_through_the_exported_signature(copied_export):
    recommender = SavedModelRecommender(copied_export)
    history = ["m0", "m4"]
    plain = recommender.recommend(history, k=6)
    assert recommender.recommend(history, k=6, diversity=0.0, tail_boost=0.0) == plain
    retrieval = load_saved_model(os.path.join(copied_export, "retrieval", "1"))
    outputs = retrieval.signatures["retrieve_reranked"](
        history=tf.constant([history]), k=tf.constant(6), diversity=tf.constant(0.8), tail_boost=tf.constant(0.5)
    )
    diverse = recommender.recommend(history, k=6, diversity=0.8, tail_boost=0.5)
    assert [r.item_id for r in diverse] == [i.decode() for i in outputs["item_ids"].numpy()[0]]
    assert [r.item_id for r in diverse] != [r.item_id for r in plain]
    with pytest.raises(ValueError, match=r"diversity \(MMR lambda\) must be a number in \[0, 1\]"):
        recommender.recommend(history, k=6, diversity=1.2)


def test_cli_recommend_rejects_a_bad_diversity(copied_export, capsys):
    from tfrec_llm.cli import main  # pylint: disable=import-outside-toplevel

    assert main(["recommend", "--export-dir", copied_export, "--history", "m0", "--diversity", "-0.5"]) == 2
    assert "diversity (MMR lambda) must be a number in [0, 1]" in capsys.readouterr().err


def test_recommend_sees_items_added_to_the_export(export_dir, tmp_path):
    from tfrec_llm.serving.catalog.catalog_growth import add_items  # pylint: disable=import-outside-toplevel

    directory = str(tmp_path / "export")
    shutil.copytree(export_dir, directory)
    csv_path = tmp_path / "new.csv"
    csv_path.write_text("item_id,title\nnew_crime,detective murder crime saga\n", encoding="utf-8")
    add_items(directory, str(csv_path), validate=False)
    rows = recommend(directory, ["m2", "m6", "m10"], k=10)
    assert ("new_crime", "detective murder crime saga") in [(r.item_id, r.title) for r in rows]
    old, grown = (
        load_saved_model(os.path.join(d, "retrieval", "1" if d == export_dir else "2")) for d in (export_dir, directory)
    )
    np.testing.assert_array_equal(grown.tailness.numpy(), np.append(old.tailness.numpy(), 1.0))  # never seen: tail


def _cli_rows(capsys, export, history):
    from tfrec_llm.cli import main  # pylint: disable=import-outside-toplevel

    capsys.readouterr()
    assert main(["recommend", "--export-dir", export, "--history", history, "--k", "4"]) == 0
    return capsys.readouterr().out.splitlines()


def _as_lines(rows):
    return ["\t".join(str(cell) for cell in row) for row in rows]


def test_cli_recommend_names_unknown_history_ids_and_ignores_them(copied_export, capsys, caplog):
    recommender = SavedModelRecommender(copied_export)
    with caplog.at_level(logging.WARNING):
        printed = _cli_rows(capsys, copied_export, "m0,x9,y7,x9")
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "3 of 4 history ids are unknown to the model and were ignored: x9, y7"
    ]
    assert printed == _as_lines(recommender.recommend(["m0"], k=4))


def test_cli_recommend_says_a_history_of_unknown_ids_gets_the_no_history_answer(copied_export, capsys, caplog):
    recommender = SavedModelRecommender(copied_export)
    with caplog.at_level(logging.WARNING):
        printed = _cli_rows(capsys, copied_export, "x9,y7")
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.startswith("No history id is known to the model (x9, y7): this is the no-history answer")
    assert printed == _as_lines(recommender.recommend([], k=4))
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        _cli_rows(capsys, copied_export, "m0,m4")
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]  # known ids: nothing to say
