import numpy as np
import pytest

from tfrec_llm.unit_vectors import unit_rows


def test_rows_get_unit_norm_and_keep_direction():
    rows = unit_rows([[3.0, 4.0], [0.0, -2.0]])
    np.testing.assert_allclose(rows, [[0.6, 0.8], [0.0, -1.0]], rtol=1e-6)


def test_zero_rows_stay_zero_not_nan():
    rows = unit_rows(np.zeros([2, 3]))
    assert not np.isnan(rows).any()
    np.testing.assert_array_equal(rows, np.zeros([2, 3]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_result_has_the_asked_dtype(dtype):
    assert unit_rows(np.ones([2, 2], np.float16), dtype=dtype).dtype == dtype


def test_tiny_rows_are_scaled_not_clipped():
    rows = unit_rows(np.array([[1e-20, 0.0]]), dtype=np.float64)
    np.testing.assert_allclose(rows, [[1.0, 0.0]])
