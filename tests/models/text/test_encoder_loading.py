"""Tests for resolving `--text-encoder SPEC` into a TextEncoder.

A tiny Hugging Face BERT checkpoint is written by the test itself (config,
vocabulary, tokenizer config and safetensors weights under HF `BertModel`
names), so loading local HF checkpoints is tested offline.
"""

import json
import logging
import os

import keras_hub
import numpy as np
import pytest
from tiny_fixtures import TINY_VOCABULARY, make_tiny_config, make_tiny_encoder
from safetensors.numpy import save_file

from tfrec_llm.experiment_config import DEFAULT_TEXT_ENCODER, TextConfig
from tfrec_llm.models.text import encoder_loading
from tfrec_llm.models.text.encoder_loading import (
    TextEncoderError,
    learn_word_piece_vocabulary,
    load_text_encoder,
    save_text_encoder,
)

HF_HIDDEN = 8
HF_INTERMEDIATE = 16
HF_MAX_POSITIONS = 16
HF_NUM_LAYERS = 1
MINILM_DIR_VARIABLE = "TFREC_LLM_MINILM_DIR"


def _hf_bert_tensors(prefix, rng):
    """Random weights under the names of a Hugging Face `BertModel` state dict."""

    def dense(name, out_dim, in_dim):
        return {f"{name}.weight": rng.normal(size=(out_dim, in_dim)), f"{name}.bias": rng.normal(size=out_dim)}

    def layer_norm(name):
        return {f"{name}.weight": 1.0 + rng.normal(size=HF_HIDDEN) * 0.1, f"{name}.bias": rng.normal(size=HF_HIDDEN)}

    tensors = {
        "embeddings.word_embeddings.weight": rng.normal(size=(len(TINY_VOCABULARY), HF_HIDDEN)),
        "embeddings.position_embeddings.weight": rng.normal(size=(HF_MAX_POSITIONS, HF_HIDDEN)),
        "embeddings.token_type_embeddings.weight": rng.normal(size=(2, HF_HIDDEN)),
        **layer_norm("embeddings.LayerNorm"),
        **dense("pooler.dense", HF_HIDDEN, HF_HIDDEN),
    }
    for i in range(HF_NUM_LAYERS):
        layer = f"encoder.layer.{i}"
        for part in ("query", "key", "value"):
            tensors.update(dense(f"{layer}.attention.self.{part}", HF_HIDDEN, HF_HIDDEN))
        tensors.update(dense(f"{layer}.attention.output.dense", HF_HIDDEN, HF_HIDDEN))
        tensors.update(layer_norm(f"{layer}.attention.output.LayerNorm"))
        tensors.update(dense(f"{layer}.intermediate.dense", HF_INTERMEDIATE, HF_HIDDEN))
        tensors.update(dense(f"{layer}.output.dense", HF_HIDDEN, HF_INTERMEDIATE))
        tensors.update(layer_norm(f"{layer}.output.LayerNorm"))
    return {prefix + name: value.astype(np.float32) for name, value in tensors.items()}


def write_hf_bert_checkpoint(directory, prefix=""):
    """Writes a tiny HF BERT checkpoint directory; returns its tensors."""
    os.makedirs(directory, exist_ok=True)
    config = {
        "model_type": "bert",
        "architectures": ["BertModel"],
        "vocab_size": len(TINY_VOCABULARY),
        "hidden_size": HF_HIDDEN,
        "num_hidden_layers": HF_NUM_LAYERS,
        "num_attention_heads": 2,
        "intermediate_size": HF_INTERMEDIATE,
        "max_position_embeddings": HF_MAX_POSITIONS,
        "type_vocab_size": 2,
        "hidden_act": "gelu",
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
    }
    with open(os.path.join(directory, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f)
    with open(os.path.join(directory, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"do_lower_case": True, "tokenizer_class": "BertTokenizer"}, f)
    with open(os.path.join(directory, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(TINY_VOCABULARY) + "\n")
    tensors = _hf_bert_tensors(prefix, np.random.default_rng(7))
    save_file(tensors, os.path.join(directory, "model.safetensors"))
    return tensors


@pytest.mark.parametrize("prefix", ["", "bert."])
def test_loads_a_local_hugging_face_bert_checkpoint(tmp_path, prefix):
    tensors = write_hf_bert_checkpoint(str(tmp_path / "hf"), prefix)
    encoder = load_text_encoder(str(tmp_path / "hf"), [], make_tiny_config().text)
    assert encoder.pretrained
    assert encoder.source == str(tmp_path / "hf")
    assert encoder.hidden_dim == HF_HIDDEN
    assert encoder.backbone.num_layers == HF_NUM_LAYERS
    galaxy = TINY_VOCABULARY.index("galaxy")
    embeddings = encoder.backbone.get_layer("token_embedding").embeddings.numpy()
    np.testing.assert_array_equal(embeddings[galaxy], tensors[prefix + "embeddings.word_embeddings.weight"][galaxy])
    query = encoder.backbone.get_layer("transformer_layer_0")._self_attention_layer.query_dense.bias.numpy()
    np.testing.assert_allclose(query.reshape(-1), tensors[prefix + "encoder.layer.0.attention.self.query.bias"])
    # The tokenizer reads vocab.txt and lowercases (do_lower_case).
    token_ids = encoder.tokenize(["Galaxy STAR"], sequence_length=6)
    vocabulary = list(TINY_VOCABULARY)
    assert token_ids.tolist() == [
        [vocabulary.index("[CLS]"), galaxy, vocabulary.index("star"), vocabulary.index("[SEP]"), 0, 0]
    ]
    assert encoder.encode(token_ids).shape == (1, HF_HIDDEN)


def test_saved_encoder_reloads_with_its_weights_and_provenance(tmp_path):
    encoder = make_tiny_encoder(seed=3)
    save_text_encoder(encoder, str(tmp_path / "saved"))
    reloaded = load_text_encoder(str(tmp_path / "saved"), [], make_tiny_config().text)
    assert (reloaded.pretrained, reloaded.source) == (False, "tiny-test")
    token_ids = encoder.tokenize(["space story 5", "war"], 8)
    np.testing.assert_array_equal(reloaded.tokenize(["space story 5", "war"], 8), token_ids)
    np.testing.assert_allclose(reloaded.encode(token_ids), encoder.encode(token_ids), rtol=1e-6)


def _no_network(monkeypatch):
    """Fails the test if anything would look for or fetch a checkpoint online."""

    def fail(*args, **kwargs):
        pytest.fail("the network (or a hub lookup) was tried")

    monkeypatch.setattr(encoder_loading, "hub_unreachable_reason", fail)
    monkeypatch.setattr(encoder_loading, "cached_checkpoint_dir", fail)
    monkeypatch.setattr(keras_hub.models.BertBackbone, "from_preset", fail)


@pytest.mark.parametrize("spec", [None, "", "fallback", "none"])
def test_fallback_encoder_learns_its_vocabulary_from_the_catalog(spec, caplog, monkeypatch):
    _no_network(monkeypatch)  # "none" (and null, as old config files say) never try the network
    config = make_tiny_config().text
    with caplog.at_level(logging.WARNING):
        encoder = load_text_encoder(spec, ["Space galaxy", "Love heart", ""], config, seed=1)
    assert "NOT pretrained" in caplog.text
    assert (encoder.pretrained, encoder.source) == (False, "fallback")
    assert encoder.hidden_dim == config.fallback_hidden_dim
    assert encoder.backbone.num_layers == config.fallback_num_layers
    vocabulary = encoder.tokenizer.get_vocabulary()
    assert {"space", "galaxy", "love", "heart", "[PAD]", "[CLS]", "[SEP]"} <= set(vocabulary)
    assert encoder.tokenize(["GALAXY"], 4).tolist() == [
        [encoder.tokenizer.cls_token_id, vocabulary.index("galaxy"), encoder.tokenizer.sep_token_id, 0]
    ]


def test_the_default_is_the_pretrained_minilm_and_tests_pin_the_fallback():
    assert TextConfig().encoder == DEFAULT_TEXT_ENCODER == "hf://sentence-transformers/all-MiniLM-L6-v2"
    assert make_tiny_config().text.encoder == "none"  # the suite never downloads


def _unreachable_hub(monkeypatch):
    monkeypatch.setattr(encoder_loading, "cached_checkpoint_dir", lambda repo_id: None)
    monkeypatch.setattr(
        encoder_loading,
        "hub_unreachable_reason",
        lambda repo_id: "huggingface.co cannot be reached (no route in this test)",
    )


def _failing_download(monkeypatch):
    monkeypatch.setattr(encoder_loading, "cached_checkpoint_dir", lambda repo_id: None)
    monkeypatch.setattr(encoder_loading, "hub_unreachable_reason", lambda repo_id: None)

    def fail(preset, **kwargs):
        raise OSError(f"connection reset while downloading {preset} (in this test)")

    monkeypatch.setattr(keras_hub.models.BertBackbone, "from_preset", fail)


@pytest.mark.parametrize(
    "break_the_hub, reason",
    [
        (_unreachable_hub, "cannot be reached (no route in this test)"),
        (_failing_download, "connection reset while downloading"),
    ],
)
def test_default_encoder_falls_back_with_a_warning_naming_source_and_reason(break_the_hub, reason, monkeypatch, caplog):
    break_the_hub(monkeypatch)
    with caplog.at_level(logging.WARNING):
        encoder = load_text_encoder(DEFAULT_TEXT_ENCODER, ["Space galaxy", "Love heart"], make_tiny_config().text)
    assert (encoder.pretrained, encoder.source) == (False, "fallback")
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert DEFAULT_TEXT_ENCODER in warning and reason in warning and "NOT pretrained" in warning
    assert "--text-encoder none" in warning  # how to skip the attempt


def test_another_hub_source_that_cannot_be_fetched_is_an_error_not_a_fallback(monkeypatch):
    _unreachable_hub(monkeypatch)
    with pytest.raises(
        TextEncoderError,
        match="(?s)Could not fetch the text encoder hf://someone/bert: "
        "huggingface.co cannot be reached.*local checkpoint directory",
    ):
        load_text_encoder("hf://someone/bert", ["Space galaxy"], make_tiny_config().text)


def test_a_hub_checkpoint_in_the_hugging_face_cache_loads_without_the_network(tmp_path, monkeypatch):
    from huggingface_hub import constants  # pylint: disable=import-outside-toplevel

    revision = "0123456789abcdef0123456789abcdef01234567"
    repository = tmp_path / "models--someone--tiny-bert"
    tensors = write_hf_bert_checkpoint(str(repository / "snapshots" / revision))
    (repository / "refs").mkdir()
    (repository / "refs" / "main").write_text(revision)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))

    def fail(repo_id):
        pytest.fail("the Hub was asked although the checkpoint is cached")

    monkeypatch.setattr(encoder_loading, "hub_unreachable_reason", fail)
    encoder = load_text_encoder("hf://someone/tiny-bert", [], make_tiny_config().text)
    assert (encoder.pretrained, encoder.source) == (True, "hf://someone/tiny-bert")
    galaxy = TINY_VOCABULARY.index("galaxy")
    np.testing.assert_array_equal(
        encoder.backbone.get_layer("token_embedding").embeddings.numpy()[galaxy],
        tensors["embeddings.word_embeddings.weight"][galaxy],
    )


def test_fallback_vocabulary_keeps_rare_words_whole_within_its_size():
    texts = ["Toy Story (1995)", "GoldenEye (1995)", "Four Rooms (1995)"]
    vocabulary = learn_word_piece_vocabulary(texts, vocabulary_size=100)
    assert vocabulary[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert {"toy", "story", "goldeneye", "four", "rooms", "1995", "(", ")"} <= set(vocabulary)
    small = learn_word_piece_vocabulary(texts, vocabulary_size=40)
    assert len(small) <= 40 and "[MASK]" in small


WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]


def test_fallback_vocabulary_learns_from_a_seeded_sample_beyond_max_texts(monkeypatch):
    texts = [f"{word} film" for word in WORDS]
    seen = []
    real_count = encoder_loading.wordpiece_learner.count_words

    def counting(words):
        seen.append(sum(int(batch.shape[0]) for batch in words))
        return real_count(words)

    monkeypatch.setattr(encoder_loading.wordpiece_learner, "count_words", counting)
    vocabulary = learn_word_piece_vocabulary(texts, vocabulary_size=200, max_texts=3, seed=1)
    assert seen == [3]  # the learner read 3 texts, not 8
    assert len(set(WORDS) & set(vocabulary)) == 3 and "film" in vocabulary
    assert learn_word_piece_vocabulary(texts, vocabulary_size=200, max_texts=3, seed=1) == vocabulary
    assert set(WORDS) <= set(learn_word_piece_vocabulary(texts, vocabulary_size=200, max_texts=8))


def test_fallback_encoder_bounds_its_vocabulary_texts_by_the_config():
    config = make_tiny_config(text={"fallback_vocabulary_max_texts": 2}).text
    encoder = load_text_encoder("none", [f"{word} film" for word in WORDS], config)
    assert len(set(WORDS) & set(encoder.tokenizer.get_vocabulary())) == 2


def test_fallback_encoder_needs_some_catalog_text():
    with pytest.raises(TextEncoderError, match="no item text"):
        load_text_encoder(None, ["", "  "], make_tiny_config().text)


def test_unknown_preset_name_explains_offline_use():
    with pytest.raises(
        TextEncoderError,
        match="(?s)Could not load the BERT text encoder from preset "
        "'no_such_bert_preset_xx'.*offline, pass a local directory",
    ):
        load_text_encoder("no_such_bert_preset_xx", [], make_tiny_config().text)


def test_a_file_instead_of_a_directory_is_rejected_clearly(tmp_path):
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"not a directory")
    with pytest.raises(TextEncoderError, match="is a file; pass the directory holding"):
        load_text_encoder(str(weights), [], make_tiny_config().text)


def test_a_directory_without_a_checkpoint_is_rejected_clearly(tmp_path):
    with pytest.raises(TextEncoderError, match="from directory .*Keras preset or a Hugging Face BERT checkpoint"):
        load_text_encoder(str(tmp_path), [], make_tiny_config().text)


@pytest.mark.slow
def test_real_minilm_checkpoint_encodes_meaning():
    directory = os.environ.get(MINILM_DIR_VARIABLE)
    if not directory:
        pytest.skip(f"set {MINILM_DIR_VARIABLE} to a local all-MiniLM-L6-v2 checkpoint directory")
    encoder = load_text_encoder(directory, [], make_tiny_config().text)
    assert encoder.hidden_dim == 384
    assert encoder.pretrained
    sentences = [
        "A spaceship travels to a distant galaxy.",
        "Astronauts explore outer space among the stars.",
        "A recipe for chocolate cake with butter and sugar.",
    ]
    vectors = encoder.encode(encoder.tokenize(sentences, sequence_length=32))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    related, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert related > unrelated + 0.2
