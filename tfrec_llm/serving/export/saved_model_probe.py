"""Loads one SavedModel in a fresh process and replays its warm-up requests.

Run as a script by `export_validation` (never imported by the package):

    python saved_model_probe.py SAVED_MODEL_DIR OUTPUTS_NPZ REPORT_JSON [--tensorflow-text]

Imports only TensorFlow (and the TF Serving API protos, which register no
op). Before anything else registers ops, it checks which of the ops listed
in `assets.extra/required_ops.txt` core TensorFlow does not register; only
then, with `--tensorflow-text`, imports `tensorflow_text`. It writes the
outputs of every warm-up request to OUTPUTS_NPZ (`<request>/<output>`
keys; strings as bytes arrays) and {"ops_outside_core": [...]} to
REPORT_JSON. Exits non-zero if the model cannot be loaded or run.
"""

import argparse
import json
import os
from typing import Dict, List

import numpy as np
import tensorflow as tf
from tensorflow.python.framework import op_def_registry  # pylint: disable=no-name-in-module

# Spelled here rather than imported from saved_model_ops and warmup_request: the probe imports
# nothing of the package, whose imports could register ops before the check.
REQUIRED_OPS = os.path.join("assets.extra", "required_ops.txt")
WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")


def ops_outside_core(saved_model_dir: str) -> List[str]:
    with open(os.path.join(saved_model_dir, REQUIRED_OPS), encoding="utf-8") as f:
        ops = [line.strip() for line in f if line.strip()]
    return [op for op in ops if op_def_registry.get(op) is None]


def replay_warmup(saved_model_dir: str) -> Dict[str, np.ndarray]:
    from tensorflow_serving.apis import prediction_log_pb2  # pylint: disable=import-outside-toplevel

    loaded = tf.saved_model.load(saved_model_dir)
    outputs = {}
    for number, record in enumerate(tf.data.TFRecordDataset(os.path.join(saved_model_dir, WARMUP_FILE))):
        request = prediction_log_pb2.PredictionLog.FromString(record.numpy()).predict_log.request
        inputs = {name: tf.constant(tf.make_ndarray(proto)) for name, proto in request.inputs.items()}
        result = loaded.signatures[request.model_spec.signature_name](**inputs)
        for name, value in result.items():
            array = value.numpy()
            outputs[f"{number}/{name}"] = array.astype(np.bytes_) if array.dtype == object else array
    return outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("saved_model_dir")
    parser.add_argument("outputs_npz")
    parser.add_argument("report_json")
    parser.add_argument("--tensorflow-text", action="store_true", help="import tensorflow_text before loading")
    args = parser.parse_args()
    outside = ops_outside_core(args.saved_model_dir)
    if args.tensorflow_text:
        import tensorflow_text  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    outputs = replay_warmup(args.saved_model_dir)
    np.savez(args.outputs_npz, **outputs)
    with open(args.report_json, "w", encoding="utf-8") as f:
        json.dump({"ops_outside_core": outside}, f)


if __name__ == "__main__":
    main()
