"""The adaptation curve: Recall@10 against the share of a new domain's training users.

For each fraction of the new domain's training users (0 = zero-shot), on
the same test examples of the new domain (every test user served from their
history):

- `adapted`: the trained model adapted with `adapt()` (at 0: zero-shot, the
  item table built from the new domain's text, nothing trained);
- `scratch`: a fresh model of the same architecture and text encoder trained
  on the same users with the same budget (`AdaptConfig.from_scratch`);
- `ease` and `popularity`: fitted on the same users' events
  (`benchmark/ease_baseline.py`, `benchmark/popularity_baseline.py`).

Targets (issue 9): zero-shot beats popularity fitted on 1%; adapted beats
scratch by >= 1.3x at 1% and at 10%.

Example:
    report = run_adaptation_curve("runs/mls", {"source": "../shared/data/ml-100k"}, "runs/adapt")
    print(report["markdown"])
"""

import json
import os
import shutil
import time
from typing import Dict, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tfrec_llm.benchmark.ease_baseline import (
    EaseBaseline,
    catalog_events,
    gram_matrix,
    item_weights_from_gram,
    select_l2,
    with_seen_histories,
)
from tfrec_llm.benchmark.popularity_baseline import PopularityBaseline
from tfrec_llm.benchmark.report import format_target_lines
from tfrec_llm.experiment_config import AdaptConfig, ExperimentConfig
from tfrec_llm.training.domain_adaptation import adapt, domain_experiment
from tfrec_llm.training.experiment_data import load_source
from tfrec_llm.training.model_assets import ModelAssets
from tfrec_llm.training.model_evaluation import evaluate_model
from tfrec_llm.training.trained_model import CONFIG_FILE
from tfrec_llm.training.trainer import build_assets

FRACTIONS = (0.0, 0.01, 0.1, 1.0)
METHODS = ("adapted", "scratch", "ease", "popularity")
METRIC = "recall@10"
TARGET_RATIO = 1.3
REPORT_FILE = "adaptation_report.json"
PLOT_FILE = "adaptation_curve.png"
TEXT_CACHE_FILE = "text_cache.npz"  # written by `trainer.text_tables`, checked by its key


def fraction_baselines(model_dir: str, config: ExperimentConfig, data, fraction: float, seed: int) -> Dict[str, dict]:
    """{"popularity": metrics, "ease": metrics or {"skipped": reason}} fitted on the fraction's users."""
    experiment = domain_experiment(config, data, ModelAssets.load(model_dir), AdaptConfig(fraction=fraction, seed=seed))
    no_tokens = np.zeros((experiment.vocabulary.size, 0), np.int32)  # the baselines read no text
    assets = build_assets(experiment, experiment.data.catalog.texts(config.text.text_fields), no_tokens, None)
    exclude_seen = experiment.split.excludes_seen_items
    results = {}
    started = time.time()
    results["popularity"] = evaluate_model(
        PopularityBaseline(assets.item_popularity), assets, experiment.test_examples, exclude_seen, 0, seed
    )
    results["popularity"]["seconds"] = time.time() - started
    started = time.time()
    try:
        events = experiment.split.train
        selection = select_l2(events, experiment.vocabulary, exclude_seen=exclude_seen, seed=seed)
        _, rows, items = catalog_events(events, experiment.vocabulary)
        weights = item_weights_from_gram(gram_matrix(rows, items, experiment.vocabulary.num_items), selection["l2"])
        test = with_seen_histories(experiment.test_examples)
        results["ease"] = evaluate_model(EaseBaseline(weights), assets, test, exclude_seen, 0, seed)
        results["ease"]["l2"] = selection["l2"]
    except ValueError as error:  # e.g. no user with two events to choose l2 on
        results["ease"] = {"skipped": str(error)}
    results["ease"]["seconds"] = time.time() - started
    return results


def run_adaptation_curve(
    model_dir: str,
    data_overrides: dict,
    output_dir: str,
    fractions: Sequence[float] = FRACTIONS,
    epochs: int = 20,
    seed: int = 0,
    train_only: str = "all",
    match_items_by: str = "auto",
) -> dict:
    """Adapts, trains from scratch and fits the baselines at every fraction; writes report and plot.

    `match_items_by`: the adapted models' item matching (`AdaptConfig.match_items_by`).
    """
    config = ExperimentConfig.from_json_file(os.path.join(model_dir, CONFIG_FILE)).updated({"data": data_overrides})
    data = load_source(config)
    rows = []
    text_cache = None  # the new domain's text, encoded by the first run, copied to the next ones
    for fraction in fractions:
        row = {"fraction": fraction}
        adapted = AdaptConfig(fraction, train_only, epochs, seed=seed, match_items_by=match_items_by)
        runs = {"adapted": adapted}
        if fraction > 0:
            runs["scratch"] = AdaptConfig(fraction=fraction, epochs=epochs, seed=seed, from_scratch=True)
        for method, adapt_config in runs.items():
            started = time.time()
            out = os.path.join(output_dir, f"{method}_{fraction:g}")
            if text_cache is not None:
                os.makedirs(out, exist_ok=True)
                shutil.copy(text_cache, os.path.join(out, TEXT_CACHE_FILE))
            metrics = adapt(model_dir, out, data_overrides, adapt_config, data=data)
            if os.path.exists(os.path.join(out, TEXT_CACHE_FILE)):
                text_cache = os.path.join(out, TEXT_CACHE_FILE)
            row[method] = _summary(metrics, time.time() - started)
            row["train_users"] = metrics["training"]["train_users"]
        for method, metrics in fraction_baselines(model_dir, config, data, fraction, seed).items():
            row[method] = _summary(metrics, metrics["seconds"])
        rows.append(row)
    report = {"model_dir": model_dir, "data": data_overrides, "match_items_by": match_items_by, "rows": rows}
    report["targets"] = targets(rows)
    report["markdown"] = markdown(report)
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, REPORT_FILE), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    plot_curve(rows, os.path.join(output_dir, PLOT_FILE))
    return report


def _summary(metrics: dict, seconds: float) -> dict:
    if "skipped" in metrics:
        return {"skipped": metrics["skipped"], "seconds": seconds}
    overall = metrics["overall"]
    training = metrics.get("training", {})
    return {
        METRIC: overall[METRIC],
        "ndcg@10": overall["ndcg@10"],
        "n": overall["n"],
        "epochs": training.get("epochs_run"),
        **({"item_match": training["item_match"]} if training.get("item_match") else {}),
        "seconds": seconds,
    }


def _value(row: dict, method: str):
    return row.get(method, {}).get(METRIC)


def targets(rows) -> list:
    """The issue's targets, each with its measured values, pass/MISS and margin."""
    by_fraction = {row["fraction"]: row for row in rows}
    results = []
    if 0.0 in by_fraction and 0.01 in by_fraction:
        zero, popularity = _value(by_fraction[0.0], "adapted"), _value(by_fraction[0.01], "popularity")
        results.append(_target("zero-shot > popularity fitted on 1%", zero, popularity, zero - popularity))
    for fraction in (0.01, 0.1):
        if fraction in by_fraction:
            adapted, scratch = _value(by_fraction[fraction], "adapted"), _value(by_fraction[fraction], "scratch")
            margin = adapted - TARGET_RATIO * scratch
            results.append(_target(f"adapted >= {TARGET_RATIO} x scratch at {fraction:.0%}", adapted, scratch, margin))
    return results


def _target(name, value, reference, margin) -> dict:
    return {"target": name, "value": value, "reference": reference, "margin": margin, "passed": margin > 0}


def markdown(report: dict) -> str:
    """The curve as a table (Recall@10, NDCG@10 in brackets) and the targets."""
    header = "| fraction of users | train users | " + " | ".join(METHODS) + " |"
    lines = [header, "|" + "---|" * (len(METHODS) + 2)]
    for row in report["rows"]:
        cells = []
        for method in METHODS:
            result = row.get(method)
            if result is None or "skipped" in result:
                cells.append("–")
            else:
                cells.append(f"{result[METRIC]:.4f} ({result['ndcg@10']:.4f}), {result['seconds']:.0f} s")
        lines.append(f"| {row['fraction']:.0%} | {row.get('train_users', 0)} | " + " | ".join(cells) + " |")
    lines.append("")
    matches = [row["adapted"]["item_match"] for row in report["rows"] if "item_match" in row.get("adapted", {})]
    if matches:
        m = matches[0]
        lines += [f"Item matching: {m['matched']} of {m['new_items']} new items matched by {m['field']}.", ""]
    lines += format_target_lines(report["targets"])
    return "\n".join(lines)


def plot_curve(rows, path: str) -> str:
    """Recall@10 against the fraction (categorical axis: 0% has no log), one line per method."""
    figure = Figure(figsize=(7.0, 4.0), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    positions = np.arange(len(rows))
    for method in METHODS:
        values = [_value(row, method) for row in rows]
        axes.plot(positions, [np.nan if v is None else v for v in values], marker="o", label=method)
    axes.set_xticks(positions, [f"{row['fraction']:.0%}" for row in rows])
    axes.set_xlabel("share of the new domain's training users")
    axes.set_ylabel(METRIC)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    return path
