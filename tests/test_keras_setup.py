"""Tests that importing tfrec_llm selects legacy Keras, or explains why it cannot.

Each case runs in a fresh interpreter: which Keras `tf.keras` binds to is
decided once per process.
"""

import os
import subprocess
import sys

import pytest

from tfrec_llm.keras_setup import import_tensorflow_quietly


def _run(code):
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_import_binds_tf_keras_to_legacy_keras_in_a_clean_process():
    result = _run("import tfrec_llm, os, tensorflow as tf; print(tf.keras.__name__, os.environ['TF_USE_LEGACY_KERAS'])")
    assert result.returncode == 0, result.stderr
    module, flag = result.stdout.split()[-2:]
    assert module.startswith("tf_keras")
    assert flag == "1"


def test_tensorflow_imported_first_is_fine_while_tf_keras_is_untouched():
    result = _run("import tensorflow as tf; import tfrec_llm; print(tf.keras.__name__)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1].startswith("tf_keras")


def test_keras_3_already_bound_raises_keras_version_error_with_the_fix():
    result = _run("import tensorflow as tf; tf.keras.layers.Dense; import tfrec_llm")
    assert result.returncode != 0
    assert "KerasVersionError" in result.stderr
    assert "TF_USE_LEGACY_KERAS=1" in result.stderr
    assert "import tfrec_llm before anything else" in result.stderr


def test_keras_version_error_is_an_import_error():
    from tfrec_llm.keras_setup import KerasVersionError  # pylint: disable=import-outside-toplevel

    assert issubclass(KerasVersionError, ImportError)  # `except ImportError` catches it


STARTUP_MARKERS = ("cpu_feature_guard", "port.cc", "cudart_stub")
SMALL_BUILTIN = "builtin:num_items=100,num_users=60,num_interactions=600"


def _cli(*arguments):
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TF_USE_LEGACY_KERAS")}
    return subprocess.run(
        [sys.executable, "-m", "tfrec_llm.cli", *arguments], env=env, capture_output=True, text=True, timeout=600
    )


def _startup_lines(stderr):
    return [line for line in stderr.splitlines() if any(marker in line for marker in STARTUP_MARKERS)]


def test_cli_keeps_tensorflows_startup_lines_off_stderr_unless_verbose():
    arguments = ["data", "describe", "--data", SMALL_BUILTIN]
    verbose = _cli("-v", *arguments)
    assert verbose.returncode == 0, verbose.stderr
    if not _startup_lines(verbose.stderr):
        pytest.skip("this TensorFlow build prints no start-up lines on this machine: nothing to hide")
    quiet = _cli(*arguments)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout == verbose.stdout
    assert _startup_lines(quiet.stderr) == []


def test_a_log_level_chosen_by_the_user_is_left_alone(monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)  # as if TensorFlow were not imported yet
    assert import_tensorflow_quietly() is False
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
    assert "tensorflow" not in sys.modules  # not imported behind the user's back either
