"""Medians over benchmark runs that differ only in the seed, and the targets judged on them.

Where a target's margin is within one seed's spread, one run proves nothing:
`tfrec-llm benchmark --seed S` writes one run per seed, and
`tfrec-llm benchmark-medians RUN_DIR ...` reads their `report.json`, checks
that they share data, split and config apart from `train.seed`, and writes
`report_medians.md` / `report_medians.json`: every model's median metrics
(overall, per stratum, per history cut), each seed's Recall@10 and NDCG@10
and epochs, and the targets of `targets.evaluate_targets` taken on the
medians. Popularity and EASE do not depend on the seed; their medians equal
each run's value.
"""

import json
import os
from typing import Dict, List, Sequence

import numpy as np

from tfrec_llm.benchmark.benchmark_models import is_measured
from tfrec_llm.benchmark.report import (
    TABLE_METRICS,
    format_number,
    format_targets_markdown,
    markdown_row,
    write_report_files,
)
from tfrec_llm.benchmark.runner import REPORT_JSON_FILE
from tfrec_llm.benchmark.target_intervals import RunRanks, add_margin_intervals, load_run_ranks
from tfrec_llm.benchmark.targets import evaluate_targets

MEDIANS_JSON_FILE = "report_medians.json"
MEDIANS_MD_FILE = "report_medians.md"
PER_SEED_METRICS = ("recall@10", "ndcg@10")
GROUPED_SECTIONS = ("strata", "history_cuts")  # {place: metrics}; "overall" is metrics itself


def median_metrics(metric_dicts: Sequence[dict]) -> dict:
    """{metric: median} over the metrics every dict holds as a number."""
    shared = [key for key in metric_dicts[0] if all(isinstance(d.get(key), (int, float)) for d in metric_dicts)]
    return {key: float(np.median([d[key] for d in metric_dicts])) for key in shared}


def median_model_report(model_reports: Sequence[dict]) -> dict:
    """One model's median report (overall, strata, history cuts) over its per-seed reports."""
    if not all(is_measured(report) for report in model_reports):
        return next(report for report in model_reports if not is_measured(report))  # skipped in some run
    medians = {"overall": median_metrics([report["overall"] for report in model_reports])}
    for section in GROUPED_SECTIONS:
        sections = [report.get(section, {}) for report in model_reports]  # older reports may lack one
        places = [place for place in sections[0] if all(place in present for present in sections)]
        medians[section] = {place: median_metrics([present[place] for present in sections]) for place in places}
    return medians


def seed_medians_report(reports: Sequence[dict], names: Sequence[str], run_ranks: Sequence[RunRanks] = ()) -> dict:
    """The medians report of benchmark `reports` (report.json dicts) read from `names` (for errors).

    `run_ranks`: each run's per-example ranks, for the targets' intervals
    (`target_intervals`; without them the checks say why they have none).
    """
    if len(reports) < 2:
        raise ValueError(f"benchmark-medians needs at least two runs, got {len(reports)}.")
    _check_same_protocol(reports, names)
    seeds = [report["config"]["train"]["seed"] for report in reports]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"the runs must differ in train.seed; seeds: {dict(zip(names, seeds))}.")
    models = {
        name: median_model_report([report["models"][name] for report in reports])
        for name in reports[0]["models"]
        if all(name in report["models"] for report in reports)
    }
    per_seed = {
        name: {
            **{
                metric: [r["models"][name].get("overall", {}).get(metric) for r in reports]
                for metric in PER_SEED_METRICS
            },
            "epochs": [r["models"][name].get("training", {}).get("epochs_run") for r in reports],
        }
        for name in models
    }
    data = reports[0]["data"]
    targets = evaluate_targets(models, data["name"], data["split"])
    add_margin_intervals(targets, list(run_ranks))
    return {
        "data": data,
        "runs": list(names),
        "seeds": seeds,
        "models": models,
        "per_seed": per_seed,
        "targets": targets,
    }


def seed_medians_markdown(report: dict) -> str:
    """report_medians.md: the median table with each seed's values, then the targets on the medians."""
    seeds = "/".join(str(seed) for seed in report["seeds"])
    header = ["model", *(f"{metric} median" for metric in TABLE_METRICS), "tail R@50", "last-1 R@10", "last-3 R@10"]
    header += [f"recall@10 seeds {seeds}", f"ndcg@10 seeds {seeds}", "epochs"]
    lines = [markdown_row(header), markdown_row(["---"] * len(header))]
    for name, medians in report["models"].items():
        if not is_measured(medians):
            lines.append(markdown_row([name, *["–"] * (len(header) - 2), medians.get("skipped", "skipped")]))
            continue
        runs = report["per_seed"][name]
        cuts = medians.get("history_cuts", {})
        cells = [name, *(format_number(medians["overall"].get(metric)) for metric in TABLE_METRICS)]
        cells += [format_number(medians.get("strata", {}).get("tail", {}).get("recall@50"))]
        cells += [format_number(cuts.get(cut, {}).get("recall@10")) for cut in ("last_1", "last_3")]
        cells += ["/".join(format_number(value) for value in runs[metric]) for metric in PER_SEED_METRICS]
        cells += ["/".join(str(epochs or "–") for epochs in runs["epochs"])]
        lines.append(markdown_row(cells))
    data = report["data"]
    return "\n".join(
        [
            f"# tfrec-llm benchmark medians: {data['name']} ({data['split']} split), seeds {seeds}",
            "",
            "Runs: " + ", ".join(report["runs"]) + ". Same data, split and config apart from train.seed.",
            "",
            "\n".join(lines),
            "",
            "## Targets on the medians",
            "",
            format_targets_markdown(report["targets"]),
        ]
    )


def write_seed_medians(run_dirs: Sequence[str], output_dir: str) -> Dict[str, str]:
    """Reads each run's report.json, writes the medians report; returns {"report_json", "report_md", "markdown"}."""
    reports = []
    for run_dir in run_dirs:
        path = os.path.join(run_dir, REPORT_JSON_FILE)
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path}: no benchmark report (run `tfrec-llm benchmark --output-dir {run_dir}`).")
        with open(path, encoding="utf-8") as f:
            reports.append(json.load(f))
    run_ranks = [load_run_ranks(run_dir, report["models"]) for run_dir, report in zip(run_dirs, reports)]
    report = seed_medians_report(reports, list(run_dirs), run_ranks)
    markdown = seed_medians_markdown(report)
    paths = write_report_files(output_dir, report, markdown, MEDIANS_JSON_FILE, MEDIANS_MD_FILE)
    return {**paths, "markdown": markdown}


def _check_same_protocol(reports: Sequence[dict], names: Sequence[str]):
    reference = _without_seed(reports[0]["config"])
    for name, report in zip(names[1:], reports[1:]):
        if report["data"] != reports[0]["data"]:
            raise ValueError(f"{name}: other data or split than {names[0]}: medians need the same protocol.")
        differing = _differing_keys(reference, _without_seed(report["config"]))
        differing += _differing_keys(
            reports[0].get("peer_config") or {}, report.get("peer_config") or {}, "peer_config."
        )
        if differing:
            raise ValueError(f"{name}: config differs from {names[0]}'s beyond train.seed: {', '.join(differing)}.")


def _without_seed(config: dict) -> dict:
    return {**config, "train": {k: v for k, v in config["train"].items() if k != "seed"}}


def _differing_keys(first: dict, second: dict, prefix: str = "") -> List[str]:
    keys = []
    for key in sorted(set(first) | set(second)):
        a, b = first.get(key), second.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            keys += _differing_keys(a, b, f"{prefix}{key}.")
        elif a != b:
            keys.append(f"{prefix}{key}")
    return keys
