"""Multi-scenario benchmark: one shared model vs one model per scenario vs a scenario-blind model.

    python benchmarks/bench_scenarios.py --data builtin --output-dir runs/scenarios --epochs 8 --star-heads
    # two data sets joined as two scenarios (ids prefixed by the scenario name):
    python benchmarks/bench_scenarios.py --data ml100k=../shared/data/ml-100k \
        --data mls=../shared/data/ml-latest-small --split leave_last_out --output-dir runs/scenarios-ml

Trains, with the same config and budget on one split, (1) the shared model
(scenario embedding in the user tower), with --star-heads also (1b) the
shared model with STAR scenario heads (model.scenario_heads="star"), (2) the
scenario-blind model (every scenario replaced by one value), (3) one model
per scenario on its events alone; prints Recall@10 (NDCG@10) of each on each scenario's test events and
the issue's target (shared >= per-scenario on the largest scenario, > on the
smallest) as pass/MISS; writes `scenario_report.json` into --output-dir. See
`tfrec_llm/benchmark/scenario_comparison.py` for what is measured.
"""

import argparse
import time

import tfrec_llm  # noqa: F401  (selects legacy Keras before TensorFlow loads)
from tfrec_llm.benchmark.scenario_comparison import run_scenario_comparison
from tfrec_llm.experiment_config import ConfigError, DataConfig, ExperimentConfig


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        action="append",
        help="a source with a scenario column (default builtin), or NAME=SOURCE given more than once: "
        "the sources joined as scenarios (tfrec_llm.data.scenario_join)",
    )
    parser.add_argument("--split", help="data.split (leave_last_out for joined sources of different periods)")
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--config", help="JSON ExperimentConfig (every model gets the same)")
    parser.add_argument("--epochs", type=int, help="most epochs per model (train.epochs)")
    parser.add_argument("--text-encoder", default="none", help="text.encoder (default: the offline fallback)")
    parser.add_argument("--seed", type=int, help="train.seed")
    parser.add_argument(
        "--star-heads", action="store_true", help="also train the shared model with STAR scenario heads (shared_star)"
    )
    args = parser.parse_args()
    config = ExperimentConfig.from_json_file(args.config) if args.config else ExperimentConfig()
    train = {k: v for k, v in (("epochs", args.epochs), ("seed", args.seed)) if v is not None}
    try:
        data_overrides = DataConfig.parse_sources(args.data or ["builtin"])  # NAME=SOURCE: data.scenario_sources
    except ConfigError as error:
        parser.error(str(error))
    if args.split:
        data_overrides["split"] = args.split
    config = config.updated({"data": data_overrides, "text": {"encoder": args.text_encoder}, "train": train})
    started = time.time()
    report = run_scenario_comparison(config, args.output_dir, star_heads=args.star_heads)
    print(report["markdown"])
    print(f"scenario comparison in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
