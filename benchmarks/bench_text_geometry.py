"""The text-geometry regulariser's trade-off: recommendation quality against request meaning.

    python benchmarks/bench_text_geometry.py --data ../shared/data/ml-100k \
        --text-encoder /path/to/all-MiniLM-L6-v2 --weights 0,1,10,100 --output-dir runs/text-geometry

Trains the full model once per `model.text_geometry_weight` (same split,
leave-last-out by default, same seed, early stopping on the validation
target, everything else the default config) and prints, for each weight,
the full-catalog Recall@10 / NDCG@10, tail-item Recall@50, and the
natural-language requests' precision@10 (`tfrec-llm bench-queries`): the
served scorer (`model`), the text path alone (`model_text_path`) and BERT
alone (`text_encoder`). Writes `<output-dir>/text_geometry.json`.
"""

import argparse
import json
import os
import time

import tfrec_llm  # noqa: F401  (selects legacy Keras before TensorFlow loads)
from tfrec_llm.experiment_config import ExperimentConfig
from tfrec_llm.queries.benchmark import run_text_query_benchmark
from tfrec_llm.training.trainer import train

REQUEST_SCORERS = ("model", "model_text_path", "text_encoder")


def run(args) -> list:
    rows = []
    for weight in [float(w) for w in args.weights.split(",")]:
        config = ExperimentConfig.from_dict(
            {
                "data": {"source": args.data, "split": args.split},
                "text": {"encoder": args.text_encoder},
                "train": {"epochs": args.epochs, "seed": args.seed},
                "model": {"text_geometry_weight": weight},
            }
        )
        model_dir = os.path.join(args.output_dir, f"weight_{weight:g}")
        started = time.time()
        metrics = train(config, model_dir)
        requests = run_text_query_benchmark(model_dir, args.queries)["models"]
        rows.append(
            {
                "weight": weight,
                "recall@10": metrics["overall"]["recall@10"],
                "ndcg@10": metrics["overall"]["ndcg@10"],
                "tail_recall@50": metrics["strata"]["tail"]["recall@50"],
                "epochs_run": metrics["training"]["epochs_run"],
                "seconds": time.time() - started,
                **{f"request_precision@10_{name}": requests[name]["precision@10"] for name in REQUEST_SCORERS},
            }
        )
    return rows


def markdown(rows: list) -> str:
    lines = [
        "| text_geometry_weight | Recall@10 | NDCG@10 | tail Recall@50 | requests P@10: served | text path "
        "| BERT alone "
        "| epochs | seconds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        requests = " | ".join(f"{row[f'request_precision@10_{name}']:.3f}" for name in REQUEST_SCORERS)
        lines.append(
            f"| {row['weight']:g} | {row['recall@10']:.4f} | {row['ndcg@10']:.4f} | {row['tail_recall@50']:.4f} "
            f"| {requests} | {row['epochs_run']} | {row['seconds']:.0f} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a MovieLens directory (its catalog needs genres)")
    parser.add_argument("--text-encoder", required=True, help="a pretrained encoder (local directory or handle)")
    parser.add_argument("--queries", default="benchmarks/queries/movielens-100k.json")
    parser.add_argument("--weights", default="0,1,10,100")
    parser.add_argument("--split", default="leave_last_out")
    parser.add_argument("--epochs", type=int, default=50, help="most epochs (early stopping ends sooner)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", required=True)
    args = parser.parse_args()
    os.makedirs(args.output_dir, exist_ok=True)
    rows = run(args)
    with open(os.path.join(args.output_dir, "text_geometry.json"), "w", encoding="utf-8") as f:
        json.dump(rows, f, indent=1)
    print(markdown(rows))


if __name__ == "__main__":
    main()
