"""`tfrec-llm bench-queries`, `bench-serving`, `benchmark`, `benchmark-medians` and `compare`: flags, and running them.

`cli.py` wires the parser and handles errors; this module adds the five
subcommands (`add_benchmark_parsers`) and maps their flags onto the library's
benchmark functions (`run_benchmark_command`).

Example:
    add_benchmark_parsers(commands, add_data_arguments, add_text_length_argument, TEXT_ENCODER_HELP)
    ...
    if args.command in BENCHMARK_COMMANDS:
        run_benchmark_command(args, data_overrides)
"""

import json
from typing import Callable

from tfrec_llm.evaluation.model_comparison import DEFAULT_METRICS
from tfrec_llm.experiment_config import ExperimentConfig, read_config_json

BENCHMARK_COMMANDS = ("bench-queries", "bench-serving", "benchmark", "benchmark-medians", "compare")
BENCHMARK_MAX_EPOCHS = 50
BENCHMARK_PATIENCE = 10  # ml-100k, 3 seeds: 5 stopped one full model at its 11th epoch (best 6th), 10 at its 29th


def add_benchmark_parsers(
    commands, add_data_arguments: Callable, add_text_length_argument: Callable, text_encoder_help: str
):
    """Adds the five benchmark subcommands to `commands`.

    `add_data_arguments(parser, required)` adds --data & co., `add_text_length_argument(parser)`
    --text-sequence-length; `text_encoder_help` is --text-encoder's help, as `train` gives it.
    """
    queries = commands.add_parser(
        "bench-queries", help="natural-language requests: the model vs exact-word search and BERT alone"
    )
    queries.add_argument("--model-dir", required=True)
    queries.add_argument("--queries", required=True, help="JSON request list, e.g. benchmarks/queries/builtin.json")
    queries.add_argument("--output", help="write the report JSON here")

    bench = commands.add_parser("bench-serving", help="latency/throughput of the retrieval SavedModel")
    bench.add_argument("--sizes", default="10000,100000,1000000")

    benchmark = commands.add_parser("benchmark", help="train baselines and the full model; write a report")
    add_data_arguments(benchmark, required=True)
    benchmark.add_argument("--output-dir", required=True)
    benchmark.add_argument("--config", help="JSON ExperimentConfig used by every model")
    benchmark.add_argument(
        "--peer-config",
        help='JSON file {"model": {...}, "train": {"learning_rate": ...}}: settings of the id-only peers only '
        '(e.g. the width their validation prefers); a section under "id_only" or "id_only_attention" sets that peer',
    )
    benchmark.add_argument("--text-encoder", help=text_encoder_help)
    add_text_length_argument(benchmark)
    benchmark.add_argument(
        "--epochs",
        type=int,
        default=BENCHMARK_MAX_EPOCHS,
        help=f"most epochs per trained model (default {BENCHMARK_MAX_EPOCHS}); each stops "
        "earlier on its validation target (--early-stopping-patience)",
    )
    benchmark.add_argument(
        "--early-stopping-patience",
        type=int,
        default=BENCHMARK_PATIENCE,
        help=f"epochs without a better validation Recall@10 before a model stops (default {BENCHMARK_PATIENCE}; "
        "train.early_stopping_patience)",
    )
    benchmark.add_argument(
        "--seed", type=int, help="train.seed of every trained model (one run per seed: see benchmark-medians)"
    )

    medians = commands.add_parser(
        "benchmark-medians", help="median metrics and targets over benchmark runs that differ only in the seed"
    )
    medians.add_argument("runs", nargs="+", help="output directories of `benchmark` runs (--seed 0, 1, 2, ...)")
    medians.add_argument("--output-dir", required=True, help="writes report_medians.md and report_medians.json")

    compare = commands.add_parser(
        "compare", help="two trained models on the same test examples: each metric's gap and its 95%% interval"
    )
    compare.add_argument(
        "first",
        help="model directory A (with the test_ranks.npz `train` writes) or a ranks .npz (`evaluate --ranks-output`)",
    )
    compare.add_argument("second", help="model directory or ranks .npz B; gaps are B - A")
    compare.add_argument("--metrics", default=",".join(DEFAULT_METRICS), help="comma-separated, e.g. recall@10,mrr")
    compare.add_argument("--places", help="comma-separated passes or strata (default: every one both hold)")
    compare.add_argument("--output", help="write the rows as JSON here")


def run_benchmark_command(args, data_overrides: Callable):
    """Runs the benchmark subcommand `args.command`; `data_overrides(args, config)` maps the data flags."""
    if args.command == "bench-queries":
        from tfrec_llm.queries.benchmark import format_text_query_report, run_text_query_benchmark  # pylint: disable=import-outside-toplevel

        report = run_text_query_benchmark(args.model_dir, args.queries)
        if args.output:
            with open(args.output, "w", encoding="utf-8") as f:
                json.dump(report, f, indent=1)
        print(format_text_query_report(report))
    elif args.command == "bench-serving":
        from tfrec_llm.benchmark.serving_benchmark import run_serving_benchmark  # pylint: disable=import-outside-toplevel

        run_serving_benchmark([int(s) for s in args.sizes.split(",")])
    elif args.command == "benchmark":
        from tfrec_llm.benchmark.runner import run_benchmark  # pylint: disable=import-outside-toplevel

        config = ExperimentConfig.from_json_file(args.config) if args.config else ExperimentConfig()
        overrides = {"data": data_overrides(args, config), "text": {}, "train": {}}
        if args.text_encoder:
            overrides["text"]["encoder"] = args.text_encoder
        if args.text_sequence_length is not None:
            overrides["text"]["sequence_length"] = args.text_sequence_length
        if args.epochs:
            overrides["train"]["epochs"] = args.epochs
        overrides["train"]["early_stopping_patience"] = args.early_stopping_patience
        if args.seed is not None:
            overrides["train"]["seed"] = args.seed
        peer_config = read_config_json(args.peer_config) if args.peer_config else None
        report = run_benchmark(config.updated(overrides), args.output_dir, peer_config=peer_config)
        print(report["markdown"])
    elif args.command == "benchmark-medians":
        from tfrec_llm.benchmark.seed_medians import write_seed_medians  # pylint: disable=import-outside-toplevel

        print(write_seed_medians(args.runs, args.output_dir)["markdown"])
    elif args.command == "compare":
        from tfrec_llm.evaluation.model_comparison import compare_models, format_comparison  # pylint: disable=import-outside-toplevel

        places = args.places.split(",") if args.places else None
        rows = compare_models(args.first, args.second, args.metrics.split(","), places)
        if args.output:
            with open(args.output, "w", encoding="utf-8") as f:
                json.dump(rows, f, indent=1)
        print(format_comparison(rows, args.first, args.second))
