"""TF Serving warm-up records: `assets.extra/tf_serving_warmup_requests`.

TF Serving replays these `PredictionLog` records (TFRecord file, at most
1000) when it loads a model version, so the first real request does not
pay for graph optimisation. The same records drive export validation.
"""

import dataclasses
import os
from typing import Dict, List

import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

ASSETS_EXTRA_DIR = "assets.extra"
WARMUP_FILE = "tf_serving_warmup_requests"
MAX_WARMUP_RECORDS = 1000
UNKNOWN_EXAMPLE_ID = "__unknown_item__"  # an id no catalog holds, for warm-up requests


@dataclasses.dataclass
class WarmupRequest:
    """One Predict request: a signature and its named inputs.

    Args:
        signature_name: e.g. "serving_default".
        inputs: input name -> NumPy array (str arrays for tf.string inputs).

    Example:
        request = WarmupRequest("serving_default", {"history": np.array([["1", "2"]])})
    """

    signature_name: str
    inputs: Dict[str, np.ndarray]

    def to_prediction_log(self, model_name: str) -> prediction_log_pb2.PredictionLog:
        request = predict_pb2.PredictRequest(
            model_spec=model_pb2.ModelSpec(name=model_name, signature_name=self.signature_name)
        )
        for name, value in self.inputs.items():
            request.inputs[name].CopyFrom(_tensor_proto(value))
        return prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))

    @classmethod
    def from_prediction_log(cls, log: prediction_log_pb2.PredictionLog) -> "WarmupRequest":
        request = log.predict_log.request
        return cls(
            request.model_spec.signature_name, {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}
        )


def warmup_path(saved_model_dir: str) -> str:
    return os.path.join(saved_model_dir, ASSETS_EXTRA_DIR, WARMUP_FILE)


def write_warmup_requests(saved_model_dir: str, model_name: str, requests: List[WarmupRequest]) -> str:
    """Writes the records into `<saved_model_dir>/assets.extra/`; returns the file path."""
    if not 0 < len(requests) <= MAX_WARMUP_RECORDS:
        raise ValueError(f"TF Serving reads 1 to {MAX_WARMUP_RECORDS} warm-up records, got {len(requests)}.")
    path = warmup_path(saved_model_dir)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tf.io.TFRecordWriter(path) as writer:
        for request in requests:
            writer.write(request.to_prediction_log(model_name).SerializeToString())
    return path


def read_warmup_requests(saved_model_dir: str) -> List[WarmupRequest]:
    """The requests of a SavedModel's warm-up file (string inputs come back as bytes arrays)."""
    requests = []
    for record in tf.data.TFRecordDataset(warmup_path(saved_model_dir)):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        requests.append(WarmupRequest.from_prediction_log(log))
    return requests


def _tensor_proto(value):
    value = np.asarray(value)
    if value.dtype.kind in "US":
        encoded = np.char.encode(value, "utf-8") if value.dtype.kind == "U" else value
        return tf.make_tensor_proto(encoded.astype(object), dtype=tf.string, shape=value.shape)
    return tf.make_tensor_proto(value)
