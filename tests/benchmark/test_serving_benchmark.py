"""Serving benchmark: NumPy top-k baseline is exact; a tiny run reports both engines."""

import numpy as np
import tensorflow as tf

import tfrec_llm  # noqa: F401
from tfrec_llm.benchmark.serving_benchmark import (
    ServingBenchmark,
    numpy_top_k,
    synthetic_popularity,
    synthetic_tailness,
)
from tfrec_llm.serving.catalog.item_popularity import popularity_prior


def test_numpy_top_k_orders_the_best_items():
    items = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7], [-1.0, 0.0]], np.float32)
    users = np.array([[1.0, 0.1], [-1.0, -0.1]], np.float32)
    np.testing.assert_array_equal(numpy_top_k(users, items, 2), [[0, 2], [3, 1]])
    assert numpy_top_k(users, items, 10).shape == (2, 4)


def test_tiny_benchmark_reports_every_engine_and_the_reranking_overhead():
    benchmark = ServingBenchmark(
        embedding_dim=8, max_k=5, latency_calls=3, rounds=2, batches_per_round=1, warmup_calls=1, rerank_k=3
    )
    rows = benchmark.run([40])
    assert [(r["catalog_size"], r["engine"]) for r in rows] == [
        (40, "SavedModel retrieval"),
        (40, "SavedModel retrieve_reranked"),
        (40, "NumPy matmul+argpartition"),
    ]
    assert isinstance(rows[1]["added_p50_ms"], float) and isinstance(rows[1]["added_cpu_p50_ms"], float)
    assert rows[1]["rerank_k"] == 3
    for row in rows:
        assert 0 < row["p50_ms"] <= row["p99_ms"] and row["queries_per_second"] > 0
        assert row["latency_calls"] == 3 and row["throughput_rounds"] == 2
    table = benchmark.format_table(rows)
    assert "p99 ms (b=1)" in table and "SavedModel retrieval" in table
    assert "re-ranking (MMR + tail boost, k=3) adds" in table


def test_the_benchmarked_export_holds_0_1_tailness_with_a_head_of_the_most_popular_items(tmp_path):
    popularity = synthetic_popularity(200, seed=1)  # what synthetic_tailness ranks by
    tailness = synthetic_tailness(200, seed=1)
    head = tailness == 0
    assert popularity[head].min() > popularity[~head].max()  # the head is the most popular items
    share = popularity[head].sum() / popularity.sum()
    assert share >= 0.8 > share - popularity[head].min() / popularity.sum()  # the fewest items holding 80%
    vectors = np.eye(40, 8, dtype=np.float32) + 0.1
    loaded = ServingBenchmark(embedding_dim=8, max_k=5)._saved_retrieval(vectors, str(tmp_path))
    np.testing.assert_array_equal(loaded.tailness.numpy(), synthetic_tailness(40))
    assert set(np.unique(loaded.tailness.numpy())) == {0.0, 1.0}
    # It answers a request without history by popularity, as a default export does.
    prior = loaded.empty_history_scores.numpy()
    np.testing.assert_allclose(prior, popularity_prior(synthetic_popularity(40)))
    served = loaded.signatures["serving_default"](history=tf.constant([["", ""]]))["item_ids"].numpy()[0]
    assert [int(i.decode()[len("item") :]) for i in served] == np.argsort(-prior, kind="stable")[:5].tolist()
