"""Two models on the same test examples: each metric's gap and how sure it is (`tfrec-llm compare A B`).

Reads the `test_ranks.npz` that `train` writes beside metrics.json (or a
ranks file of `tfrec-llm evaluate --ranks-output`, or any two
`ExampleRanks`) and, for every place (overall, each history cut, each
stratum both hold) and metric, reports A's and B's values, the gap B - A,
its 95% interval under the paired bootstrap over the test users
(`paired_bootstrap`) and the share of draws on which B is ahead. The two
must hold the same test examples in the same order: the same data, split and
evaluation subset.

Example:
    rows = compare_models("runs/id_only", "runs/full")
    print(format_comparison(rows, "runs/id_only", "runs/full"))
"""

import os
from typing import List, Optional, Sequence

import numpy as np

from tfrec_llm.evaluation.example_ranks import OVERALL, RANKS_FILE, ExampleRanks
from tfrec_llm.evaluation.paired_bootstrap import DEFAULT_RESAMPLES, UserResamples, interval, share_at_least

DEFAULT_METRICS = ("recall@10", "ndcg@10")


def compare_models(
    first_dir: str,
    second_dir: str,
    metrics: Sequence[str] = DEFAULT_METRICS,
    places: Optional[Sequence[str]] = None,
    num_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> List[dict]:
    """`compare_ranks` of two model directories' `test_ranks.npz` or two ranks files (a clear error if one has none)."""
    return compare_ranks(_load(first_dir), _load(second_dir), metrics, places, num_resamples, seed)


def compare_ranks(
    first: ExampleRanks,
    second: ExampleRanks,
    metrics: Sequence[str] = DEFAULT_METRICS,
    places: Optional[Sequence[str]] = None,
    num_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> List[dict]:
    """One row per (place, metric): {"place", "metric", "n", "first", "second", "gap", "gap_ci95", "second_ahead"}.

    `places` defaults to every pass ("overall", the history cuts, "without
    context") and stratum that both hold, strata with at least one example;
    a place outside those is refused. "second_ahead" is the share of draws
    on which the second model's value is strictly higher.
    """
    if not np.array_equal(first.user_ids, second.user_ids):
        raise ValueError(
            f"the two models were evaluated on different test examples ({len(first.user_ids)} and "
            f"{len(second.user_ids)}, or another order): compare models of the same data, split and evaluation subset."
        )
    places = list(places) if places is not None else _shared_places(first, second)
    held = _shared_places(first, second)
    unknown = [place for place in places if place not in held]
    if unknown:
        raise ValueError(f"no place {', '.join(map(repr, unknown))} in both models' ranks; they hold: {held}")
    resamples = UserResamples(first.user_ids, num_resamples, seed)
    rows = []
    for place in places:
        for metric in metrics:
            (a, mask), (b, _) = first.values_at(place, metric), second.values_at(place, metric)
            gaps = resamples.means(b, mask) - resamples.means(a, mask)
            rows.append(
                {
                    "place": place,
                    "metric": metric,
                    "n": int(mask.sum()),
                    "first": float(a[mask].mean()),
                    "second": float(b[mask].mean()),
                    "gap": float(b[mask].mean() - a[mask].mean()),
                    "gap_ci95": list(interval(gaps)),
                    "second_ahead": share_at_least(gaps, strictly=True),
                }
            )
    return rows


def format_comparison(rows: List[dict], first_name: str, second_name: str) -> str:
    """A Markdown table of `compare_ranks` rows."""
    lines = [
        f"A = {first_name}, B = {second_name}; gap = B - A, its 95% interval over draws of the test users, "
        "and the share of draws on which B is ahead.",
        "",
        "| place | metric | n | A | B | gap | gap 95% interval | B ahead |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        low, high = row["gap_ci95"]
        lines.append(
            f"| {row['place']} | {row['metric']} | {row['n']} | {row['first']:.4f} | {row['second']:.4f} | "
            f"{row['gap']:+.4f} | [{low:+.4f}, {high:+.4f}] | {row['second_ahead']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def _load(model_dir_or_file: str) -> ExampleRanks:
    path = model_dir_or_file
    if os.path.isdir(path):
        path = os.path.join(path, RANKS_FILE)
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"{path}: no per-example ranks (written by `tfrec-llm train` since test_ranks.npz)."
            )
    elif not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such model directory or ranks file.")
    return ExampleRanks.load(path)


def _shared_places(first: ExampleRanks, second: ExampleRanks) -> List[str]:
    """The passes both hold ("overall" first) and the strata both hold with at least one example."""
    cuts = sorted(name for name in first.ranks if name != OVERALL and name in second.ranks)
    strata = [name for name in first.strata if name in second.strata and first.strata[name].any()]
    return [OVERALL, *cuts, *strata]
