"""Tests for TextEncoder: tokenization into fixed token tables and pooled encoding."""

import io
import logging
import sys

import numpy as np
import tensorflow as tf
from tiny_fixtures import TINY_SEQUENCE_LENGTH, TINY_VOCABULARY, make_tiny_encoder

from tfrec_llm.experiment_config import TextConfig
from tfrec_llm.models.text.encoder_loading import load_text_encoder, save_text_encoder

VOCABULARY = list(TINY_VOCABULARY)
CLS, SEP, PAD = VOCABULARY.index("[CLS]"), VOCABULARY.index("[SEP]"), VOCABULARY.index("[PAD]")
TEXTS = ["Space galaxy", "love", "war soldier battle story of the crime detective", "", "heart 42"]


def test_tokenize_packs_cls_text_sep_and_padding():
    encoder = make_tiny_encoder()
    token_ids = encoder.tokenize(TEXTS[:2], sequence_length=5)
    assert token_ids.dtype == np.int32
    assert token_ids.tolist() == [
        [CLS, VOCABULARY.index("space"), VOCABULARY.index("galaxy"), SEP, PAD],
        [CLS, VOCABULARY.index("love"), SEP, PAD, PAD],
    ]
    assert encoder.pad_token_id == PAD


def test_tokenize_truncates_long_texts_and_keeps_sep_last():
    encoder = make_tiny_encoder()
    row = encoder.tokenize(TEXTS[2:3], sequence_length=4)[0].tolist()
    assert row == [CLS, VOCABULARY.index("war"), VOCABULARY.index("soldier"), SEP]


def test_tokenize_handles_empty_texts_wordpieces_and_the_backbones_length_limit():
    encoder = make_tiny_encoder()
    token_ids = encoder.tokenize(TEXTS, sequence_length=50)
    assert token_ids.shape == (5, TINY_SEQUENCE_LENGTH)  # capped at the backbone's max_sequence_length
    assert token_ids[3].tolist() == [CLS, SEP] + [PAD] * (TINY_SEQUENCE_LENGTH - 2)
    assert token_ids[4, :4].tolist() == [CLS, VOCABULARY.index("heart"), VOCABULARY.index("4"), VOCABULARY.index("##2")]
    assert encoder.tokenize([], sequence_length=6).shape == (0, 6)


def test_tokenize_does_not_depend_on_the_batch_size():
    encoder = make_tiny_encoder()
    np.testing.assert_array_equal(encoder.tokenize(TEXTS, 8, batch_size=2), encoder.tokenize(TEXTS, 8))


def test_encode_returns_one_pooled_vector_per_text_whatever_the_batching():
    encoder = make_tiny_encoder()
    token_ids = encoder.tokenize(TEXTS, 8)
    vectors = encoder.encode(token_ids)
    assert vectors.shape == (5, encoder.hidden_dim) and vectors.dtype == np.float32
    np.testing.assert_allclose(encoder.encode(token_ids, batch_size=2), vectors, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(vectors, encoder.bridge_layer()(token_ids, training=False).numpy(), rtol=1e-5, atol=1e-6)
    assert not np.allclose(vectors[0], vectors[1])
    assert encoder.encode(token_ids[:0]).shape == (0, encoder.hidden_dim)


def test_encode_is_deterministic_inference():
    encoder = make_tiny_encoder()
    token_ids = encoder.tokenize(TEXTS, 8)
    np.testing.assert_array_equal(encoder.encode(token_ids), encoder.encode(token_ids))


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_encode_reports_one_line_off_a_terminal_and_a_bar_on_one(caplog, monkeypatch):
    encoder = make_tiny_encoder()
    token_ids = np.array([[CLS, VOCABULARY.index("war"), SEP, PAD]] * 5, np.int32)
    with caplog.at_level(logging.INFO, logger="tfrec_llm.progress"):
        encoder.encode(token_ids, batch_size=2)
    progress = [r for r in caplog.records if r.name == "tfrec_llm.progress"]  # not TensorFlow's own warnings
    assert [r.getMessage().split(" in ")[0] for r in progress] == ["Encoded 5 texts with BERT"]
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    encoder.encode(token_ids, batch_size=2)
    assert "Encoding texts with BERT" in terminal.getvalue() and "5/5" in terminal.getvalue()


def test_bridge_layer_is_built_once_with_the_unused_pooler_frozen():
    encoder = make_tiny_encoder()
    bridge = encoder.bridge_layer()
    assert encoder.bridge_layer() is bridge
    assert bridge.pad_token_id == PAD
    assert not encoder.backbone.get_layer("pooled_dense").trainable
    pooler = {v.value.ref() for v in encoder.backbone.get_layer("pooled_dense").weights}
    assert pooler and not pooler & {v.ref() for v in bridge.trainable_weights}


def test_fingerprint_tells_apart_encoders_of_another_seed_or_shape():
    fingerprint = make_tiny_encoder(seed=0).fingerprint()
    assert make_tiny_encoder(seed=0).fingerprint() == fingerprint  # rebuilt alike (other layer names)
    assert make_tiny_encoder(seed=1).fingerprint() != fingerprint
    assert make_tiny_encoder(hidden_dim=32).fingerprint() != fingerprint
    assert make_tiny_encoder(num_layers=2).fingerprint() != fingerprint


def test_fingerprint_survives_saving_and_loading(tmp_path):
    encoder = make_tiny_encoder()
    save_text_encoder(encoder, str(tmp_path))
    loaded = load_text_encoder(str(tmp_path), [], TextConfig())
    assert loaded.fingerprint() == encoder.fingerprint()


def test_tokenize_returns_each_texts_length_before_the_cut():
    encoder = make_tiny_encoder()
    token_ids, lengths = encoder.tokenize(TEXTS, sequence_length=5, batch_size=2, return_lengths=True)

    np.testing.assert_array_equal(token_ids, encoder.tokenize(TEXTS, sequence_length=5))
    expected = [len(encoder.tokenizer(text)) + 2 for text in TEXTS]  # + [CLS] and [SEP]
    assert lengths.tolist() == expected
    assert max(expected) > 5  # the long text was cut


def test_cut_texts_are_counted_in_a_warning_that_names_the_setting(caplog):
    from tfrec_llm.models.text.text_encoder import warn_about_cut_texts  # pylint: disable=import-outside-toplevel

    lengths = np.array([3, 9, 6, 7, 40])
    with caplog.at_level("WARNING"):
        assert warn_about_cut_texts(lengths, 6, 512) == 3
    assert (
        "3 of 5 item texts (60.0%) were longer than text.sequence_length=6 tokens and were cut "
        "(longest: 40 tokens); raise it with --text-sequence-length or text.sequence_length"
    ) in caplog.text

    caplog.clear()
    with caplog.at_level("WARNING"):
        assert warn_about_cut_texts(lengths, 64, 8) == 2
    assert "2 of 5 item texts (40.0%) were longer than the text encoder's limit of 8 tokens" in caplog.text

    caplog.clear()
    assert warn_about_cut_texts(lengths, 40, 512) == 0
    assert caplog.text == ""


def test_tokenize_runs_the_tokenizer_traced_once_with_the_eager_tokens():
    """KerasHub's WordPiece is ~2.6x slower called eagerly (pure-Python path): the tokenizer
    runs inside one tf.function for every batch size, giving the eager call's tokens."""
    encoder = make_tiny_encoder()
    calls = []
    tokenizer = encoder.tokenizer

    class CountingTokenizer:
        def __call__(self, texts):
            calls.append(tf.executing_eagerly())
            return tokenizer(texts)

        def __getattr__(self, name):
            return getattr(tokenizer, name)

    encoder.tokenizer = CountingTokenizer()
    token_ids = encoder.tokenize(TEXTS, sequence_length=8, batch_size=2)  # batches of 2, 2 and 1 texts
    assert calls == [False]  # traced once (a graph), reused by all three batches
    packer = encoder.packer(8)
    eager = np.asarray(packer(tokenizer(tf.constant(TEXTS))), np.int32)
    np.testing.assert_array_equal(token_ids, eager)
