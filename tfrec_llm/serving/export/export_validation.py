"""Validates an exported SavedModel before it is published (TFX InfraValidator spirit).

The SavedModel is loaded in a fresh Python process that imports only
TensorFlow (`saved_model_probe.py`; plus `tensorflow_text` for models that
tokenise), which replays the warm-up requests; its outputs must match the
in-memory module's outputs on the same requests. The same process reports
the ops core TensorFlow does not register, checked by `check_op_set`.
Any failure raises `ExportValidationError` (or `OpSetError`).

Float outputs must agree within `atol` + `rtol`; string outputs exactly,
except where a near-tie of the scores (within `atol`) may swap two ids.
"""

import json
import os
import subprocess
import sys
import tempfile
from typing import Dict, Optional

import numpy as np
import tensorflow as tf

from tfrec_llm.serving.export.saved_model_ops import check_op_set
from tfrec_llm.serving.export.warmup_request import read_warmup_requests

PROBE_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "saved_model_probe.py")
DEFAULT_ATOL = 1e-4
DEFAULT_RTOL = 1e-4
PROBE_TIMEOUT_SECONDS = 900
# A string output whose order follows a float output (near-ties may swap ids).
ORDERED_BY = {"item_ids": "scores"}


class ExportValidationError(RuntimeError):
    """The exported SavedModel does not load or does not reproduce the in-memory model."""


def validate_saved_model(
    saved_model_dir: str, module: tf.Module, atol: float = DEFAULT_ATOL, rtol: float = DEFAULT_RTOL
) -> None:
    """Loads `saved_model_dir` in a fresh process and compares it with `module` (see module docstring)."""
    needs_text_ops = getattr(module, "needs_text_ops", False)
    with tempfile.TemporaryDirectory(prefix="tfrec-llm-probe-") as work:
        outputs_path = os.path.join(work, "outputs.npz")
        report_path = os.path.join(work, "report.json")
        command = [sys.executable, PROBE_SCRIPT, saved_model_dir, outputs_path, report_path]
        if needs_text_ops:
            command.append("--tensorflow-text")
        environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
        result = subprocess.run(
            command, capture_output=True, text=True, env=environment, timeout=PROBE_TIMEOUT_SECONDS, check=False
        )
        if result.returncode != 0:
            raise ExportValidationError(
                f"{module.model_name}: loading {saved_model_dir} in a fresh TensorFlow process failed "
                f"(exit {result.returncode}):\n{result.stderr[-4000:]}"
            )
        with open(report_path, encoding="utf-8") as f:
            report = json.load(f)
        with np.load(outputs_path, allow_pickle=False) as stored:
            served = dict(stored)
    check_op_set(module.model_name, report["ops_outside_core"], allows_text_ops=needs_text_ops)
    signatures = module.signatures()
    for number, request in enumerate(read_warmup_requests(saved_model_dir)):
        expected = signatures[request.signature_name]({k: tf.constant(v) for k, v in request.inputs.items()})
        expected = {name: value.numpy() for name, value in expected.items()}
        where = f"{module.model_name} request {number} ({request.signature_name})"
        compare_outputs(expected, {name: served.get(f"{number}/{name}") for name in expected}, where, atol, rtol)


def compare_outputs(
    expected: Dict[str, np.ndarray],
    served: Dict[str, Optional[np.ndarray]],
    where: str,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
) -> None:
    """Raises `ExportValidationError` where `served` differs from `expected` (see module docstring)."""
    for name, want in expected.items():
        got = served.get(name)
        if got is None:
            raise ExportValidationError(f"{where}: the served model has no output {name!r}.")
        want, got = np.asarray(want), np.asarray(got)
        if want.shape != got.shape:
            raise ExportValidationError(f"{where}: output {name!r} has shape {got.shape}, expected {want.shape}.")
        if want.dtype.kind in "OSU":
            _compare_strings(
                name, want.astype(np.bytes_), got.astype(np.bytes_), expected.get(ORDERED_BY.get(name)), where, atol
            )
        elif not np.allclose(got, want, atol=atol, rtol=rtol, equal_nan=True):
            gap = np.nanmax(np.abs(np.where(np.isfinite(want), got - want, 0.0)))
            raise ExportValidationError(
                f"{where}: output {name!r} differs from the in-memory model "
                f"(largest difference {gap:.3g} > atol {atol})."
            )


def _compare_strings(name, want, got, order_scores, where, atol):
    mismatch = want != got
    if not mismatch.any():
        return
    if order_scores is not None:
        order_scores = np.asarray(order_scores)
        near_previous = np.zeros_like(mismatch)
        near_next = np.zeros_like(mismatch)
        close = np.abs(np.diff(order_scores, axis=-1)) <= atol
        near_previous[..., 1:] = close
        near_next[..., :-1] = close
        mismatch &= ~(near_previous | near_next)
        if not mismatch.any():
            return
    position = tuple(int(i) for i in np.argwhere(mismatch)[0])
    raise ExportValidationError(
        f"{where}: output {name!r} at {position} is {_text(got[position])!r}, expected {_text(want[position])!r}."
    )


def _text(value: bytes) -> str:
    return bytes(value).decode("utf-8", errors="replace")
