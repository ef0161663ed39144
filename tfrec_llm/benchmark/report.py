"""report.md of a benchmark run, and the best model per stratum.

Sections: the models (overall metrics, seconds per training epoch, and on
ml-100k leave-last-out the published reference rows), the best model per
stratum with its ratio to the second best, every model's metrics per
stratum, the history cuts (every test example re-scored with only its last
k items: a separate table, never a stratum), the targets, TFRS
FactorizedTopK accuracy, costs and plots. Missing values show "–".
"""

import json
import os
from typing import Dict, List, Optional, Sequence

from tfrec_llm.benchmark.benchmark_models import EASE, FULL, is_measured
from tfrec_llm.benchmark.targets import TFRS_PROTOCOL, summary_at

TABLE_METRICS = ("recall@10", "recall@50", "ndcg@10", "mrr")
BEST_METRICS = ("recall@10", "recall@50")
FACTORIZED_COLUMNS = ("top_10_accuracy", "top_50_accuracy", "top_100_accuracy")
PASSED, MISSED, NOT_MEASURABLE = "pass", "MISS", "n/a"
MISSING = "–"


def best_by_stratum(models: Dict[str, dict], metrics: Sequence[str] = BEST_METRICS) -> Dict[str, dict]:
    """{place: {metric: {"best", "value", "second", "second_value", "ratio"}}} over the measured models.

    Places are "overall" then every stratum. `ratio` = best / second (None
    when fewer than two models have a value or the second is 0).
    """
    measured = {name: report for name, report in models.items() if is_measured(report)}
    places = ["overall"] + _union(list(report.get("strata", {})) for report in measured.values())
    best = {}
    for place in places:
        best[place] = {}
        for metric in metrics:
            values = {name: summary_at(report, place).get(metric) for name, report in measured.items()}
            ranked = sorted(((v, name) for name, v in values.items() if v is not None), key=lambda p: -p[0])
            first = ranked[0] if ranked else (None, None)
            second = ranked[1] if len(ranked) > 1 else (None, None)
            best[place][metric] = {
                "best": first[1],
                "value": first[0],
                "second": second[1],
                "second_value": second[0],
                "ratio": _ratio(first[0], second[0]),
            }
    return best


def benchmark_markdown(report: dict, plots: Optional[Dict[str, str]] = None) -> str:
    """The whole report.md (see the module docstring)."""
    data, config, models = report["data"], report["config"], report["models"]
    train = config["train"]
    full_training = models[FULL].get("training", {})
    encoder = full_training.get("text_encoder", config["text"]["encoder"])
    pretrained = "pretrained" if full_training.get("text_encoder_pretrained") else "NOT pretrained"
    seen = "excluded" if data["split"] != TFRS_PROTOCOL[1] else "not excluded (TFRS protocol)"
    places = ["overall"] + _union(list(m.get("strata", {})) for m in models.values() if is_measured(m))
    cuts = _union(list(m.get("history_cuts", {})) for m in models.values() if is_measured(m))
    lines = [
        f"# tfrec-llm benchmark: {data['name']} ({data['split']} split)",
        "",
        f"{data['interactions']} interactions, {data['items']} items. Every model: the same split and the same "
        f"full-catalog evaluator (items the user already had {seen}, ties ranked pessimistically); trained "
        f"models: {train['epochs']} epochs, batch {train['batch_size']}, learning rate {train['learning_rate']}, "
        f"seed {train['seed']}. Text encoder: {encoder} ({pretrained}), {config['text']['mode']} mode.",
        "",
        *(f"- **{name}**: {description}" for name, description in report["model_descriptions"].items()),
        "",
        "## Models and peers (overall)",
        "",
        format_models_markdown(report),
        "## Best model per stratum",
        "",
        "best / second: the best model's value divided by the second best's.",
        "",
        format_best_markdown(report["best_by_stratum"]),
        "## Metrics by stratum",
        "",
        format_places_markdown(models, places, "stratum"),
        "## History cuts",
        "",
        "Every test example re-scored with its history cut to its last k items (popularity ignores the "
        "history; EASE's x_u holds the last k items). A re-scoring of all users, not a stratum.",
        "",
        format_places_markdown(models, [f"history_cuts/{cut}" for cut in cuts], "history"),
        "## Targets",
        "",
        format_targets_markdown(report["targets"]),
        "## TFRS FactorizedTopK accuracy (no exclusion of seen items)",
        "",
        format_factorized_markdown(report["factorized_top_k"], data["name"], data["split"]),
        "## Cost",
        "",
        format_costs_markdown(report["timings"]),
        report["notes"]["memory"],
        "",
    ]
    if plots:
        lines += ["## Plots", "", *(f"![{name}]({os.path.basename(path)})" for name, path in plots.items()), ""]
    return "\n".join(lines)


def write_report_files(output_dir: str, report: dict, markdown: str, json_name: str, md_name: str) -> Dict[str, str]:
    """Writes `report` as JSON and `markdown` under `output_dir`; returns {"report_json", "report_md"} paths."""
    os.makedirs(output_dir, exist_ok=True)
    paths = {"report_json": os.path.join(output_dir, json_name), "report_md": os.path.join(output_dir, md_name)}
    with open(paths["report_json"], "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    with open(paths["report_md"], "w", encoding="utf-8") as f:
        f.write(markdown)
    return paths


def format_models_markdown(report: dict) -> str:
    """Models x overall metrics, seconds per training epoch, notes; then the published reference rows."""
    header = ["model", *TABLE_METRICS, "s/epoch", "epochs", "note"]
    lines = [markdown_row(header), markdown_row(["---"] * len(header))]
    for name, metrics in report["models"].items():
        cost = report["timings"].get(name, {})
        if not is_measured(metrics):
            lines.append(markdown_row([name, *[MISSING] * (len(header) - 2), metrics.get("skipped", "skipped")]))
            continue
        l2 = metrics.get("training", {}).get("ease", {}).get("l2") if name == EASE else None
        note = "" if l2 is None else f"l2 = {l2:g}, chosen on each user's last training event"
        lines.append(
            markdown_row(
                [
                    name,
                    *(format_number(metrics["overall"].get(m)) for m in TABLE_METRICS),
                    format_number(cost.get("seconds_per_epoch"), decimals=1),
                    cost.get("epochs") or MISSING,
                    note,
                ]
            )
        )
    for name, recall in (report.get("published_reference") or {}).items():
        lines.append(
            markdown_row(
                [
                    f"{name} (published)",
                    format_number(recall),
                    *[MISSING] * (len(header) - 3),
                    "reference row, not run here",
                ]
            )
        )
    return "\n".join(lines) + "\n"


def format_places_markdown(models: Dict[str, dict], places: List[str], title: str) -> str:
    """One row per (place, measured model): n and `TABLE_METRICS`."""
    header = [title, "model", "n", *TABLE_METRICS]
    lines = [markdown_row(header), markdown_row(["---"] * len(header))]
    for place in places:
        for name, report in models.items():
            if is_measured(report):
                summary = summary_at(report, place)
                lines.append(
                    markdown_row(
                        [
                            place.split("/")[-1],
                            name,
                            summary.get("n", MISSING),
                            *(format_number(summary.get(m)) for m in TABLE_METRICS),
                        ]
                    )
                )
    return "\n".join(lines) + "\n"


def format_best_markdown(best: Dict[str, dict]) -> str:
    """Per place and metric: the best model, its value and best / second (with the second's name and, where
    measured, the 95% interval of best - second over draws of the test users: `target_intervals`)."""
    header = ["stratum"]
    for metric in BEST_METRICS:
        header += [f"best {metric}", "value", "best / second"]
    lines = [markdown_row(header), markdown_row(["---"] * len(header))]
    for place, by_metric in best.items():
        cells = [place]
        for metric in BEST_METRICS:
            entry = by_metric[metric]
            ratio = MISSING if entry["ratio"] is None else f"{entry['ratio']:.2f} (vs {entry['second']}{_gap(entry)})"
            cells += [entry["best"] or MISSING, format_number(entry["value"]), ratio]
        lines.append(markdown_row(cells))
    return "\n".join(lines) + "\n"


def format_targets_markdown(targets: Dict[str, dict]) -> str:
    """One row per check: result, value, required value, margin (value - required) and how sure it is; then notes.

    "margin 95% interval" and "pass share" are the paired bootstrap over the
    test users of `target_intervals` ("–" where it could not be taken).
    """
    header = ["target", "result", "check", "value", "required", "margin", "margin 95% interval", "pass share"]
    lines = [markdown_row(header), markdown_row(["---"] * len(header))]
    notes = []
    for name, target in targets.items():
        for check in target["checks"]:
            reference = f"{check['factor']:g} x {check['reference']}" if check["factor"] != 1.0 else check["reference"]
            result = _result(check["passed"]) if target["comparable"] and not target["note"] else NOT_MEASURABLE
            lines.append(
                markdown_row(
                    [
                        name,
                        result,
                        f"{check['model']} {check['stratum']} {check['metric']} >= {reference}",
                        format_number(check["value"]),
                        format_number(check["required"]),
                        format_number(check["margin"], signed=True),
                        _format_interval(check.get("margin_ci95")),
                        format_number(check.get("pass_share"), decimals=2),
                    ]
                )
            )
        notes.append(f"- {name}: {target['description']}" + (f" — {target['note']}" if target["note"] else ""))
    interval_notes = sorted(
        {c["interval_note"] for t in targets.values() for c in t["checks"] if c.get("interval_note")}
    )
    notes += [f"- no margin interval where {note}" for note in interval_notes]
    return "\n".join(lines) + "\n\n" + "\n".join(notes) + "\n"


def format_target_lines(targets: List[dict]) -> List[str]:
    """One bullet per target of a side benchmark (`target`, `value`, `reference`, `passed`, `margin`)."""
    return [
        f"- {target['target']}: {target['value']:.4f} vs {target['reference']:.4f}: "
        f"**{_result(target['passed'])}** (margin {target['margin']:+.4f})"
        for target in targets
    ]


def format_factorized_markdown(factorized: dict, data_name: str, split: str) -> str:
    """Models x TFRS FactorizedTopK top-k accuracy, and the published numbers' protocol."""
    lines = [markdown_row(["model", *FACTORIZED_COLUMNS]), markdown_row(["---"] * (len(FACTORIZED_COLUMNS) + 1))]
    for name, values in factorized["models"].items():
        lines.append(markdown_row([name, *(format_number(values.get(column)) for column in FACTORIZED_COLUMNS)]))
    published = ", ".join(f"{name} ≈ {value}" for name, value in factorized["published_top_100"].items())
    verdict = (
        "this run uses that protocol"
        if factorized["comparable_with_published"]
        else f"this run ({data_name}, {split} split) is NOT comparable"
    )
    return (
        "\n".join(lines) + f"\n\nPublished top-100 accuracy ({published}) comes from the TFRS tutorials' "
        f'protocol: {TFRS_PROTOCOL[0]}, a random 80/20 split of ratings (data.split="random"); '
        f"{verdict}.\n"
    )


def format_costs_markdown(timings: Dict[str, dict]) -> str:
    """Models x wall and CPU times (seconds) and peak memory (MB); skipped models say so.

    CPU seconds (user + system, every thread, of the model's train call) are
    what a loaded machine does not inflate: the comparable cost across runs.
    """
    columns = [
        ("wall_seconds", "train+eval s"),
        ("cpu_seconds", "CPU s"),
        ("process_seconds", "process s"),
        ("data_seconds", "data s"),
        ("text_seconds", "text s"),
        ("train_seconds", "fit s"),
        ("seconds_per_epoch", "s/epoch"),
        ("eval_seconds", "eval s"),
        ("peak_rss_mb", "peak RSS MB"),
        ("rss_before_run_mb", "RSS before run MB"),
    ]
    lines = [markdown_row(["model", *(title for _, title in columns)]), markdown_row(["---"] * (len(columns) + 1))]
    for name, cost in timings.items():
        if "skipped" in cost:
            lines.append(markdown_row([name, "skipped", *[MISSING] * (len(columns) - 1)]))
        else:
            lines.append(markdown_row([name, *(format_number(cost.get(key), decimals=1) for key, _ in columns)]))
    return "\n".join(lines) + "\n"


def _union(name_lists) -> List[str]:
    names = []
    for name_list in name_lists:
        names += [name for name in name_list if name not in names]
    return names


def _gap(entry):
    pair = entry.get("gap_ci95")
    return "" if pair is None else f"; gap {_format_interval(pair)}"


def _format_interval(pair):
    return (
        MISSING if pair is None else f"[{format_number(pair[0], signed=True)}, {format_number(pair[1], signed=True)}]"
    )


def _ratio(value, reference):
    return None if value is None or not reference else value / reference


def _result(passed):
    return NOT_MEASURABLE if passed is None else (PASSED if passed else MISSED)


def format_number(value, decimals=4, signed=False):
    """A report cell: `value` to `decimals` places (with its sign if `signed`), or the missing mark for None."""
    if value is None:
        return MISSING
    return f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"


def markdown_row(cells):
    """One Markdown table row; a "|" inside a cell is escaped."""
    return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"
