"""add_items: new items embedded from text, appended to every item-table model as new versions."""

import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from serving_fixtures import TOPIC_WORDS
from tfrec_llm.serving.catalog.catalog_growth import add_items, read_new_items
from tfrec_llm.serving.export.export_info import ExportInfo
from tfrec_llm.serving.export.export_layout import model_versions
from tfrec_llm.serving.catalog.item_catalog_file import read_item_catalog
from tfrec_llm.serving.saved_model_loading import load_saved_model
from tfrec_llm.serving.catalog.serving_catalog import CatalogError

NEW_ITEMS = [(f"new_{words[0]}", f"{words[1]} {words[2]} {words[0]} saga") for words in TOPIC_WORDS]


def write_csv(path, rows, header="item_id,title"):
    with open(path, "w", encoding="utf-8") as f:
        f.write(header + "\n" + "".join(",".join(row) + "\n" for row in rows))
    return str(path)


@pytest.fixture(scope="module")
def grown_export(export_dir, tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("grown") / "export")
    shutil.copytree(export_dir, directory)
    csv_path = write_csv(tmp_path_factory.mktemp("csv") / "new.csv", NEW_ITEMS)
    path = add_items(directory, csv_path, validate=False)
    return directory, path


def test_add_items_writes_new_versions_of_every_item_table_model(grown_export, export_dir):
    directory, path = grown_export
    assert path == os.path.join(directory, "retrieval", "2")
    for name in ("retrieval", "ranking", "user_encoder", "item_encoder"):
        assert model_versions(directory, name) == [1, 2]
        ids, _ = read_item_catalog(os.path.join(directory, name, "2"))
        assert list(ids[-4:]) == [item_id for item_id, _ in NEW_ITEMS]
        info = ExportInfo.read(os.path.join(directory, name, "2"))
        assert info.added_items == 4 and info.num_items == len(ids)
    assert model_versions(directory, "item_text_encoder") == [1]
    assert model_versions(export_dir, "retrieval") == [1]  # the source export is untouched


def test_new_item_embeddings_are_the_text_encoder_outputs(grown_export):
    directory, _ = grown_export
    texts = [text for _, text in NEW_ITEMS]
    from_text = (
        load_saved_model(os.path.join(directory, "item_text_encoder", "1"))
        .signatures["serving_default"](text=tf.constant(texts))["item_embedding"]
        .numpy()
    )
    from_table = (
        load_saved_model(os.path.join(directory, "item_encoder", "2"))
        .signatures["serving_default"](item_ids=tf.constant([item_id for item_id, _ in NEW_ITEMS]))["item_embedding"]
        .numpy()
    )
    np.testing.assert_allclose(from_table, from_text, atol=1e-6)


def test_new_item_is_retrieved_for_a_history_of_its_topic(grown_export):
    directory, _ = grown_export
    retrieve = load_saved_model(os.path.join(directory, "retrieval", "2")).signatures["retrieve_with_context"]
    new_ids = [item_id for item_id, _ in NEW_ITEMS]
    for topic, new_id in enumerate(new_ids):
        history = [[f"m{topic + 4 * j}" for j in range(3)]]  # items m{topic}, m{topic+4}, ... share the topic
        outputs = retrieve(
            history=tf.constant(history), scenario=tf.constant([""]), user_age=tf.constant([""]), k=tf.constant(1000)
        )
        ranked = [i.decode() for i in outputs["item_ids"].numpy()[0]]
        new_ranks = [ranked.index(i) if i in ranked else len(ranked) for i in new_ids]
        assert new_ranks[topic] == min(new_ranks), (new_id, new_ranks)


def test_old_items_keep_their_scores_after_growth(grown_export, export_dir):
    directory, _ = grown_export
    history = tf.constant([["m0", "m4", "m8"]])
    before = load_saved_model(os.path.join(export_dir, "ranking", "1")).signatures["serving_default"](
        history=history, candidates=tf.constant([["m1", "m12"]])
    )
    after = load_saved_model(os.path.join(directory, "ranking", "2")).signatures["serving_default"](
        history=history, candidates=tf.constant([["m1", "m12"]])
    )
    np.testing.assert_allclose(after["scores"].numpy(), before["scores"].numpy(), atol=1e-5)
    np.testing.assert_allclose(after["affinity"].numpy(), before["affinity"].numpy(), atol=1e-5)


def test_the_grown_retrieval_ranks_new_items_last_for_a_request_without_history(grown_export, export_dir):
    """The empty-history rule (popularity, the default) gives the new items a prior of 0: the list stays."""
    directory, _ = grown_export
    before = load_saved_model(os.path.join(export_dir, "retrieval", "1"))
    after = load_saved_model(os.path.join(directory, "retrieval", "2"))
    known = before.empty_history_scores.numpy()
    assert ExportInfo.read(os.path.join(directory, "retrieval", "2")).empty_history_answer == "popularity"
    np.testing.assert_array_equal(
        after.empty_history_scores.numpy(), np.concatenate([known, np.zeros(len(NEW_ITEMS), np.float32)])
    )
    empty = tf.constant([["", ""]])
    np.testing.assert_array_equal(
        after.signatures["serving_default"](history=empty)["item_ids"].numpy(),
        before.signatures["serving_default"](history=empty)["item_ids"].numpy(),
    )


def test_duplicate_item_is_rejected_and_nothing_is_written(export_dir, tmp_path):
    directory = str(tmp_path / "export")
    shutil.copytree(export_dir, directory)
    csv_path = write_csv(tmp_path / "dup.csv", [("m3", "crime again")])
    with pytest.raises(CatalogError, match=r"already in the catalog: \['m3'\]"):
        add_items(directory, csv_path, validate=False)
    assert model_versions(directory, "retrieval") == [1]


def test_read_new_items_joins_text_fields_and_falls_back_to_the_id(tmp_path):
    path = write_csv(
        tmp_path / "items.csv",
        [("a", "Alien", "Sci-Fi"), ("b", "", ""), ("c", "Heat", "")],
        header="item_id,title,genres",
    )
    items = read_new_items(path, text_fields=None)
    assert items.texts.tolist() == ["Alien. Sci-Fi", "b", "Heat"]
    assert items.titles.tolist() == ["Alien", "b", "Heat"]
    only_genres = read_new_items(path, text_fields=["genres"])
    assert only_genres.texts.tolist() == ["Sci-Fi", "b", "c"]


def test_read_new_items_explains_bad_files(tmp_path):
    with pytest.raises(ValueError, match="needs an 'item_id' column"):
        read_new_items(write_csv(tmp_path / "a.csv", [("x", "y")], header="movieId,title"), None)
    with pytest.raises(ValueError, match=r"missing columns \['description'\]"):
        read_new_items(write_csv(tmp_path / "b.csv", [("x", "y")]), ["title", "description"])
    with pytest.raises(ValueError, match="no items"):
        read_new_items(write_csv(tmp_path / "c.csv", []), None)
    with pytest.raises(CatalogError, match="Duplicated item ids"):
        read_new_items(write_csv(tmp_path / "d.csv", [("x", "y"), ("x", "z")]), None)


def test_add_items_needs_an_export(tmp_path):
    with pytest.raises(FileNotFoundError, match="No exported versions of 'retrieval'"):
        add_items(str(tmp_path), str(tmp_path / "new.csv"))
    with pytest.raises(ValueError, match="model_name must be one of"):
        add_items(str(tmp_path), str(tmp_path / "new.csv"), model_name="item_text_encoder")


def test_text_requests_find_items_added_to_the_export(grown_export):
    from tfrec_llm.queries.retriever import TextQueryRetriever  # pylint: disable=import-outside-toplevel

    directory, _ = grown_export
    retriever = TextQueryRetriever.from_export(directory)
    for item_id, text in NEW_ITEMS:
        # The request is the new item's own text: its embedding is the item's, cosine 1.
        best = retriever.search(text, k=1)[0]
        assert best.item_id == item_id and best.score == pytest.approx(1.0, abs=1e-5)


def test_the_text_retrieval_export_grows_with_the_catalog(grown_export):
    directory, _ = grown_export
    assert model_versions(directory, "text_retrieval") == [1, 2]
    serve = load_saved_model(os.path.join(directory, "text_retrieval", "2")).signatures["serving_default"]
    texts = [text for _, text in NEW_ITEMS]
    best = [row[0].decode() for row in serve(query=tf.constant(texts))["item_ids"].numpy()]
    assert best == [item_id for item_id, _ in NEW_ITEMS]


def test_the_grown_text_retrieval_keeps_its_personal_signature(grown_export):
    """Version 2 keeps retrieve_personal over the grown table: at weight 0 a new item's text finds that item."""
    directory, _ = grown_export
    personal = load_saved_model(os.path.join(directory, "text_retrieval", "2")).signatures["retrieve_personal"]
    texts = [text for _, text in NEW_ITEMS]
    outputs = personal(
        query=tf.constant(texts),
        history=tf.constant([["m1"]] * len(texts)),
        history_weight=tf.constant(0.0),
        k=tf.constant(1),
        text_similarity_weight=tf.constant(0.0),
    )
    assert [row[0].decode() for row in outputs["item_ids"].numpy()] == [item_id for item_id, _ in NEW_ITEMS]
    blended = personal(
        query=tf.constant(texts[:1]),
        history=tf.constant([["m1"]]),
        history_weight=tf.constant(1.0),
        k=tf.constant(3),
        text_similarity_weight=tf.constant(0.0),
    )
    assert blended["item_ids"].shape == (1, 3)


def test_the_grown_text_retrieval_appends_the_new_items_bert_vectors(grown_export, export_dir):
    """The second table (BERT vectors) grows with the catalog: old rows kept, new rows the new texts' own
    vectors, so a new item's own text ranks it first by BERT similarity alone."""
    directory, _ = grown_export
    old = load_saved_model(os.path.join(export_dir, "text_retrieval", "1"))
    grown = load_saved_model(os.path.join(directory, "text_retrieval", "2"))
    table, before = grown.text_features.numpy(), old.text_features.numpy()
    texts = [text for _, text in NEW_ITEMS]
    assert table.shape == (before.shape[0] + len(NEW_ITEMS), before.shape[1])
    np.testing.assert_allclose(table[: len(before)], before, atol=1e-6)
    own = old.text_encoder.encode_text_features({"text": tf.constant(texts)})["text_features"].numpy()
    np.testing.assert_allclose(table[len(before) :], own, atol=1e-5)
    outputs = grown.signatures["retrieve_personal"](
        query=tf.constant(texts),
        history=tf.constant([[""]] * len(texts)),
        history_weight=tf.constant(0.0),
        k=tf.constant(1),
        text_similarity_weight=tf.constant(1e4),
    )
    assert [row[0].decode() for row in outputs["item_ids"].numpy()] == [item_id for item_id, _ in NEW_ITEMS]


def test_the_grown_text_retrieval_gives_new_items_a_popularity_prior_of_0(grown_export, export_dir):
    """New items had no training interactions: prior 0, the old items' prior kept; retrieve_profile serves
    the grown catalog."""
    directory, _ = grown_export
    before = load_saved_model(os.path.join(export_dir, "text_retrieval", "1")).popularity_prior.numpy()
    grown = load_saved_model(os.path.join(directory, "text_retrieval", "2"))
    np.testing.assert_allclose(grown.popularity_prior.numpy(), np.concatenate([before, np.zeros(len(NEW_ITEMS))]))
    outputs = grown.signatures["retrieve_profile"](
        query=tf.constant([NEW_ITEMS[0][1]]),
        history=tf.constant([[""]]),
        history_weight=tf.constant(0.0),
        k=tf.constant(1),
        text_similarity_weight=tf.constant(1e4),
        popularity_weight=tf.constant(0.5),
    )
    assert outputs["item_ids"].numpy()[0][0].decode() == NEW_ITEMS[0][0]
