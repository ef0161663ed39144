"""Tests for what `tfrec-llm` prints and how its flags map onto the config (training is stubbed)."""

import pytest

from tfrec_llm import cli
from tfrec_llm.experiment_config import DEFAULT_TEXT_ENCODER


def _metrics(source, pretrained, chief=True):
    """What `train` returns (the parts the CLI reads)."""
    return {
        "overall": {"recall@10": 0.5, "n": 3},
        "strata": {},
        "training": {
            "text_encoder": source,
            "text_encoder_pretrained": pretrained,
            "train_seconds": 1.0,
            "chief": chief,
        },
    }


@pytest.mark.parametrize(
    "source, pretrained, line",
    [
        (DEFAULT_TEXT_ENCODER, True, f"text encoder: {DEFAULT_TEXT_ENCODER} (pretrained)"),
        ("fallback", False, "text encoder: fallback (NOT pretrained: random weights, vocabulary from the catalog)"),
    ],
)
def test_train_ends_by_saying_which_text_encoder_the_run_used(source, pretrained, line, tmp_path, monkeypatch, capsys):
    from tfrec_llm.training import trainer  # pylint: disable=import-outside-toplevel

    monkeypatch.setattr(trainer, "train", lambda config, output_dir: _metrics(source, pretrained))
    assert cli.main(["train", "--data", "builtin", "--output-dir", str(tmp_path)]) == 0
    assert line in capsys.readouterr().out.splitlines()


@pytest.mark.parametrize(
    "answer, choice, line",
    [
        (
            "model",
            {"answer": "model", "examples": 61, "recall@10": {"model": 0.5410, "popularity": 0.1803}, "reason": ""},
            "requests without history: the user tower (chosen on validation: Recall@10 tower 0.5410 vs popularity "
            "0.1803 on 61 examples without history)",
        ),
        (
            "popularity",
            {"answer": "popularity", "examples": 0, "recall@10": {}, "reason": "0 validation examples without history"},
            "requests without history: popularity (chosen on validation: 0 validation examples without history)",
        ),
        ("popularity", None, "requests without history: popularity (set by model.empty_history_answer)"),
    ],
)
def test_train_says_how_requests_without_history_are_answered_and_why(
    answer, choice, line, tmp_path, monkeypatch, capsys
):
    from tfrec_llm.training import trainer  # pylint: disable=import-outside-toplevel

    metrics = dict(_metrics("fallback", False), empty_history_answer=answer, empty_history_choice=choice)
    monkeypatch.setattr(trainer, "train", lambda config, output_dir: metrics)
    assert cli.main(["train", "--data", "builtin", "--output-dir", str(tmp_path)]) == 0
    assert line in capsys.readouterr().out.splitlines()


def test_a_multi_worker_non_chief_says_the_chief_writes_and_exports_nothing(tmp_path, monkeypatch, capsys):
    from tfrec_llm.training import trainer  # pylint: disable=import-outside-toplevel

    monkeypatch.setattr(trainer, "train", lambda config, output_dir: _metrics("fallback", False, chief=False))
    export_dir = tmp_path / "export"
    assert cli.main(["train", "--data", "builtin", "--output-dir", str(tmp_path), "--export-dir", str(export_dir)]) == 0
    out = capsys.readouterr().out
    assert f"multi-worker non-chief: the chief writes {tmp_path}" in out
    assert "model written" not in out and not export_dir.exists()


def test_text_encoder_flag_none_asks_for_the_fallback_and_no_flag_for_the_pretrained_default(tmp_path):
    def config(*flags):
        return cli._train_config(
            cli.build_parser().parse_args(  # pylint: disable=protected-access
                ["train", "--output-dir", str(tmp_path), *flags]
            )
        )

    assert config().text.encoder == DEFAULT_TEXT_ENCODER
    assert config("--text-encoder", "none").text.encoder == "none"
