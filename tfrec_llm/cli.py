"""`tfrec-llm` command line: a thin layer over the library API.

Subcommands: train, evaluate, export, adapt and update (cli_adapt_update.py), add-items,
recommend (--history or --query), bench-serving, bench-queries, benchmark,
benchmark-medians and compare (cli_benchmarks.py), data describe. Each maps flags onto an `ExperimentConfig` (or
plain arguments) and calls one library function; errors in user input end
with a one-line message and exit code 2, not a stack trace.
"""

import argparse
import logging
import sys

import tfrec_llm  # noqa: F401  (selects legacy Keras before TensorFlow loads)
from tfrec_llm.keras_setup import import_tensorflow_quietly
from tfrec_llm.experiment_config import DEFAULT_TEXT_ENCODER, ConfigError, DataConfig, ExperimentConfig
from tfrec_llm.cli_adapt_update import add_adapt_parser, add_update_parser, run_adapt, run_update
from tfrec_llm.cli_benchmarks import BENCHMARK_COMMANDS, add_benchmark_parsers, run_benchmark_command

logger = logging.getLogger("tfrec_llm")

TEXT_ENCODER_HELP = (
    f"KerasHub preset, hf://..., local preset or HF BERT directory (default: {DEFAULT_TEXT_ENCODER}, "
    "from the Hugging Face cache or downloaded once; offline it falls back with a warning); "
    "'none': the not pretrained catalog-vocabulary BERT, without trying the network"
)

SUMMARY_KEYS = ("recall@10", "recall@50", "recall@100", "ndcg@10", "mrr", "n")


def _add_data_arguments(parser, required=False):
    parser.add_argument(
        "--data",
        required=required,
        action="append",
        help="builtin[:key=value,...] | tfds:movielens/<config> | a MovieLens directory | "
        "an interactions .csv/.parquet file; or NAME=SOURCE given more than once: the sources joined "
        "as scenarios NAME (ids become NAME/id; recorded as data.scenario_sources)",
    )
    parser.add_argument("--items", help="item catalog .csv/.parquet (with a file --data)")
    parser.add_argument("--tfds-manual-dir", help="directory with a manually downloaded TFDS archive")
    parser.add_argument("--tfds-data-dir", help="where TFDS prepares datasets")
    parser.add_argument("--split", choices=["leave_last_out", "time_cut", "random"])
    parser.add_argument(
        "--strict", action="store_true", default=None, help="turn documented data fallbacks (skipped rows) into errors"
    )
    parser.add_argument(
        "--columns",
        help="which columns of a .csv/.parquet --data/--items hold what, e.g. "
        "user_id=visitor,item_id=sku,timestamp=ts,label=stars,scenario=site,"
        "catalog_item_id=id,text=title+tags,attributes=genres",
    )


def _add_text_length_argument(parser):
    parser.add_argument(
        "--text-sequence-length",
        type=int,
        help="tokens per item text, [CLS] and [SEP] included (text.sequence_length); "
        "longer texts are cut, with a warning counting them",
    )


def _data_overrides(args, config: ExperimentConfig = None) -> dict:
    """The data section set by the flags; `--columns` adds to the columns of `config`."""
    values = {
        **(DataConfig.parse_sources(args.data) if args.data else {}),
        "items": args.items,
        "tfds_manual_dir": args.tfds_manual_dir,
        "tfds_data_dir": args.tfds_data_dir,
        "split": args.split,
        "strict": args.strict,
    }
    if args.columns is not None:
        base = dict(config.data.columns) if config is not None else {}
        values["columns"] = {**base, **DataConfig.parse_columns(args.columns)}
    return {k: v for k, v in values.items() if v is not None}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tfrec-llm", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train, evaluate and save a model")
    _add_data_arguments(train)
    train.add_argument("--output-dir", required=True)
    train.add_argument("--config", help="JSON ExperimentConfig (any subset of keys)")
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--learning-rate", type=float)
    train.add_argument("--seed", type=int)
    train.add_argument("--text-encoder", help=TEXT_ENCODER_HELP)
    train.add_argument("--text-mode", choices=["frozen", "finetune", "lora"])
    _add_text_length_argument(train)
    train.add_argument("--strategy", choices=["default", "mirrored", "multiworker", "tpu"])
    train.add_argument("--mixed-precision", action="store_true", default=None)
    train.add_argument("--no-text", action="store_true", help="ID-only baseline: switch the text tower off")
    train.add_argument("--no-item-ids", action="store_true", help="text-only: switch item-id embeddings off")
    train.add_argument("--export-dir", help="also export SavedModels here after training")

    evaluate = commands.add_parser("evaluate", help="evaluate a trained model")
    evaluate.add_argument("--model-dir", required=True)
    _add_data_arguments(evaluate)
    evaluate.add_argument("--output", help="write the metrics JSON here")
    evaluate.add_argument(
        "--ranks-output", help="write each test example's target rank here (.npz, for `tfrec-llm compare`)"
    )

    export = commands.add_parser("export", help="write TF Serving SavedModels")
    export.add_argument("--model-dir", required=True)
    export.add_argument("--export-dir", required=True)
    export.add_argument("--max-k", type=int, default=100)
    export.add_argument("--no-validate", action="store_true", help="skip the fresh-process validation")
    export.add_argument("--config-base-path", help="model base path written into models.config (e.g. /models)")

    add_adapt_parser(commands, _add_data_arguments)

    add_items = commands.add_parser("add-items", help="add new items (from their text) to the retrieval export")
    add_items.add_argument("--export-dir", required=True)
    add_items.add_argument("--items", required=True, help="CSV with item_id and text columns")

    add_update_parser(commands, _add_data_arguments)

    recommend = commands.add_parser("recommend", help="recommend from exported SavedModels only")
    recommend.add_argument("--export-dir", required=True)
    recommend.add_argument("--history", help="comma-separated item ids, oldest first (with --query/--profile: who)")
    request = recommend.add_mutually_exclusive_group()
    request.add_argument("--query", help="a natural-language request, e.g. 'a funny cartoon for kids'")
    request.add_argument("--profile", help="a new user's taste in words, e.g. 'likes war films and old westerns'")
    recommend.add_argument(
        "--history-weight",
        type=float,
        help="w in [0, 1] of (1 - w) * text + w * history with --query/--profile (default: the measured one)",
    )
    recommend.add_argument(
        "--text-similarity-weight",
        type=float,
        help="alpha adding alpha * z(BERT cosine of text and item) with --profile or --query; negative: "
        "alpha = the std of the request's own scores (default: the measured one; --query alone: that rule, "
        "history weight 0)",
    )
    recommend.add_argument(
        "--popularity-weight",
        type=float,
        help="beta >= 0 adding beta * the item's popularity prior with --profile or --query (default: the "
        "measured one for --profile, 0 for --query)",
    )
    recommend.add_argument("--k", type=int, default=10)
    recommend.add_argument(
        "--explain",
        action="store_true",
        help="name the history items whose removal lowers each item's score most (leave-one-out)",
    )
    recommend.add_argument(
        "--diversity", type=float, default=0.0, help="MMR lambda in [0, 1] re-ranking the candidates (0: relevance)"
    )
    recommend.add_argument(
        "--tail-boost", type=float, default=0.0, help="beta >= 0: relevance + beta for tail items (the evaluator's)"
    )

    add_benchmark_parsers(commands, _add_data_arguments, _add_text_length_argument, TEXT_ENCODER_HELP)

    data = commands.add_parser("data", help="data utilities")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    describe = data_commands.add_parser("describe", help="print statistics of a data source")
    _add_data_arguments(describe, required=True)
    return parser


def _train_config(args) -> ExperimentConfig:
    config = ExperimentConfig.from_json_file(args.config) if args.config else ExperimentConfig()
    train = {
        k: v
        for k, v in {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "learning_rate": args.learning_rate,
            "seed": args.seed,
            "strategy": args.strategy,
            "mixed_precision": args.mixed_precision,
        }.items()
        if v is not None
    }
    text = {
        k: v
        for k, v in {
            "encoder": args.text_encoder,
            "mode": args.text_mode,
            "sequence_length": args.text_sequence_length,
        }.items()
        if v is not None
    }
    model = {}
    if args.no_text:
        model["use_text"] = False
    if args.no_item_ids:
        model["use_item_ids"] = False
    return config.updated({"data": _data_overrides(args, config), "train": train, "text": text, "model": model})


def text_encoder_line(training: dict) -> str:
    """Which text encoder a run used, from the `training` section of metrics.json."""
    from tfrec_llm.models.text.no_text_encoder import NO_TEXT_ENCODER_SOURCE  # pylint: disable=import-outside-toplevel

    if training["text_encoder"] == NO_TEXT_ENCODER_SOURCE:
        return f"text encoder: {NO_TEXT_ENCODER_SOURCE}"
    kind = (
        "pretrained"
        if training["text_encoder_pretrained"]
        else "NOT pretrained: random weights, vocabulary from the catalog"
    )
    return f"text encoder: {training['text_encoder']} ({kind})"


def format_metrics(metrics: dict) -> str:
    """A short table: overall and per stratum, the headline metrics."""
    rows = [("overall", metrics["overall"])] + sorted(metrics.get("strata", {}).items())
    header = f"{'stratum':<22}" + "".join(f"{k:>12}" for k in SUMMARY_KEYS)
    lines = [header, "-" * len(header)]
    for name, values in rows:
        cells = []
        for key in SUMMARY_KEYS:
            value = values.get(key)
            cells.append(f"{'-' if value is None else (value if key == 'n' else f'{value:.4f}'):>12}")
        lines.append(f"{name:<22}" + "".join(cells))
    if "factorized_top_k" in metrics:
        lines.append(
            "TFRS FactorizedTopK: " + ", ".join(f"{k}={v:.4f}" for k, v in metrics["factorized_top_k"].items())
        )
    if "lists" in metrics:
        lines.append(
            "lists: " + ", ".join(f"{k}={'-' if v is None else round(v, 4)}" for k, v in metrics["lists"].items())
        )
    if metrics.get("empty_history_answer"):
        lines.append(empty_history_line(metrics["empty_history_answer"], metrics.get("empty_history_choice")))
    return "\n".join(lines)


def empty_history_line(answer: str, choice: dict = None) -> str:
    """How requests without history are answered, and the validation evidence when `train` chose it."""
    line = f"requests without history: {'the user tower' if answer == 'model' else 'popularity'}"
    if not choice:
        return line + " (set by model.empty_history_answer)"
    scores = choice["recall@10"]
    if not scores:
        return line + f" (chosen on validation: {choice['reason']})"
    return line + (
        f" (chosen on validation: Recall@10 tower {scores['model']:.4f} vs popularity {scores['popularity']:.4f} "
        f"on {choice['examples']} examples without history)"
    )


def _cell(value) -> str:
    """One printed cell of a recommend row; an explanation's (item id, score drop) pairs as id:drop."""
    if isinstance(value, tuple):
        return " ".join(f"{item_id}:{drop:.4f}" for item_id, drop in value)
    return str(value)


def _run(args):
    if args.command == "train":
        from tfrec_llm.training.trainer import train  # pylint: disable=import-outside-toplevel

        metrics = train(_train_config(args), args.output_dir)
        print(format_metrics(metrics))
        print(
            "wall times (s): "
            + ", ".join(f"{k}={v:.1f}" for k, v in metrics["training"].items() if k.endswith("_seconds"))
        )
        print(text_encoder_line(metrics["training"]))
        if not metrics["training"]["chief"]:
            print(f"multi-worker non-chief: the chief writes {args.output_dir} (and the export)")
            return
        print(f"model written to {args.output_dir}")
        if args.export_dir:
            from tfrec_llm.serving.export.exporter import export_models  # pylint: disable=import-outside-toplevel

            paths = export_models(args.output_dir, args.export_dir)
            print("exported: " + ", ".join(f"{k} -> {v}" for k, v in paths.items()))
    elif args.command == "evaluate":
        from tfrec_llm.training.trainer import evaluate_model_dir  # pylint: disable=import-outside-toplevel

        metrics = evaluate_model_dir(args.model_dir, {"data": _data_overrides(args)}, args.output, args.ranks_output)
        print(format_metrics(metrics))
    elif args.command == "export":
        from tfrec_llm.serving.export.exporter import export_models  # pylint: disable=import-outside-toplevel

        paths = export_models(
            args.model_dir,
            args.export_dir,
            max_k=args.max_k,
            validate=not args.no_validate,
            config_base_path=args.config_base_path,
        )
        print("\n".join(f"{name}: {path}" for name, path in paths.items()))
    elif args.command == "adapt":
        run_adapt(args, _data_overrides(args), format_metrics)
    elif args.command == "add-items":
        from tfrec_llm.serving.catalog.catalog_growth import add_items  # pylint: disable=import-outside-toplevel

        print(f"new retrieval version: {add_items(args.export_dir, args.items)}")
    elif args.command == "update":
        run_update(args, _data_overrides(args))
    elif args.command == "recommend":
        if args.history is None and args.query is None and args.profile is None:
            raise ValueError("recommend needs --history, --query or --profile.")
        if args.profile is not None or args.query is not None:  # words (+ a history): the text_retrieval blend
            from tfrec_llm.queries.personal_retriever import personal_recommendations  # pylint: disable=import-outside-toplevel

            if args.explain or getattr(args, "diversity", 0) or getattr(args, "tail_boost", 0):
                raise ValueError("--explain, --diversity and --tail-boost serve --history requests without text.")
            history = [h.strip() for h in (args.history or "").split(",") if h.strip()]
            rows = personal_recommendations(  # weights left None: the measured defaults (a request alone: w = 0)
                args.export_dir,
                args.profile if args.profile is not None else args.query,
                history,
                args.k,
                args.history_weight,
                profile=args.profile is not None,
                similarity_weight=args.text_similarity_weight,
                popularity_weight=args.popularity_weight,
            )
        elif any(w is not None for w in (args.history_weight, args.text_similarity_weight, args.popularity_weight)):
            raise ValueError(
                "--history-weight, --text-similarity-weight and --popularity-weight blend --query or --profile "
                "with --history."
            )
        else:
            from tfrec_llm.serving.saved_model_recommender import recommend  # pylint: disable=import-outside-toplevel

            history = [h.strip() for h in args.history.split(",") if h.strip()]
            rows = recommend(
                args.export_dir,
                history,
                k=args.k,
                explain=args.explain,
                diversity=args.diversity,
                tail_boost=args.tail_boost,
            )
        for row in rows:
            print("\t".join(_cell(cell) for cell in row))
    elif args.command in BENCHMARK_COMMANDS:
        run_benchmark_command(args, _data_overrides)
    elif args.command == "data":
        from tfrec_llm.data.dataset_statistics import describe, format_statistics  # pylint: disable=import-outside-toplevel
        from tfrec_llm.data.data_split import split_interactions  # pylint: disable=import-outside-toplevel
        from tfrec_llm.training.experiment_data import load_source  # pylint: disable=import-outside-toplevel

        config = ExperimentConfig().updated({"data": _data_overrides(args)})
        data = load_source(config)
        d = config.data
        split = split_interactions(
            data.interactions, d.split, d.time_cut_quantile, d.random_test_fraction, d.split_seed
        )
        print(format_statistics(describe(data, cold_item_ids=split.cold_item_ids)))
        if data.report.skipped:
            print(f"loading: {data.report.summary()}")
        for note in data.report.notes:
            print(f"note: {note}")


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if not args.verbose:
        import_tensorflow_quietly()  # TensorFlow's C++ start-up lines only with -v
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    if not args.verbose:  # TensorFlow's own INFO lines (e.g. each checkpoint's sharding time) only with -v
        logging.getLogger("absl").setLevel(logging.WARNING)
    from tfrec_llm.data.data_error import DataError  # pylint: disable=import-outside-toplevel
    from tfrec_llm.models.text.encoder_loading import TextEncoderError  # pylint: disable=import-outside-toplevel

    try:
        _run(args)
    except (ConfigError, DataError, TextEncoderError, FileNotFoundError, FileExistsError, ValueError) as error:
        if args.verbose:
            raise
        print(f"tfrec-llm {args.command}: error: {error}  (run with -v for the traceback)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
