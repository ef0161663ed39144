"""Re-ranking trade-off: Recall@10 / NDCG@10 against diversity, tail share, coverage, exposure Gini.

    python benchmarks/bench_reranking.py --model-dir runs/ml-100k --output-dir runs/ml-100k-reranking

For a trained model directory (its own data and split), the test examples'
top-100 candidates are re-ranked by MMR (lambda) with a tail boost (beta)
for every grid point; prints a markdown table and the target line (Recall@10
within 5% of the un-reranked list, tail share or coverage >= 1.5x), and
writes `reranking_tradeoff.png` and `reranking_tradeoff.json` to the output
directory. See `tfrec_llm/benchmark/reranking_tradeoff.py`.
"""

import argparse
import json
import os
import time

import tfrec_llm  # noqa: F401  (selects legacy Keras before TensorFlow loads)
from tfrec_llm.benchmark.reranking_tradeoff import (
    candidate_lists,
    format_tradeoff,
    plot_tradeoff,
    target_point,
    tradeoff_rows,
)


def _floats(text):
    return [float(v) for v in text.split(",") if v.strip()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, help="a directory written by tfrec-llm train")
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--diversities", default="0,0.2", help="MMR lambdas")
    parser.add_argument("--tail-boosts", default="0,0.05,0.1,0.15,0.2,0.3", help="tail boosts beta (per tail item)")
    parser.add_argument("--candidates", type=int, default=100, help="retrieved candidates re-ranked (the export's K)")
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    started = time.perf_counter()
    lists = candidate_lists(args.model_dir, args.candidates)
    rows = tradeoff_rows(lists, _floats(args.diversities), _floats(args.tail_boosts), args.k)
    target = target_point(rows, args.k)
    os.makedirs(args.output_dir, exist_ok=True)
    plot = plot_tradeoff(rows, os.path.join(args.output_dir, "reranking_tradeoff.png"), args.k)
    with open(os.path.join(args.output_dir, "reranking_tradeoff.json"), "w", encoding="utf-8") as f:
        json.dump(
            {"model_dir": args.model_dir, "examples": len(lists.targets), "rows": rows, "target": target}, f, indent=1
        )
    print(format_tradeoff(rows))
    best = target["row"]
    print(
        f"target ({len(lists.targets)} test examples): lambda={best['diversity']:g} beta={best['tail_boost']:g} "
        f"keeps {target['recall_ratio']:.3f} of Recall@{args.k} with tail share x{target['tail_share_gain']:.2f}, "
        f"coverage x{target['coverage_gain']:.2f}: {'PASS' if target['passed'] else 'MISS'}"
    )
    print(f"plot: {plot}; wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
