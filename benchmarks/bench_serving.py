"""Serving benchmark: the exported retrieval SavedModel vs NumPy top-k, on CPU.

    python benchmarks/bench_serving.py                      # 10k, 100k, 1M items
    python benchmarks/bench_serving.py --sizes 10000,100000 --json results.json

Prints p50/p99 latency at batch 1 and throughput at batch 64 for each
catalog size (synthetic embeddings, d=64), for plain retrieval and for the
re-ranking signature (MMR + tail boost), with the latency re-ranking adds
at batch 1 (median of interleaved pairs); see
`tfrec_llm/benchmark/serving_benchmark.py` for what is measured.
"""

import argparse
import json

import tfrec_llm  # noqa: F401  (selects legacy Keras before TensorFlow loads)
from tfrec_llm.benchmark.serving_benchmark import DEFAULT_CATALOG_SIZES, run_serving_benchmark


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default=",".join(str(s) for s in DEFAULT_CATALOG_SIZES), help="comma-separated catalog sizes"
    )
    parser.add_argument("--dim", type=int, default=64, help="embedding width")
    parser.add_argument("--k", type=int, default=100, help="top-k size")
    parser.add_argument("--latency-calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5, help="timed batch-64 rounds (median reported)")
    parser.add_argument("--rerank-k", type=int, default=10, help="items out of the re-ranking signature")
    parser.add_argument("--diversity", type=float, default=0.5, help="MMR lambda of the re-ranking requests")
    parser.add_argument("--tail-boost", type=float, default=0.2, help="tail boost of the re-ranking requests")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args()
    rows = run_serving_benchmark(
        [int(s) for s in args.sizes.split(",") if s.strip()],
        embedding_dim=args.dim,
        max_k=args.k,
        latency_calls=args.latency_calls,
        rounds=args.rounds,
        rerank_k=args.rerank_k,
        diversity=args.diversity,
        tail_boost=args.tail_boost,
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
