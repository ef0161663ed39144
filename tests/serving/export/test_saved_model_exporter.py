"""Exported SavedModels reproduce the in-memory model; layout, versions, op sets, warm-up."""

import io
import logging
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from serving_fixtures import MAX_HISTORY, with_empty_history_answer
from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX, OOV_SLOT, UNKNOWN_INDEX
from tfrec_llm.training.model_evaluation import catalog_embeddings, query_embeddings
from tfrec_llm.serving.export import model_version_writer
from tfrec_llm.serving.export.export_info import ExportInfo
from tfrec_llm.serving.export.export_layout import model_versions
from tfrec_llm.serving.catalog.item_catalog_file import read_item_catalog
from tfrec_llm.serving.export.model_server_config import read_model_server_config
from tfrec_llm.serving.export.exporter import MODEL_NAMES, export_models
from tfrec_llm.serving.saved_model_loading import load_saved_model
from tfrec_llm.serving.export.saved_model_ops import TF_TEXT_2_12_TOKENIZER_OPS, read_required_ops
from tfrec_llm.serving.export.warmup_request import warmup_path

MAX_K = 10  # the session export's max_k (conftest)
ATOL = 1e-4


@pytest.fixture(scope="module")
def item_table(trained):
    return catalog_embeddings(trained.model, trained.assets.num_index_rows)


def signature(export_dir, model_name, name="serving_default"):
    return load_saved_model(os.path.join(export_dir, model_name, "1")).signatures[name]


def strings(tensor):
    return np.char.decode(tensor.numpy().astype(np.bytes_), "utf-8")


def index_of(trained, item_id):
    position = np.flatnonzero(trained.assets.item_ids == item_id)
    return int(position[0]) + FIRST_ITEM_INDEX if len(position) else UNKNOWN_INDEX


def reference_users(trained, table, histories, scenarios=None, ages=None):
    """User embeddings by the in-memory model: histories compacted and cut to the last MAX_HISTORY by hand."""
    rows = np.zeros((len(histories), MAX_HISTORY), np.int32)
    for r, history in enumerate(histories):
        kept = [index_of(trained, i) for i in history if i][-MAX_HISTORY:]
        rows[r, : len(kept)] = kept
    assets = trained.assets
    scenario = [
        int(np.searchsorted(assets.scenario_values, s)) + 1 if s in assets.scenario_values else 0
        for s in (scenarios or [""] * len(histories))
    ]
    ages_vocab = assets.user_feature_values["age"]
    age = [int(np.searchsorted(ages_vocab, a)) + 1 if a in ages_vocab else 0 for a in (ages or [""] * len(histories))]
    features = {"history": rows, "scenario": np.array(scenario, np.int32), "user_age": np.array(age, np.int32)}
    return query_embeddings(trained.model, features, table)


def reference_top_k(trained, table, users, histories, k):
    scores = with_empty_history_answer(users @ table[FIRST_ITEM_INDEX:].T, histories, trained)
    for r, history in enumerate(histories):
        for item_id in history:
            if index_of(trained, item_id) >= FIRST_ITEM_INDEX:
                scores[r, index_of(trained, item_id) - FIRST_ITEM_INDEX] = -np.inf
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return trained.assets.item_ids[order], np.take_along_axis(scores, order, axis=1)


def test_export_writes_tf_serving_layout_and_models_config(export_dir):
    for name in MODEL_NAMES:
        assert model_versions(export_dir, name) == [1]
        assert os.path.exists(os.path.join(export_dir, name, "1", "saved_model.pb"))
        assert ExportInfo.read(os.path.join(export_dir, name, "1")).max_history == MAX_HISTORY
    config = read_model_server_config(export_dir)
    entries = {c.name: c.base_path for c in config.model_config_list.config}
    assert entries == {name: os.path.join(os.path.abspath(export_dir), name) for name in MODEL_NAMES}
    assert not [e for e in os.listdir(export_dir) if e.startswith(".")]  # no scratch or staging left


def test_retrieval_reproduces_the_model(export_dir, trained, item_table):
    histories = [["m0", "m4", "m8"], ["m1", "", "m5"], ["m2", "", ""]]
    outputs = signature(export_dir, "retrieval")(history=tf.constant(histories))
    expected_ids, expected_scores = reference_top_k(
        trained, item_table, reference_users(trained, item_table, histories), histories, MAX_K
    )
    np.testing.assert_allclose(outputs["scores"].numpy(), expected_scores, atol=ATOL)
    np.testing.assert_array_equal(strings(outputs["item_ids"]), expected_ids)


def test_retrieval_with_context_reads_scenario_user_features_and_k(export_dir, trained, item_table):
    histories = [["m0", "m4"], ["m3", "m7"]]
    retrieve = signature(export_dir, "retrieval", "retrieve_with_context")
    outputs = retrieve(
        history=tf.constant(histories),
        scenario=tf.constant(["web", "tv"]),
        user_age=tf.constant(["old", "young"]),
        k=tf.constant(3),
    )
    users = reference_users(trained, item_table, histories, ["web", "tv"], ["old", "young"])
    expected_ids, expected_scores = reference_top_k(trained, item_table, users, histories, 3)
    np.testing.assert_allclose(outputs["scores"].numpy(), expected_scores, atol=ATOL)
    np.testing.assert_array_equal(strings(outputs["item_ids"]), expected_ids)
    default = signature(export_dir, "retrieval")(history=tf.constant(histories))
    assert not np.allclose(default["scores"].numpy()[:, :3], outputs["scores"].numpy())  # context matters


def test_retrieval_safe_inputs(export_dir, trained, item_table):
    retrieve = signature(export_dir, "retrieval")
    empty_batch = retrieve(history=tf.zeros([0, 3], tf.string))
    assert empty_batch["item_ids"].shape == (0, MAX_K) and empty_batch["scores"].shape == (0, MAX_K)
    long_history = [f"m{i}" for i in range(0, 40, 4)]  # 10 space items > MAX_HISTORY
    histories = [["", "", ""] + [""] * 7, ["nope", "m1", "zzz"] + [""] * 7, long_history]
    outputs = retrieve(history=tf.constant(histories))
    ids, scores = strings(outputs["item_ids"]), outputs["scores"].numpy()
    assert np.isfinite(scores).all() and (ids != "").all()
    users = reference_users(trained, item_table, histories)  # long history: its last MAX_HISTORY items
    _, expected_scores = reference_top_k(trained, item_table, users, histories, MAX_K)
    np.testing.assert_allclose(scores, expected_scores, atol=ATOL)
    assert not set(ids[2]) & set(long_history)  # every history item excluded, not only the last ones
    retrieve_k = signature(export_dir, "retrieval", "retrieve_with_context")
    huge_k = retrieve_k(
        history=tf.constant([["m0"]]), scenario=tf.constant([""]), user_age=tf.constant([""]), k=tf.constant(10_000)
    )
    assert huge_k["item_ids"].shape == (1, MAX_K)
    zero_k = retrieve_k(
        history=tf.constant([["m0"]]), scenario=tf.constant([""]), user_age=tf.constant([""]), k=tf.constant(-2)
    )
    assert zero_k["item_ids"].shape == (1, 0)


def test_retrieval_k_is_capped_by_catalog_and_fills_excluded_slots(model_dir, tmp_path, trained):
    export_models(model_dir, str(tmp_path), max_k=1000, validate=False, model_names=["retrieval"])
    outputs = signature(str(tmp_path), "retrieval")(history=tf.constant([["m0", "m1", "m2"]]))
    num_items = len(trained.assets.item_ids)
    assert outputs["item_ids"].shape == (1, num_items)  # K = min(max_k, catalog size)
    ids, scores = strings(outputs["item_ids"])[0], outputs["scores"].numpy()[0]
    assert list(ids[-3:]) == ["", "", ""] and np.isneginf(scores[-3:]).all()
    assert sorted(ids[:-3]) == sorted(set(trained.assets.item_ids) - {"m0", "m1", "m2"})


def test_ranking_reproduces_the_model(export_dir, trained, item_table):
    histories = [["m0", "m4"], ["m1", ""]]
    candidates = [["m8", "m9", "unknown-id"], ["m5", "m0", "m5"]]
    outputs = signature(export_dir, "ranking")(history=tf.constant(histories), candidates=tf.constant(candidates))
    users = reference_users(trained, item_table, histories)
    candidate_vectors = item_table[[[index_of(trained, c) for c in row] for row in candidates]]
    user_vectors = np.broadcast_to(users[:, None, :], candidate_vectors.shape)
    expected = trained.model.rating_logits(tf.constant(user_vectors), tf.constant(candidate_vectors)).numpy()
    np.testing.assert_allclose(outputs["scores"].numpy(), expected, atol=ATOL)
    np.testing.assert_allclose(outputs["affinity"].numpy(), (user_vectors * candidate_vectors).sum(-1), atol=ATOL)


def test_user_and_item_encoders_reproduce_the_model(export_dir, trained, item_table):
    histories = [["m2", "m6", "m10"], ["", "", ""]]
    users = signature(export_dir, "user_encoder")(history=tf.constant(histories))["user_embedding"]
    np.testing.assert_allclose(users.numpy(), reference_users(trained, item_table, histories), atol=ATOL)
    with_context = signature(export_dir, "user_encoder", "encode_with_context")(
        history=tf.constant(histories), scenario=tf.constant(["app", "web"]), user_age=tf.constant(["young", ""])
    )
    np.testing.assert_allclose(
        with_context["user_embedding"].numpy(),
        reference_users(trained, item_table, histories, ["app", "web"], ["young", ""]),
        atol=ATOL,
    )
    ids = ["m3", "nope", "", "m47"]
    items = signature(export_dir, "item_encoder")(item_ids=tf.constant(ids))["item_embedding"].numpy()
    np.testing.assert_allclose(items, item_table[[index_of(trained, i) if i else 0 for i in ids]], atol=ATOL)


def test_item_text_encoder_equals_item_tower_with_oov_slot(export_dir, trained):
    assets = trained.assets
    tower = trained.model.item_tower
    indices = np.arange(FIRST_ITEM_INDEX, FIRST_ITEM_INDEX + 6)
    saved_slots = tower.id_slots.numpy()
    tower.id_slots.assign(np.full_like(saved_slots, OOV_SLOT))
    try:
        expected = trained.model.item_embeddings(tf.constant(indices), training=False).numpy()
    finally:
        tower.id_slots.assign(saved_slots)
    texts = assets.item_texts[indices - FIRST_ITEM_INDEX]
    encoded = signature(export_dir, "item_text_encoder")(text=tf.constant(texts))["item_embedding"].numpy()
    np.testing.assert_allclose(encoded, expected, atol=ATOL)
    empty = signature(export_dir, "item_text_encoder")(text=tf.zeros([0], tf.string))["item_embedding"]
    assert empty.shape == (0, expected.shape[1])


def test_op_sets_are_core_tf_except_text_encoder_tokenizer(export_dir):
    for name in ("retrieval", "ranking", "user_encoder", "item_encoder"):
        ops = read_required_ops(os.path.join(export_dir, name, "1"))
        assert "TopKV2" in ops or name != "retrieval"
        assert [op for op in ops if not hasattr(tf.raw_ops, op)] == [], name
    text_ops = read_required_ops(os.path.join(export_dir, "item_text_encoder", "1"))
    assert "RoundRobinTrim" not in text_ops and "TFText>RoundRobinTrim" not in text_ops
    outside_core = {op for op in text_ops if not hasattr(tf.raw_ops, op)}
    assert outside_core and outside_core <= TF_TEXT_2_12_TOKENIZER_OPS


def test_warmup_files_parse_as_prediction_logs(export_dir):
    for name in MODEL_NAMES:
        records = list(tf.data.TFRecordDataset(warmup_path(os.path.join(export_dir, name, "1"))))
        logs = [prediction_log_pb2.PredictionLog.FromString(r.numpy()) for r in records]
        assert logs and all(log.predict_log.request.model_spec.name == name for log in logs)
        assert "serving_default" in {log.predict_log.request.model_spec.signature_name for log in logs}
        loaded = load_saved_model(os.path.join(export_dir, name, "1"))
        for log in logs:  # every warm-up request runs on the exported signature
            request = log.predict_log.request
            inputs = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
            assert loaded.signatures[request.model_spec.signature_name](**inputs)


def test_item_catalog_file_lists_ids_and_titles(export_dir, trained):
    ids, titles = read_item_catalog(os.path.join(export_dir, "retrieval", "1"))
    np.testing.assert_array_equal(ids, trained.assets.item_ids)
    np.testing.assert_array_equal(titles, trained.assets.item_titles)


def test_versions_increment_and_are_never_overwritten(model_dir, tmp_path):
    export_dir = str(tmp_path)
    first = export_models(model_dir, export_dir, validate=False, model_names=["item_encoder"])
    second = export_models(model_dir, export_dir, validate=False, model_names=["item_encoder"])
    assert first["item_encoder"].endswith(os.path.join("item_encoder", "1"))
    assert second["item_encoder"].endswith(os.path.join("item_encoder", "2"))
    stamp = os.path.getmtime(os.path.join(first["item_encoder"], "saved_model.pb"))
    with pytest.raises(FileExistsError, match="never overwritten"):
        export_models(model_dir, export_dir, version=1, validate=False, model_names=["item_encoder"])
    assert os.path.getmtime(os.path.join(first["item_encoder"], "saved_model.pb")) == stamp
    assert sorted(os.listdir(os.path.join(export_dir, "item_encoder"))) == ["1", "2"]


def test_failed_validation_publishes_nothing(model_dir, tmp_path, monkeypatch):
    def failing_validation(saved_model_dir, module):
        raise RuntimeError("validation failed on purpose")

    monkeypatch.setattr(model_version_writer, "validate_saved_model", failing_validation)
    with pytest.raises(RuntimeError, match="on purpose"):
        export_models(model_dir, str(tmp_path), validate=True, model_names=["item_encoder"])
    assert os.listdir(os.path.join(str(tmp_path), "item_encoder")) == []  # no version, no staging dir


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_export_reports_one_line_off_a_terminal_and_a_bar_over_the_models_on_one(
    model_dir, tmp_path, monkeypatch, caplog
):
    validated = []
    monkeypatch.setattr(model_version_writer, "validate_saved_model", lambda path, module: validated.append(path))
    names = ["user_encoder", "item_encoder"]
    with caplog.at_level(logging.DEBUG):
        export_models(model_dir, str(tmp_path / "piped"), validate=True, model_names=names)
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.INFO and r.name.startswith(("tfrec_llm.progress", "tfrec_llm.serving"))
    ]
    assert len(validated) == 2 and len(lines) == 1
    assert lines[0].startswith(
        f"Exported 2 models to {tmp_path / 'piped'} (each validated in a fresh TensorFlow process) in "
    )
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    export_models(model_dir, str(tmp_path / "terminal"), validate=True, model_names=names)
    drawn = terminal.getvalue()
    assert "Exporting and validating models" in drawn and "2/2" in drawn
    assert all(name in drawn for name in names), repr(drawn[-600:])  # the model being written is named beside the bar


def test_unknown_model_name_is_rejected(model_dir, tmp_path):
    with pytest.raises(ValueError, match="Unknown model names \\['retreival'\\]"):
        export_models(model_dir, str(tmp_path), model_names=["retreival"])


def test_saved_model_cli_shows_documented_signatures(export_dir):
    command = [
        sys.executable,
        "-m",
        "tensorflow.python.tools.saved_model_cli",
        "show",
        "--all",
        "--dir",
        os.path.join(export_dir, "retrieval", "1"),
    ]
    shown = subprocess.run(
        command, capture_output=True, text=True, check=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    ).stdout
    for text in (
        "signature_def['serving_default']",
        "signature_def['retrieve_with_context']",
        "inputs['history']",
        "inputs['scenario']",
        "inputs['user_age']",
        "inputs['k']",
        "outputs['item_ids']",
        "outputs['scores']",
    ):
        assert text in shown


def test_finetuned_text_encoder_is_exported_with_its_trained_bert(tmp_path):
    from serving_fixtures import train_topic_model  # pylint: disable=import-outside-toplevel
    from tfrec_llm.training.trained_model import TrainedModel  # pylint: disable=import-outside-toplevel

    model_dir = train_topic_model(str(tmp_path / "model"), {"text": {"mode": "finetune"}, "train": {"epochs": 1}})
    export_models(model_dir, str(tmp_path / "export"), validate=False, model_names=["item_text_encoder"])
    finetuned = TrainedModel.load(model_dir)
    tower = finetuned.model.item_tower
    indices = np.arange(FIRST_ITEM_INDEX, FIRST_ITEM_INDEX + 4)
    tower.id_slots.assign(np.full_like(tower.id_slots.numpy(), OOV_SLOT))
    expected = finetuned.model.item_embeddings(tf.constant(indices), training=False).numpy()
    texts = finetuned.assets.item_texts[indices - FIRST_ITEM_INDEX]
    encoded = signature(str(tmp_path / "export"), "item_text_encoder")(text=tf.constant(texts))["item_embedding"]
    np.testing.assert_allclose(encoded.numpy(), expected, atol=ATOL)


@pytest.mark.parametrize("cold_item_ids", ["none", "from_text"])
def test_two_path_model_reloads_and_exports_what_it_scores(tmp_path, cold_item_ids):
    """fusion "paths": 2d-wide embeddings; retrieval and the text encoder reproduce the reloaded model."""
    from serving_fixtures import train_topic_model  # pylint: disable=import-outside-toplevel
    from tfrec_llm.training.trained_model import TrainedModel  # pylint: disable=import-outside-toplevel

    settings = {"model": {"fusion": "paths", "cold_item_ids": cold_item_ids}, "train": {"epochs": 1}}
    model_dir = train_topic_model(str(tmp_path / "model"), settings)
    export_dir = str(tmp_path / "export")
    export_models(model_dir, export_dir, max_k=MAX_K, validate=False, model_names=["retrieval", "item_text_encoder"])
    trained = TrainedModel.load(model_dir)
    table = catalog_embeddings(trained.model, trained.assets.num_index_rows)
    assert table.shape[1] == 2 * trained.config.model.embedding_dim
    assert ExportInfo.read(os.path.join(export_dir, "retrieval", "1")).embedding_dim == table.shape[1]
    histories = [["m0", "m4", "m8"], ["m2", "", ""]]
    outputs = signature(export_dir, "retrieval")(history=tf.constant(histories))
    expected_ids, expected_scores = reference_top_k(
        trained, table, reference_users(trained, table, histories), histories, MAX_K
    )
    np.testing.assert_allclose(outputs["scores"].numpy(), expected_scores, atol=ATOL)
    np.testing.assert_array_equal(strings(outputs["item_ids"]), expected_ids)
    tower = trained.model.item_tower
    indices = np.arange(FIRST_ITEM_INDEX, FIRST_ITEM_INDEX + 4)
    tower.id_slots.assign(np.full_like(tower.id_slots.numpy(), OOV_SLOT))  # every item without its id row
    expected = trained.model.item_embeddings(tf.constant(indices), training=False).numpy()
    texts = trained.assets.item_texts[indices - FIRST_ITEM_INDEX]
    encoded = signature(export_dir, "item_text_encoder")(text=tf.constant(texts))["item_embedding"].numpy()
    np.testing.assert_allclose(encoded, expected, atol=ATOL)
    id_half = np.abs(encoded[:, : table.shape[1] // 2]).sum(axis=1)
    if cold_item_ids == "none":
        np.testing.assert_allclose(id_half, 0.0)  # no id half: the text alone
    else:
        assert np.all(id_half > 0.1)  # the id half its text maps to
