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


def test_explain_names_the_most_similar_history_item(copied_export):
    history = ["m0", "m5", "unknown-item"]
    rows = recommend(copied_export, history, k=4, explain=True)
    encode = load_saved_model(os.path.join(copied_export, "item_encoder", "1")).signatures["serving_default"]
    known = ["m0", "m5"]
    known_vectors = encode(item_ids=tf.constant(known))["item_embedding"].numpy()
    for row in rows:
        vector = encode(item_ids=tf.constant([row.item_id]))["item_embedding"].numpy()[0]
        similarities = known_vectors @ vector
        assert row.because_of_item_id == known[int(np.argmax(similarities))]
        assert row.similarity == pytest.approx(float(similarities.max()), abs=1e-5)
    no_known = recommend(copied_export, ["unknown-item"], k=2, explain=True)
    assert [r.because_of_item_id for r in no_known] == ["", ""] and all(math.isnan(r.similarity) for r in no_known)


def test_recommend_sees_items_added_to_the_export(export_dir, tmp_path):
    from tfrec_llm.serving.catalog.catalog_growth import add_items  # pylint: disable=import-outside-toplevel

    directory = str(tmp_path / "export")
    shutil.copytree(export_dir, directory)
    csv_path = tmp_path / "new.csv"
    csv_path.write_text("item_id,title\nnew_crime,detective murder crime saga\n", encoding="utf-8")
    add_items(directory, str(csv_path), validate=False)
    rows = recommend(directory, ["m2", "m6", "m10"], k=10)
    assert ("new_crime", "detective murder crime saga") in [(r.item_id, r.title) for r in rows]


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
