"""Latency and throughput of the exported retrieval SavedModel on CPU, next to NumPy.

For each catalog size, a retrieval SavedModel is built over synthetic
L2-normalised item embeddings (and an untrained user tower of the same
width), saved, loaded back and called through its `serving_default`
signature, as TF Serving would run it: ids -> user tower -> one matrix
product -> the empty-history rule (popularity, the export's default) ->
history exclusion -> `tf.math.top_k`. The NumPy baseline scores
random user vectors with a matrix product and takes the top k with
`argpartition` plus a sort of those k (no user tower, no exclusion: a lower
bound on the same scoring work).

The same SavedModel's `retrieve_reranked` signature (MMR with a tail boost
over the K candidates, `rerank_k` items out, `serving/reranking.py`) is
timed too; its row also holds `added_p50_ms` and `added_cpu_p50_ms`, the
medians over interleaved pairs of (re-ranked call - plain call) wall time
and process CPU time at batch 1, so both calls see the same machine load.

Reported: p50 / p99 latency of single-request calls (batch 1) over all
timed calls, and throughput (queries per second) at batch 64 as the median
of `rounds` timed rounds.

Example:
    rows = run_serving_benchmark([10_000, 100_000])
"""

import dataclasses
import os
import tempfile
import time
from typing import Callable, List, Sequence

import numpy as np
import tensorflow as tf

from tfrec_llm.models.user_tower import UserTower
from tfrec_llm.serving.catalog.context_lookup import ContextLookup
from tfrec_llm.serving.catalog.history_encoder import HistoryEncoder
from tfrec_llm.serving.catalog.item_lookup import ItemLookup
from tfrec_llm.serving.catalog.item_popularity import popularity_prior
from tfrec_llm.serving.signatures.retrieval_module import RERANKED_SIGNATURE, RetrievalModule
from tfrec_llm.serving.catalog.serving_catalog import ServingCatalog
from tfrec_llm.serving.reranking import tailness_from_popularity
from tfrec_llm.serving.signatures.user_tower_module import UserTowerModule
from tfrec_llm.unit_vectors import unit_rows

DEFAULT_CATALOG_SIZES = (10_000, 100_000, 1_000_000)
LATENCY_BATCH = 1
THROUGHPUT_BATCH = 64
PERCENTILES = (50, 99)
RERANKED_ENGINE = "SavedModel retrieve_reranked"


@dataclasses.dataclass
class ServingBenchmark:
    """Benchmark settings; `run` measures, `format_table` prints.

    Args:
        embedding_dim: item/user embedding width d.
        history_length: items per request history.
        max_k: top-k size.
        max_history: history items the user tower reads.
        latency_calls: timed batch-1 calls per engine and size (at most).
        rounds: timed batch-64 rounds per engine and size.
        batches_per_round: batch-64 calls per round.
        time_budget_seconds: stop a measurement early after this long.
        warmup_calls: untimed calls before measuring.
        seed: seed of the synthetic data.
        rerank_k, diversity, tail_boost: the `retrieve_reranked` request.

    Example:
        benchmark = ServingBenchmark(latency_calls=50)
        print(benchmark.format_table(benchmark.run([10_000])))
    """

    embedding_dim: int = 64
    history_length: int = 10
    max_k: int = 100
    max_history: int = 20
    latency_calls: int = 200
    rounds: int = 5
    batches_per_round: int = 5
    time_budget_seconds: float = 20.0
    warmup_calls: int = 3
    seed: int = 0
    rerank_k: int = 10
    diversity: float = 0.5
    tail_boost: float = 0.2

    def run(self, catalog_sizes: Sequence[int] = DEFAULT_CATALOG_SIZES) -> List[dict]:
        """One row per (catalog size, engine): p50_ms, p99_ms, queries_per_second."""
        rows = []
        for size in catalog_sizes:
            rng = np.random.default_rng(self.seed)
            vectors = unit_rows(rng.standard_normal((int(size), self.embedding_dim), dtype=np.float32))
            with tempfile.TemporaryDirectory(prefix="tfrec-llm-bench-") as work:
                loaded = self._saved_retrieval(vectors, work)
                histories = np.array(
                    [[f"item{i}" for i in rng.integers(0, size, self.history_length)] for _ in range(THROUGHPUT_BATCH)]
                )
                retrieve = loaded.signatures["serving_default"]
                rerank = loaded.signatures[RERANKED_SIGNATURE]
                settings = {
                    "k": tf.constant(self.rerank_k),
                    "diversity": tf.constant(self.diversity, tf.float32),
                    "tail_boost": tf.constant(self.tail_boost, tf.float32),
                }

                def plain(batch, retrieve=retrieve, histories=histories):
                    return retrieve(history=tf.constant(histories[:batch]))["item_ids"].numpy()

                def reranked(batch, rerank=rerank, histories=histories, settings=settings):
                    return rerank(history=tf.constant(histories[:batch]), **settings)["item_ids"].numpy()

                rows.append(self._measure(size, "SavedModel retrieval", plain))
                rows.append(self._measure(size, RERANKED_ENGINE, reranked))
                rows[-1].update(self._added_latency(plain, reranked), rerank_k=self.rerank_k)
            users = rng.standard_normal((THROUGHPUT_BATCH, self.embedding_dim), dtype=np.float32)
            rows.append(
                self._measure(
                    size,
                    "NumPy matmul+argpartition",
                    lambda batch, users=users, vectors=vectors: numpy_top_k(users[:batch], vectors, self.max_k),
                )
            )
        return rows

    def _saved_retrieval(self, vectors: np.ndarray, work_dir: str):
        size = len(vectors)
        catalog = ServingCatalog(
            np.char.add("item", np.arange(size).astype(str)),
            np.full(size, ""),
            vectors,
            np.zeros((2, self.embedding_dim), np.float32),
        )
        tower = UserTower(self.embedding_dim, self.embedding_dim, num_scenarios=1, user_feature_sizes={})
        tower(tf.zeros([1, 1, self.embedding_dim]), tf.ones([1, 1], tf.bool), tf.zeros([1], tf.int32), {})
        history = HistoryEncoder(
            ItemLookup(catalog, os.path.join(work_dir, "scratch")),
            ContextLookup(np.zeros(0, str), {}),
            UserTowerModule(tower, self.embedding_dim, 0),
            self.max_history,
        )
        module = RetrievalModule(
            history,
            self.max_k,
            synthetic_tailness(size, self.seed),
            popularity_prior(synthetic_popularity(size, self.seed)),
        )
        path = os.path.join(work_dir, "retrieval")
        tf.saved_model.save(module, path, signatures=module.signatures())
        return tf.saved_model.load(path)

    def _added_latency(self, plain: Callable[[int], object], reranked: Callable[[int], object]) -> dict:
        """Medians over interleaved batch-1 pairs of (reranked - plain) wall and process CPU time, in ms.

        Which call goes first alternates. CPU time (all threads of this
        process) is less inflated than wall time when other jobs share the CPU.
        """
        wall, cpu = [], []
        deadline = time.perf_counter() + self.time_budget_seconds
        while len(wall) < self.latency_calls and (len(wall) < 2 or time.perf_counter() < deadline):
            took = {}
            for name, call in (("plain", plain), ("reranked", reranked))[:: 1 if len(wall) % 2 else -1]:
                started, started_cpu = time.perf_counter(), time.process_time()
                call(LATENCY_BATCH)
                took[name] = (time.perf_counter() - started, time.process_time() - started_cpu)
            wall.append(took["reranked"][0] - took["plain"][0])
            cpu.append(took["reranked"][1] - took["plain"][1])
        return {"added_p50_ms": float(np.median(wall) * 1000.0), "added_cpu_p50_ms": float(np.median(cpu) * 1000.0)}

    def _measure(self, size: int, engine: str, call: Callable[[int], object]) -> dict:
        for _ in range(self.warmup_calls):
            call(LATENCY_BATCH)
            call(THROUGHPUT_BATCH)
        latencies = []
        deadline = time.perf_counter() + self.time_budget_seconds
        while len(latencies) < self.latency_calls and (len(latencies) < 2 or time.perf_counter() < deadline):
            started = time.perf_counter()
            call(LATENCY_BATCH)
            latencies.append(time.perf_counter() - started)
        throughputs = []
        deadline = time.perf_counter() + self.time_budget_seconds
        while len(throughputs) < self.rounds and (not throughputs or time.perf_counter() < deadline):
            started = time.perf_counter()
            for _ in range(self.batches_per_round):
                call(THROUGHPUT_BATCH)
            throughputs.append(self.batches_per_round * THROUGHPUT_BATCH / (time.perf_counter() - started))
        p50, p99 = np.percentile(np.asarray(latencies) * 1000.0, PERCENTILES)
        return {
            "catalog_size": int(size),
            "engine": engine,
            "p50_ms": float(p50),
            "p99_ms": float(p99),
            "queries_per_second": float(np.median(throughputs)),
            "latency_calls": len(latencies),
            "throughput_rounds": len(throughputs),
        }

    @staticmethod
    def format_table(rows: List[dict]) -> str:
        header = f"{'catalog':>10}  {'engine':<28}{'p50 ms (b=1)':>14}{'p99 ms (b=1)':>14}{'queries/s (b=64)':>18}"
        lines = [header, "-" * len(header)]
        for row in rows:
            lines.append(
                f"{row['catalog_size']:>10,}  {row['engine']:<28}{row['p50_ms']:>14.2f}"
                f"{row['p99_ms']:>14.2f}{row['queries_per_second']:>18,.0f}"
            )
        for row in rows:
            if "added_p50_ms" in row:
                lines.append(
                    f"re-ranking (MMR + tail boost, k={row['rerank_k']}) adds {row['added_p50_ms']:.3f} ms p50 at "
                    f"batch 1 over plain retrieval at {row['catalog_size']:,} items ({row['added_cpu_p50_ms']:.3f} ms "
                    "of process CPU time; medians of interleaved pairs)"
                )
        return "\n".join(lines)


def synthetic_tailness(size: int, seed: int = 0) -> np.ndarray:
    """float32 [size] 0/1 tailness as the export holds it, from Zipf-like popularity (count ~ 1 / rank, ranks shuffled).

    Example:
        synthetic_tailness(1000).mean()  # share of tail items (outside the head holding 80% of interactions)
    """
    return tailness_from_popularity(synthetic_popularity(size, seed))


def synthetic_popularity(size: int, seed: int = 0) -> np.ndarray:
    """float64 [size] Zipf-like counts, count ~ 1 / rank with the ranks shuffled (1 for the top item)."""
    return 1.0 / (1.0 + np.random.default_rng(seed).permutation(int(size)))


def numpy_top_k(users: np.ndarray, item_vectors: np.ndarray, k: int) -> np.ndarray:
    """[B, k] catalog positions of the highest dot products, best first (matmul + argpartition)."""
    scores = users @ item_vectors.T
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
    return np.take_along_axis(top, order, axis=1)


def run_serving_benchmark(catalog_sizes: Sequence[int] = DEFAULT_CATALOG_SIZES, **settings) -> List[dict]:
    """Runs `ServingBenchmark(**settings)` over `catalog_sizes`, prints the table, returns the rows."""
    benchmark = ServingBenchmark(**settings)
    rows = benchmark.run(catalog_sizes)
    print(benchmark.format_table(rows))
    return rows
