"""Tests of the oracle of the loader property tests: what a loader must keep of a row."""

import numpy as np

from tfrec_llm.testing.row_oracle import expected_label, expected_timestamp


def test_oracle_reads_numbers_like_the_loaders():
    assert [expected_label(t) for t in ["4.5", " 7 ", "1e39", "nan", "1,5", "+.5e-3"]] == [
        4.5,
        7.0,
        None,
        None,
        None,
        float(np.float32(0.0005)),
    ]
    assert [
        expected_timestamp(t) for t in ["12.9", "-0.5", "9223372036854775807", "9223372036854775808", "1e18", "0x10"]
    ] == [12, -1, 9223372036854775807, None, 10**18, None]
