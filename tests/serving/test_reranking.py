"""MMR + tail-boost re-ranking: plain top-k at 0/0, hand-checked picks, argument errors."""

import numpy as np
import pytest
import tensorflow as tf

from tfrec_llm.evaluation.strata import COLD_ITEMS, DEFAULT_HEAD_SHARE, TAIL, item_strata
from tfrec_llm.serving.reranking import EMPTY_POSITION, rerank, rerank_positions, tailness_from_popularity

# Candidates 0 and 1 are near-duplicates, 2 is orthogonal to them, 3 sits between; 4 is excluded (-inf).
SCORES = np.array([[3.0, 2.9, 2.0, 1.0, -np.inf]], np.float32)
VECTORS = np.array([[[1, 0], [1, 0.01], [0, 1], [0.7, 0.7], [1, 1]]], np.float32)
NO_TAIL = np.zeros((1, 5), np.float32)


def test_no_diversity_and_no_boost_is_the_plain_top_k():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(6, 30)).astype(np.float32)
    scores[rng.random(scores.shape) < 0.2] = -np.inf
    vectors = rng.normal(size=(6, 30, 8)).astype(np.float32)
    tailness = rng.random((6, 30)).astype(np.float32)
    positions = rerank(scores, vectors, tailness, k=10)
    np.testing.assert_array_equal(positions, tf.math.top_k(scores, k=10).indices.numpy())


def test_mmr_picks_the_hand_checked_items():
    # lambda 0.5, relevance scaled to [1, 0.95, 0.5, 0]. After 0: gains 0.475 - 0.5 (1), 0.25 - 0 (2),
    # 0 - 0.354 (3) -> 2. Then 1 is still closest to 0 (-0.025) but beats 3 (-0.354) -> 1.
    np.testing.assert_array_equal(rerank(SCORES, VECTORS, NO_TAIL, k=3, diversity=0.5), [[0, 2, 1]])
    # Pure diversity: after the best item, always the least similar one; the excluded 4 never comes.
    np.testing.assert_array_equal(rerank(SCORES, VECTORS, NO_TAIL, k=5, diversity=1.0), [[0, 2, 3, 1, EMPTY_POSITION]])


def test_tail_boost_lifts_tail_items():
    tailness = np.array([[0.0, 0.0, 0.0, 1.0, 1.0]], np.float32)
    # relevance + 0.6 * tailness: [1, 0.95, 0.5, 0.6]: the tail item 3 overtakes item 2.
    np.testing.assert_array_equal(rerank(SCORES, VECTORS, tailness, k=4, tail_boost=0.6), [[0, 1, 3, 2]])
    np.testing.assert_array_equal(rerank(SCORES, VECTORS, tailness, k=4, tail_boost=2.0), [[3, 0, 1, 2]])


def test_tailness_is_the_evaluators_tail():
    # Head = items 1, 0 (300 + 1000 of 1360 interactions >= 80%); 2 (60) is tail, 3 was never seen (cold).
    popularity = np.array([1000, 300, 60, 0])
    evaluated = item_strata(popularity, popularity == 0, DEFAULT_HEAD_SHARE)
    np.testing.assert_array_equal(tailness_from_popularity(popularity), evaluated[TAIL] | evaluated[COLD_ITEMS])
    np.testing.assert_array_equal(tailness_from_popularity(popularity), [0, 0, 1, 1])
    np.testing.assert_array_equal(tailness_from_popularity(np.zeros(3)), [1, 1, 1])  # nothing seen: no head
    with pytest.raises(ValueError, match="popularity must be 1-D non-negative counts"):
        tailness_from_popularity(np.array([3, -1]))


def test_tail_boost_lifts_a_tail_item_over_a_moderately_popular_head_item():
    popularity = np.array([1000, 300, 60, 0])
    scores = np.array([[4.0, 3.2, 2.8, 0.0]], np.float32)  # scaled relevance [1, 0.8, 0.7, 0]
    vectors = np.eye(4, dtype=np.float32)[np.newaxis]
    # 0.2 * tailness: head item 1 stays at 0.8, tail item 2 rises to 0.9 and takes the second slot.
    positions = rerank(scores, vectors, tailness_from_popularity(popularity)[np.newaxis], k=2, tail_boost=0.2)
    np.testing.assert_array_equal(positions, [[0, 2]])


@pytest.mark.parametrize("diversity", [-0.1, 1.5, float("nan"), "0.5", None])
def test_bad_diversity_is_a_clear_error(diversity):
    with pytest.raises(ValueError, match=r"diversity \(MMR lambda\) must be a number in \[0, 1\]"):
        rerank(SCORES, VECTORS, NO_TAIL, k=3, diversity=diversity)


@pytest.mark.parametrize("tail_boost", [-1.0, float("inf")])
def test_bad_tail_boost_is_a_clear_error(tail_boost):
    with pytest.raises(ValueError, match="tail_boost must be a finite number >= 0"):
        rerank(SCORES, VECTORS, NO_TAIL, k=3, tail_boost=tail_boost)


def test_in_graph_checks_name_the_bad_input():
    function = tf.function(lambda d, b: rerank_positions(SCORES, VECTORS, NO_TAIL, 3, d, b))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"diversity must be in \[0, 1\]"):
        function(tf.constant(2.0), tf.constant(0.0))
    with pytest.raises(tf.errors.InvalidArgumentError, match="tail_boost must be >= 0"):
        function(tf.constant(0.5), tf.constant(-1.0))
    assert function(tf.constant(0.5), tf.constant(0.0)).numpy().tolist() == [[0, 2, 1]]


def test_a_request_k_of_zero_gives_empty_lists_in_graph():
    # As in the export: k and the batch size are unknown when the graph is built. k = 0 used to fail
    # stacking an empty TensorArray of unknown element shape.
    function = tf.function(
        lambda scores, k: rerank_positions(scores, VECTORS, NO_TAIL, k, 0.5, 0.0),
        input_signature=[tf.TensorSpec([None, 5]), tf.TensorSpec([], tf.int32)],
    )
    assert function(SCORES, tf.constant(0)).shape == (1, 0)
    np.testing.assert_array_equal(function(SCORES, tf.constant(3)), [[0, 2, 1]])


@pytest.mark.parametrize("k", [1, 3, 4, 5, 12, 30, 40])
def test_tensor_k_beyond_the_unrolled_steps_continues_in_a_loop_with_the_same_picks(k):
    rng = np.random.default_rng(3)
    scores = rng.normal(size=(3, 30)).astype(np.float32)
    scores[rng.random(scores.shape) < 0.3] = -np.inf
    vectors = rng.normal(size=(3, 30, 8)).astype(np.float32)
    tailness = (rng.random((3, 30)) < 0.5).astype(np.float32)
    function = tf.function(lambda k: rerank_positions(scores, vectors, tailness, k, 0.6, 0.3, unrolled_steps=4))
    eager = rerank(scores, vectors, tailness, k, 0.6, 0.3)  # a Python k: every step written out
    np.testing.assert_array_equal(function(tf.constant(k)).numpy(), eager)
    assert eager.shape == (3, min(k, 30)) and (eager[:, :10] != EMPTY_POSITION).all()
