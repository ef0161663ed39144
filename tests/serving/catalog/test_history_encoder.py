"""compact_histories: non-padding ids, the most recent max_history, oldest first, right-padded."""

import numpy as np

import tfrec_llm  # noqa: F401
from tfrec_llm.serving.catalog.history_encoder import compact_histories


def test_compact_histories_keeps_the_last_items_in_order():
    indices = np.array(
        [
            [0, 5, 0, 6, 7, 8],  # 4 items, keep the last 3
            [9, 0, 0, 0, 0, 0],  # 1 item
            [0, 0, 0, 0, 0, 0],  # empty
            [1, 3, 0, 0, 0, 4],
        ],
        np.int32,
    )  # unknown (1) counts as an item
    expected = [[6, 7, 8], [9, 0, 0], [0, 0, 0], [1, 3, 4]]
    np.testing.assert_array_equal(compact_histories(indices, 3).numpy(), expected)


def test_compact_histories_pads_short_requests_and_accepts_empty_batches():
    np.testing.assert_array_equal(compact_histories(np.array([[4, 5]], np.int32), 4).numpy(), [[4, 5, 0, 0]])
    assert compact_histories(np.zeros((0, 3), np.int32), 4).shape == (0, 4)
    assert compact_histories(np.zeros((2, 0), np.int32), 4).numpy().tolist() == [[0] * 4, [0] * 4]
