"""`tfrec-llm adapt` and `tfrec-llm update`: their arguments, and running them over the library.

`cli.py` wires the parser and handles errors; this module adds the two
subcommands' flags (`add_adapt_parser`, `add_update_parser`) and maps them
onto `AdaptConfig` / `UpdateConfig` and `adapt` / `update_from_source`
(`run_adapt`, `run_update`).

Example:
    add_update_parser(commands, add_data_arguments)
    ...
    run_update(args, data_overrides(args))
"""

import argparse
from typing import Callable

from tfrec_llm.experiment_config import ADAPT_PARTS, MATCH_ITEMS_BY, AdaptConfig, UpdateConfig


def _given(values: dict) -> dict:
    """The flags the user gave (None = left to the library's default)."""
    return {k: v for k, v in values.items() if v is not None}


def add_adapt_parser(commands, add_data_arguments: Callable) -> argparse.ArgumentParser:
    """Adds `adapt` to the subcommands `commands`; `add_data_arguments(parser, required)` adds --data & co."""
    adapt = commands.add_parser("adapt", help="fit a trained model to a new domain; its items enter through their text")
    adapt.add_argument("--model-dir", required=True, help="a trained model directory")
    add_data_arguments(adapt, required=True)
    adapt.add_argument("--output-dir", required=True, help="the adapted model (rerun after an interruption: resumes)")
    adapt.add_argument(
        "--fraction", type=float, help="share of the new domain's training users trained on (0: zero-shot; default 1)"
    )
    adapt.add_argument("--train-only", choices=ADAPT_PARTS, help="which parts train (default all)")
    adapt.add_argument("--epochs", type=int, help="most epochs (default 20, early stopping as the model's)")
    adapt.add_argument("--learning-rate", type=float)
    adapt.add_argument("--seed", type=int)
    adapt.add_argument("--from-scratch", action="store_true", default=None, help="baseline: a fresh model, same data")
    adapt.add_argument("--text-encoder", help="the encoder expected (an error unless it is the model's own)")
    adapt.add_argument(
        "--match-items-by",
        choices=MATCH_ITEMS_BY,
        help="new items equal to a trained item by this field start from its id row (default auto: title)",
    )
    return adapt


def add_update_parser(commands, add_data_arguments: Callable) -> argparse.ArgumentParser:
    """Adds `update` to the subcommands `commands` (see `add_adapt_parser`)."""
    update = commands.add_parser("update", help="continue a trained model on new events (new items, users, scenarios)")
    update.add_argument("--model-dir", required=True, help="the trained model (from train or update)")
    add_data_arguments(update, required=True)
    update.add_argument(
        "--output-dir", required=True, help="the updated model directory (rerun after an interruption: resumes)"
    )
    update.add_argument("--epochs", type=int, help="passes over the new and replayed windows (update.epochs)")
    update.add_argument("--learning-rate", type=float)
    update.add_argument("--replay-ratio", type=float, help="older windows replayed per window with new events")
    update.add_argument("--seed", type=int)
    update.add_argument("--text-encoder", help="the encoder you expect the model to have (an error if it differs)")
    update.add_argument("--export-dir", help="also export the updated model here as new versions")
    return update


def run_adapt(args: argparse.Namespace, data_overrides: dict, format_metrics: Callable[[dict], str]):
    """Runs `adapt` with the parsed flags and prints its metrics (`format_metrics`) and wall times."""
    from tfrec_llm.training.domain_adaptation import adapt  # pylint: disable=import-outside-toplevel

    values = {
        "fraction": args.fraction,
        "train_only": args.train_only,
        "epochs": args.epochs,
        "learning_rate": args.learning_rate,
        "seed": args.seed,
        "from_scratch": args.from_scratch,
        "match_items_by": args.match_items_by,
    }
    adapt_config = AdaptConfig(**_given(values))
    metrics = adapt(args.model_dir, args.output_dir, data_overrides, adapt_config, text_encoder=args.text_encoder)
    print(format_metrics(metrics))
    training = metrics["training"]
    print(
        f"trained {training['train_only']} on {training['train_users']} users, {training['epochs_run']} epochs; "
        + "wall times (s): "
        + ", ".join(f"{k}={v:.1f}" for k, v in training.items() if k.endswith("_seconds"))
    )
    match = training.get("item_match")
    if match:
        print(f"item matching: {match['matched']} of {match['new_items']} new items matched by {match['field']}")
    print(f"adapted model written to {args.output_dir}")


def run_update(args: argparse.Namespace, data_overrides: dict):
    """Runs `update_from_source` with the parsed flags, prints its summary and exports with --export-dir."""
    from tfrec_llm.training.incremental_update import update_from_source  # pylint: disable=import-outside-toplevel

    values = {"epochs": args.epochs, "learning_rate": args.learning_rate, "replay_ratio": args.replay_ratio}
    settings = UpdateConfig(**_given({**values, "seed": args.seed}))
    summary = update_from_source(args.model_dir, data_overrides, args.output_dir, settings, args.text_encoder)["update"]
    print(
        f"{summary['new_events']} new events, {summary['new_items']} new items "
        f"({summary['newly_trained_items']} trained for the first time), new values {summary['new_values']}; "
        f"trained {summary['windows_with_new_events']} windows with new events + {summary['replayed_windows']} "
        f"replayed in {summary['train_seconds']:.1f} s (total {summary['seconds']:.1f} s)"
    )
    print(f"model written to {args.output_dir}")
    if args.export_dir:
        from tfrec_llm.serving.export.exporter import export_models  # pylint: disable=import-outside-toplevel

        paths = export_models(args.output_dir, args.export_dir)
        print("exported: " + ", ".join(f"{k} -> {v}" for k, v in paths.items()))
