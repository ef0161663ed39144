"""Warm-up records: PredictionLog TFRecords that round-trip their inputs."""

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

import tfrec_llm  # noqa: F401
from tfrec_llm.serving.export.warmup_request import (
    WarmupRequest,
    read_warmup_requests,
    warmup_path,
    write_warmup_requests,
)


def test_records_are_prediction_logs_and_round_trip(tmp_path):
    requests = [
        WarmupRequest("serving_default", {"history": np.array([["1", "é"], ["", ""]])}),
        WarmupRequest("retrieve_with_context", {"history": np.zeros((0, 2), str), "k": np.array(3, np.int32)}),
    ]
    write_warmup_requests(str(tmp_path), "retrieval", requests)
    raw = [
        prediction_log_pb2.PredictionLog.FromString(r.numpy())
        for r in tf.data.TFRecordDataset(warmup_path(str(tmp_path)))
    ]
    assert [log.predict_log.request.model_spec.name for log in raw] == ["retrieval", "retrieval"]
    read = read_warmup_requests(str(tmp_path))
    assert [r.signature_name for r in read] == ["serving_default", "retrieve_with_context"]
    assert read[0].inputs["history"].tolist() == [[b"1", "é".encode()], [b"", b""]]
    assert read[1].inputs["history"].shape == (0, 2) and read[1].inputs["k"] == 3


def test_record_count_is_checked(tmp_path):
    with pytest.raises(ValueError, match="1 to 1000 warm-up records, got 0"):
        write_warmup_requests(str(tmp_path), "retrieval", [])
