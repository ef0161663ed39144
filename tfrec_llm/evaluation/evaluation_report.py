"""The evaluation report's JSON shape, and rendering reports as a Markdown table.

`FullCatalogEvaluator.evaluate` returns a plain dict (only str keys, int,
float, None and lists, so `json.dumps` works as is). With the default
`ks=(10, 50, 100)` and `list_k=10` its shape is:

    {
      "overall": STRATUM,
      "strata": {
        "head": STRATUM,          # target is a head item
        "tail": STRATUM,          # target is a non-cold, non-head item
        "cold_items": STRATUM,    # target never seen in training
        "warm_items": STRATUM,    # head + tail
        "new_users": STRATUM,     # user has no training interactions
        "sparse_users": STRATUM,  # user has <= 5 training interactions (new users included)
        "medium_users": STRATUM,  # 6..20
        "heavy_users": STRATUM,   # > 20
        "scenario:<name>": STRATUM,   # one per scenario, if scenarios given
        "<extra name>": STRATUM,      # one per caller-given extra stratum
                                      # (metrics.json: "no_history", see training/model_evaluation.py)
      },
      "popularity_buckets": [     # bucket 0 = most popular items
        {"bucket": 0, "items": int, "min_popularity": number,
         "max_popularity": number, "n": int, "recall@50": float}, ...
      ],
      "lists": {
        "coverage@10": float, "tail_share@10": float,
        "exposure_gini@10": float, "intra_list_diversity@10": float or None,
        "novelty@10": float,
      },
      "n": {"examples": int, "items": int, "head_items": int,
            "tail_items": int, "cold_items": int},
    }

where STRATUM is

    {"recall@10": f, "recall@50": f, "recall@100": f,
     "ndcg@10": f, "ndcg@50": f, "ndcg@100": f, "mrr": f,
     "n": int, "ci95_recall@50": [low, high]}

(one recall@k and ndcg@k per k in `ks`). A stratum without examples has
n = 0, every metric None and "ci95_recall@50" None (never NaN). A popularity
bucket without items has None min/max popularity.
"""

import json
from typing import Dict, Optional, Sequence

DEFAULT_TABLE_METRICS = ("recall@10", "recall@50")
OVERALL_ROW = "overall"
MISSING_VALUE = "–"
VALUE_DECIMALS = 4
RATIO_DECIMALS = 2


def report_to_json(report: dict) -> str:
    """Serialises a report as indented JSON (keys keep their order; NaN is refused)."""
    return json.dumps(report, indent=2, allow_nan=False)


def format_report_markdown(
    reports: Dict[str, dict],
    baseline: Optional[str] = None,
    metrics: Sequence[str] = DEFAULT_TABLE_METRICS,
) -> str:
    """Renders several models' reports as one Markdown table.

    Rows are "overall" then every stratum (in the order the reports list
    them). Columns are the stratum's n, each model's `metrics`, and, when a
    `baseline` model is named, each other model's ratio to the baseline per
    metric. Missing values, and ratios whose baseline is None or 0, show "–".
    When the models disagree on a stratum's n, the n cell lists each model's
    n in order, separated by " / ".

    Args:
        reports: model name -> report from `FullCatalogEvaluator.evaluate`.
        baseline: name of the model the ratios divide by, or None.
        metrics: stratum metric keys to show.

    Returns:
        The table, one line per row, ending with a newline.

    Raises:
        ValueError: if there are no reports or the baseline is not among them.
    """
    if not reports:
        raise ValueError("format_report_markdown needs at least one report.")
    if baseline is not None and baseline not in reports:
        raise ValueError(f"baseline {baseline!r} is not among the reports: {sorted(reports)}.")
    model_names = list(reports)
    compared_models = [name for name in model_names if name != baseline]
    header = ["stratum", "n"]
    header += [f"{model} {metric}" for model in model_names for metric in metrics]
    if baseline is not None:
        header += [f"{model}/{baseline} {metric}" for model in compared_models for metric in metrics]
    lines = [_table_line(header), _table_line(["---"] * len(header))]
    for row_name in _row_names(reports):
        summaries = {model: _stratum(reports[model], row_name) for model in model_names}
        cells = [row_name, _n_cell([summaries[model] for model in model_names])]
        cells += [
            _format_number(summaries[model].get(metric), VALUE_DECIMALS) for model in model_names for metric in metrics
        ]
        if baseline is not None:
            cells += [
                _format_number(
                    _ratio(summaries[model].get(metric), summaries[baseline].get(metric)),
                    RATIO_DECIMALS,
                )
                for model in compared_models
                for metric in metrics
            ]
        lines.append(_table_line(cells))
    return "\n".join(lines) + "\n"


def _row_names(reports):
    names = [OVERALL_ROW]
    for report in reports.values():
        for name in report.get("strata", {}):
            if name not in names:
                names.append(name)
    return names


def _stratum(report, row_name):
    if row_name == OVERALL_ROW:
        return report.get("overall", {})
    return report.get("strata", {}).get(row_name, {})


def _n_cell(summaries):
    counts = [summary.get("n") for summary in summaries]
    if len(set(counts)) == 1:
        return _format_count(counts[0])
    return " / ".join(_format_count(count) for count in counts)


def _format_count(count):
    return MISSING_VALUE if count is None else str(count)


def _ratio(value, baseline_value):
    if value is None or baseline_value is None or baseline_value == 0:
        return None
    return value / baseline_value


def _format_number(value, decimals):
    return MISSING_VALUE if value is None else f"{value:.{decimals}f}"


def _table_line(cells):
    escaped = [str(cell).replace("|", "\\|") for cell in cells]
    return "| " + " | ".join(escaped) + " |"
