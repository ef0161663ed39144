"""Multi-scenario comparison: one shared model against per-scenario and scenario-blind models.

One split of the data (all scenarios), then, with the same config (epochs,
batch size, learning rate, early stopping, seed: the same budget):

- `shared`: one model on every scenario's events, the scenario embedded in
  the user tower (the config as given);
- `shared_star` (with `star_heads=True`): the shared model with STAR
  scenario heads (`model.scenario_heads = "star"`), same events and budget;
- `blind`: the same events with every scenario replaced by one value;
- `per_scenario`: one model per scenario, trained on that scenario's events
  alone (`data/scenario_splits.py`); its test histories hold only that
  scenario's events.

Every model is scored on the same test events of each scenario (checked:
the same users and target items), against the whole catalog.

Target (issue 9): the shared model is no worse than the per-scenario model on
the largest scenario (most training events) and better on the smallest
(checked for `shared` and, when trained, `shared_star`).

Example:
    report = run_scenario_comparison(config, "runs/scenarios")
    print(report["markdown"])
"""

import json
import os
import time
from typing import Dict, Optional

import numpy as np

from tfrec_llm.benchmark.report import format_target_lines
from tfrec_llm.data.interaction_data import InteractionData
from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX
from tfrec_llm.data.scenario_splits import scenario_blind_split, scenario_names, scenario_split
from tfrec_llm.experiment_config import ExperimentConfig
from tfrec_llm.training.experiment_data import ExperimentData, load_source, prepare_experiment_data
from tfrec_llm.training.model_evaluation import evaluate_model
from tfrec_llm.training.trained_model import TrainedModel
from tfrec_llm.training.trainer import train

SHARED, SHARED_STAR, BLIND, PER_SCENARIO = "shared", "shared_star", "blind", "per_scenario"
METHODS = (SHARED, BLIND, PER_SCENARIO)  # always trained; SHARED_STAR with star_heads=True
COLUMNS = (SHARED, SHARED_STAR, PER_SCENARIO, BLIND)  # the report's column order
METRICS = ("recall@10", "ndcg@10", "recall@50")
REPORT_FILE = "scenario_report.json"


def event_pairs(examples) -> list:
    """Sorted (user id, target item index) of known-target examples: what 'the same test events' means."""
    known = examples.target >= FIRST_ITEM_INDEX
    return sorted(zip(examples.user_ids[known].tolist(), examples.target[known].tolist()))


def _scores(metrics: dict) -> dict:
    overall = metrics["overall"]
    return {name: overall[name] for name in METRICS + ("n",)}


def _per_scenario_scores(model_dir: str, experiment: ExperimentData, names: np.ndarray, seed: int) -> dict:
    """{scenario: scores} of a trained all-scenario model on its test examples of each scenario (`names` [n])."""
    trained = TrainedModel.load(model_dir)
    examples = experiment.test_examples
    exclude_seen = experiment.split.excludes_seen_items
    return {
        str(name): _scores(evaluate_model(trained.model, trained.assets, examples.subset(rows), exclude_seen, 0, seed))
        for name, rows in ((n, np.flatnonzero(names == n)) for n in np.unique(names))
    }


def _example_scenarios(experiment: ExperimentData) -> np.ndarray:
    """str [n]: each test example's scenario name (the experiment's scenario vocabulary must know them all)."""
    values = np.concatenate([["unknown"], experiment.context.scenarios.values])
    return values[experiment.test_examples.scenario]


def run_scenario_comparison(
    config: ExperimentConfig, output_dir: str, data: Optional[InteractionData] = None, star_heads: bool = False
) -> dict:
    """Trains the shared, blind and per-scenario models, scores each scenario; writes and returns the report.

    `star_heads`: also train the shared model with STAR scenario heads (`shared_star`).
    """
    config = config.updated({"train": {"eval_max_examples": 0}})  # every test example, for every model
    data = load_source(config) if data is None else data
    shared = prepare_experiment_data(config, data)
    names = _example_scenarios(shared)
    split = shared.split
    scores: Dict[str, Dict[str, dict]] = {method: {} for method in METHODS + ((SHARED_STAR,) if star_heads else ())}
    seconds: Dict[str, float] = {}
    train_events = {str(n): int((split.train.scenarios == n).sum()) for n in scenario_names(split)}
    seed = config.train.seed

    started = time.time()
    train(config, os.path.join(output_dir, SHARED), experiment=shared)
    scores[SHARED] = _per_scenario_scores(os.path.join(output_dir, SHARED), shared, names, seed)
    seconds[SHARED] = time.time() - started

    if star_heads:
        started = time.time()
        star = config.updated({"model": {"scenario_heads": "star"}})
        train(star, os.path.join(output_dir, SHARED_STAR), experiment=shared)
        scores[SHARED_STAR] = _per_scenario_scores(os.path.join(output_dir, SHARED_STAR), shared, names, seed)
        seconds[SHARED_STAR] = time.time() - started

    started = time.time()
    for name in scenario_names(split):
        alone = prepare_experiment_data(config, data, split=scenario_split(split, name))
        if event_pairs(alone.test_examples) != event_pairs(shared.test_examples.subset(np.flatnonzero(names == name))):
            raise AssertionError(f"scenario {name!r}: the per-scenario model's test events differ from the shared's")
        metrics = train(config, os.path.join(output_dir, f"{PER_SCENARIO}_{name}"), experiment=alone)
        scores[PER_SCENARIO][str(name)] = _scores(metrics)
    seconds[PER_SCENARIO] = time.time() - started

    started = time.time()
    blind = prepare_experiment_data(config, data, split=scenario_blind_split(split))
    same_rows = all(  # row by row: `names` labels the blind model's examples too
        np.array_equal(getattr(blind.test_examples, f), getattr(shared.test_examples, f))
        for f in ("user_ids", "target")
    )
    if not same_rows:
        raise AssertionError("the scenario-blind model's test examples differ from the shared model's")
    train(config, os.path.join(output_dir, BLIND), experiment=blind)
    scores[BLIND] = _per_scenario_scores(os.path.join(output_dir, BLIND), blind, names, seed)
    seconds[BLIND] = time.time() - started

    report = {"train_events": train_events, "scores": scores, "seconds": seconds}
    report["targets"] = targets(scores, train_events)
    report["markdown"] = markdown(report)
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, REPORT_FILE), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    return report


def targets(scores: Dict[str, Dict[str, dict]], train_events: Dict[str, int], metric: str = "recall@10") -> list:
    """Shared (and shared_star) vs per-scenario: no worse on the largest scenario, better on the smallest."""
    ordered = sorted(train_events, key=lambda name: (train_events[name], name))
    small, large = ordered[0], ordered[-1]
    results = []
    checks = ((large, "largest", False), (small, "smallest", True))
    for method, (name, kind, strict) in ((m, c) for m in (SHARED, SHARED_STAR) if m in scores for c in checks):
        value, reference = scores[method][name][metric], scores[PER_SCENARIO][name][metric]
        margin = value - reference
        relation = ">" if strict else ">="
        results.append(
            {
                "target": f"{method} {relation} per-scenario on the {kind} scenario ({name}), {metric}",
                "value": value,
                "reference": reference,
                "margin": margin,
                "passed": bool(margin > 0 if strict else margin >= 0),
            }
        )
    return results


def markdown(report: dict) -> str:
    """One row per scenario: Recall@10 (NDCG@10) of each method, test examples, training events; the targets."""
    methods = [m for m in COLUMNS if m in report["scores"]]
    lines = ["| scenario | train events | test examples | " + " | ".join(methods) + " |"]
    lines.append("|" + "---|" * (3 + len(methods)))
    for name, events in sorted(report["train_events"].items()):
        cells = [
            f"{report['scores'][m][name]['recall@10']:.4f} ({report['scores'][m][name]['ndcg@10']:.4f})"
            for m in methods
        ]
        n = report["scores"][SHARED][name]["n"]
        lines.append(f"| {name} | {events:,} | {n:,} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "Wall time: " + ", ".join(f"{m} {report['seconds'][m]:.0f} s" for m in COLUMNS if m in report["seconds"])
    )
    lines += format_target_lines(report["targets"])
    return "\n".join(lines)
