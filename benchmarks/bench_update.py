"""The feedback loop measured: `update` against a stale model and a full retrain, on ml-100k by time.

ml-100k is cut by timestamp quantiles into a base period (the first 60% of
events) and four later slices of 10% each. The base model is trained on the
base period (`train`, time_cut split whose test period is slice 1, a fixed
number of epochs, no hold-out). Then, for k = 1..3, with slice k+1 as the
test period:

- stale: the base model, never updated (it still reads each user's current
  history at request time);
- previous: the model before this update (the updated model of slice k-1);
- updated: `update_model(previous, slice k)`;
- retrain: `train` from scratch on every event up to slice k, the same epochs, no
  hold-out (the same recipe as the base model, fed everything so far).

Every model is scored the same way: each event of slice k+1 is a target,
read with the user's history of every earlier event (items seen before are
excluded). Also reported: Recall@10 on targets that are new items (never
trained on in the base period) and of new users (no base-period event), the
wall time of each update and retrain, and the request-time effect: the stale
model with histories frozen at the end of the base period against the same
model reading the current histories (no retraining in between).

With `--early-stopping`, the base model and every retrain are trained as
`train` trains by default: each epoch checked on the time_cut split's own
validation target (the last 10% of the training period, held out of
training), stopped after `train.early_stopping_patience` (5) epochs without a
better validation Recall@10, the best epoch's weights restored; `--epochs` is
then the most epochs (default 50, as `tfrec-llm benchmark`). Without it: a
fixed `--epochs` (default 5), no hold-out. The report records each trained
model's epochs run and best epoch.

Run (fallback text encoder):
    python benchmarks/bench_update.py --output-dir /tmp/bench_update --text-encoder none --epochs 5 --update-epochs 2
    python benchmarks/bench_update.py --output-dir /tmp/bench_update_es --text-encoder none --early-stopping
"""

import argparse
import json
import os
import sys
import time

import numpy as np

import tfrec_llm  # noqa: F401  (selects tf_keras before TensorFlow is imported)
from tfrec_llm.data.data_source import load_data
from tfrec_llm.data.interaction_data import InteractionData
from tfrec_llm.data.sequence_examples import build_examples
from tfrec_llm.experiment_config import ExperimentConfig, TrainConfig, UpdateConfig
from tfrec_llm.training.event_log import concatenate_events, save_events
from tfrec_llm.training.experiment_data import vocabularies_from_assets
from tfrec_llm.training.incremental_update import update_model
from tfrec_llm.training.model_evaluation import evaluate_model
from tfrec_llm.training.trained_model import TrainedModel
from tfrec_llm.training.trainer import train

DEFAULT_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "ml-100k")
BOUNDARY_QUANTILES = (0.6, 0.7, 0.8, 0.9)
FIXED_EPOCHS, EARLY_STOPPING_MAX_EPOCHS = 5, 50  # the latter = `tfrec-llm benchmark`'s most epochs
WALL_FILE = "wall_seconds.json"
CONFIG = {
    "data": {"split": "time_cut", "max_history": 50},
    "model": {"embedding_dim": 64},
    "train": {"batch_size": 128, "early_stopping_patience": 0, "seed": 0, "verbose": 2},
}


def period_data(data: InteractionData, period: np.ndarray, last: int) -> InteractionData:
    """The events of periods 0..last, with the full catalog and user features."""
    return InteractionData(
        data.name, data.interactions.select(period <= last), data.catalog, data.label_kind, data.user_features
    )


def cut_quantile(period: np.ndarray, k: int) -> float:
    """The time_cut quantile whose test period, in the data of periods 0..k+1, is exactly period k+1."""
    before, total = int((period <= k).sum()), int((period <= k + 1).sum())
    return (before - 0.5) / (total - 1)


def recall(trained, examples, mask=None):
    if mask is not None:
        if not mask.any():
            return None
        examples = examples.subset(np.flatnonzero(mask))
    return evaluate_model(trained.model, trained.assets, examples, True)["overall"]["recall@10"]


def slice_scores(model_dir, so_far, test, user_features, base_items, base_users, frozen_until=None):
    """Recall@10 on `test` (overall, new items, new users) with histories from `so_far` (+ earlier test events)."""
    trained = TrainedModel.load(model_dir)
    vocabulary, context = vocabularies_from_assets(trained.assets, user_features)
    events = concatenate_events(so_far, test)
    is_test = np.concatenate([np.zeros(len(so_far), bool), np.ones(len(test), bool)])
    in_history = np.ones(len(events), bool) if frozen_until is None else events.timestamps < frozen_until
    users, counts = np.unique(so_far.user_ids, return_counts=True)
    examples = build_examples(
        events,
        is_test,
        in_history,
        vocabulary,
        context,
        trained.config.data.max_history,
        dict(zip(users.tolist(), counts.tolist())),
    )
    target_ids = np.where(examples.target >= 2, trained.assets.item_ids[np.maximum(examples.target - 2, 0)], "")
    return {
        "recall@10": recall(trained, examples),
        "new_items": recall(trained, examples, ~np.isin(target_ids, base_items)),
        "new_users": recall(trained, examples, ~np.isin(examples.user_ids, base_users)),
        "examples": len(examples),
    }


def cached_seconds(model_dir):
    path = os.path.join(model_dir, WALL_FILE)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)["seconds"]


def recorded_timings(model_dir):
    with open(os.path.join(model_dir, "metrics.json"), encoding="utf-8") as f:
        training = json.load(f)["training"]
    return {k: v for k, v in training.items() if k.endswith("_seconds")}


def epochs_record(model_dir):
    """Epochs run and best epoch (None: no early stopping) of a model `train` wrote."""
    with open(os.path.join(model_dir, "metrics.json"), encoding="utf-8") as f:
        training = json.load(f)["training"]
    return {"epochs_run": training["epochs_run"], "best_epoch": training["best_epoch"]}


def training_config(text_encoder: str, epochs: int, early_stopping: bool) -> ExperimentConfig:
    """The base model's and retrains' config: fixed epochs, or `train`'s default early stopping."""
    config = ExperimentConfig().updated({**CONFIG, "text": {"encoder": text_encoder}})
    if early_stopping:
        patience = TrainConfig.early_stopping_patience
        return config.updated(
            {"train": {"epochs": epochs or EARLY_STOPPING_MAX_EPOCHS, "early_stopping_patience": patience}}
        )
    return config.updated({"train": {"epochs": epochs or FIXED_EPOCHS}})


def timed(function, *args, **kwargs):
    started = time.time()
    result = function(*args, **kwargs)
    return result, time.time() - started


def run(
    data_path: str,
    output_dir: str,
    text_encoder: str,
    epochs: int,
    update_epochs: int,
    replay_ratio: float,
    update_learning_rate: float = None,
    early_stopping: bool = False,
) -> list:
    tag = f"e{update_epochs}_r{replay_ratio:g}_lr{update_learning_rate or 'model'}"
    data = load_data(data_path)
    events = data.interactions
    boundaries = np.quantile(events.timestamps, BOUNDARY_QUANTILES)
    period = np.searchsorted(boundaries, events.timestamps, side="right")
    config = training_config(text_encoder, epochs, early_stopping)
    config = config.updated({"data": {"source": os.path.abspath(data_path)}})
    base_dir = os.path.join(output_dir, "base")
    base_config = config.updated({"data": {"time_cut_quantile": cut_quantile(period, 0)}})
    if os.path.exists(os.path.join(base_dir, "events.npz")):  # a rerun reuses the finished base model
        base_seconds = float(np.sum([v for k, v in recorded_timings(base_dir).items()]))
    else:
        _, base_seconds = timed(train, base_config, base_dir, period_data(data, period, 1))
        save_events(base_dir, events.select(period == 0))
    base_events = events.select(period == 0)
    base_items, base_users = np.unique(base_events.item_ids), np.unique(base_events.user_ids)
    base_end = boundaries[0]
    print(f"base: {len(base_events)} events, {base_seconds:.0f} s", flush=True)
    rows = []
    previous = base_dir
    for k in range(1, len(BOUNDARY_QUANTILES)):
        so_far, test = events.select(period <= k), events.select(period == k + 1)
        new = InteractionData(data.name, events.select(period == k), data.catalog, data.label_kind, data.user_features)
        updated = os.path.join(output_dir, f"updated_{k}_{tag}")
        summary, update_seconds = timed(
            update_model, previous, new, updated, UpdateConfig(update_epochs, update_learning_rate, replay_ratio)
        )
        retrained = os.path.join(output_dir, f"retrain_{k}")
        retrain_config = config.updated(
            {
                "data": {"time_cut_quantile": cut_quantile(period, k)},
            }
        )
        retrain_seconds = cached_seconds(retrained)
        if retrain_seconds is None:  # a rerun (other update settings) reuses the finished retrains
            _, retrain_seconds = timed(train, retrain_config, retrained, period_data(data, period, k + 1))
            with open(os.path.join(retrained, WALL_FILE), "w", encoding="utf-8") as f:
                json.dump({"seconds": retrain_seconds}, f)
        score = {}
        for name, directory in [
            ("stale", base_dir),
            ("previous", previous),
            ("updated", updated),
            ("retrain", retrained),
        ]:
            score[name] = slice_scores(directory, so_far, test, data.user_features, base_items, base_users)
        frozen = slice_scores(base_dir, so_far, test, data.user_features, base_items, base_users, base_end)
        row = {
            "slice": k,
            "test_slice": k + 1,
            "new_events": len(new.interactions),
            "scores": score,
            "stale_frozen_history": frozen,
            "update_seconds": update_seconds,
            "update_train_seconds": summary["update"]["train_seconds"],
            "retrain_seconds": retrain_seconds,
            "retrain_epochs": epochs_record(retrained),
            "update": summary["update"],
        }
        rows.append(row)
        print(json.dumps({k2: v for k2, v in row.items() if k2 != "update"}), flush=True)
        previous = updated
    report = {
        "base_seconds": base_seconds,
        "base_epochs": epochs_record(base_dir),
        "early_stopping": early_stopping,
        "epochs": config.train.epochs,
        "update_epochs": update_epochs,
        "update_learning_rate": update_learning_rate,
        "replay_ratio": replay_ratio,
        "text_encoder": text_encoder,
        "rows": rows,
    }
    with open(os.path.join(output_dir, f"bench_update_{tag}.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
    print(markdown(rows))
    print(
        "epochs run (best): base",
        _epochs_cell(report["base_epochs"]),
        "; retrains",
        ", ".join(_epochs_cell(row["retrain_epochs"]) for row in rows),
        flush=True,
    )
    return rows


def _cell(value):
    return "-" if value is None else f"{value:.4f}"


def _epochs_cell(record):
    best = record["best_epoch"]
    return str(record["epochs_run"]) + ("" if best is None else f" (best {best})")


def markdown(rows: list) -> str:
    lines = [
        "| update with slice | test slice | stale R@10 | previous | updated | retrain | updated / retrain "
        "| update s | retrain s | update / retrain time | retrain epochs | new items: stale / updated / retrain "
        "| new users: stale / updated / retrain | stale, history frozen at base |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        s = row["scores"]
        ratio = s["updated"]["recall@10"] / s["retrain"]["recall@10"]
        lines.append(
            f"| {row['slice']} | {row['test_slice']} | {_cell(s['stale']['recall@10'])} "
            f"| {_cell(s['previous']['recall@10'])} | {_cell(s['updated']['recall@10'])} "
            f"| {_cell(s['retrain']['recall@10'])} | {ratio:.3f} | {row['update_seconds']:.0f} "
            f"| {row['retrain_seconds']:.0f} | {row['update_seconds'] / row['retrain_seconds']:.2f} "
            f"| {_epochs_cell(row['retrain_epochs'])} "
            f"| {' / '.join(_cell(s[m]['new_items']) for m in ('stale', 'updated', 'retrain'))} "
            f"| {' / '.join(_cell(s[m]['new_users']) for m in ('stale', 'updated', 'retrain'))} "
            f"| {_cell(row['stale_frozen_history']['recall@10'])} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--text-encoder", default="none")
    parser.add_argument(
        "--epochs",
        type=int,
        help=f"epochs of the base model and of each retrain (default {FIXED_EPOCHS}); with --early-stopping the most "
        f"epochs (default {EARLY_STOPPING_MAX_EPOCHS})",
    )
    parser.add_argument(
        "--early-stopping",
        action="store_true",
        help="train the base model and retrains as `train` does by default: early stopping on the time_cut "
        "validation target, best epoch restored",
    )
    parser.add_argument("--update-epochs", type=int, default=UpdateConfig.epochs)
    parser.add_argument("--update-learning-rate", type=float, help="default: the model's own")
    parser.add_argument("--replay-ratio", type=float, default=UpdateConfig.replay_ratio)
    args = parser.parse_args(argv)
    run(
        args.data,
        args.output_dir,
        args.text_encoder,
        args.epochs,
        args.update_epochs,
        args.replay_ratio,
        args.update_learning_rate,
        args.early_stopping,
    )


if __name__ == "__main__":
    sys.exit(main())
