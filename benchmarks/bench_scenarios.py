"""Multi-scenario benchmark: one shared model vs one model per scenario vs a scenario-blind model.

    python benchmarks/bench_scenarios.py --data builtin --output-dir runs/scenarios --epochs 8
    # two data sets joined as two scenarios (ids prefixed by the scenario name):
    python benchmarks/bench_scenarios.py --data ml100k=../shared/data/ml-100k \
        --data mls=../shared/data/ml-latest-small --split leave_last_out --output-dir runs/scenarios-ml

Trains, with the same config and budget on one split, (1) the shared model
(scenario embedding in the user tower), (2) the scenario-blind model (every
scenario replaced by one value), (3) one model per scenario on its events
alone; prints Recall@10 (NDCG@10) of each on each scenario's test events and
the issue's target (shared >= per-scenario on the largest scenario, > on the
smallest) as pass/MISS; writes `scenario_report.json` into --output-dir. See
`tfrec_llm/benchmark/scenario_comparison.py` for what is measured.
"""

import argparse
import time

import tfrec_llm  # noqa: F401  (selects legacy Keras before TensorFlow loads)
from tfrec_llm.benchmark.scenario_comparison import run_scenario_comparison
from tfrec_llm.data.scenario_join import join_scenarios
from tfrec_llm.experiment_config import ExperimentConfig
from tfrec_llm.training.experiment_data import load_source


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
    args = parser.parse_args()
    config = ExperimentConfig.from_json_file(args.config) if args.config else ExperimentConfig()
    train = {k: v for k, v in (("epochs", args.epochs), ("seed", args.seed)) if v is not None}
    sources = args.data or ["builtin"]
    named = dict(s.split("=", 1) for s in sources if "=" in s)
    if named and len(named) != len(sources) or len(sources) > 1 and len(named) < 2:
        parser.error("--data: give one source, or NAME=SOURCE at least twice (distinct names)")
    data_overrides = {"source": next(iter(named.values())) if named else sources[0]}
    if args.split:
        data_overrides["split"] = args.split
    config = config.updated({"data": data_overrides, "text": {"encoder": args.text_encoder}, "train": train})
    started = time.time()
    data = None  # one source: loaded from config.data.source
    if named:
        data = join_scenarios({n: load_source(config.updated({"data": {"source": s}})) for n, s in named.items()})
    report = run_scenario_comparison(config, args.output_dir, data=data)
    print(report["markdown"])
    print(f"scenario comparison in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
