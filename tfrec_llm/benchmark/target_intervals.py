"""How sure each target's margin is: a paired bootstrap of the margin over the test users.

A margin of -0.0069 on 943 users may be chance. For every check of
`targets.evaluate_targets` whose value and reference are measured on the
same test examples (a model against the best peer, cold against warm items
of the full model; a published number is a constant), the test users are
drawn again (`paired_bootstrap.UserResamples`, one set of draws for every
model and run) and the margin `value - factor x reference` is recomputed on
each draw from the models' per-example ranks (`test_ranks.npz`). The check
gets:

- `margin_ci95`: [low, high], the 95% interval of the margin over the draws;
- `pass_share`: the share of draws on which the check passes.

`add_best_intervals` does the same for the report's best model per stratum:
the gap between the best and the second model, and the share of draws on
which the best leads.

The reference model is the one the check names (the best peer of the full
test set), not re-chosen per draw. With several runs (seeds) each draw takes
the median over runs of each model's metric, as the medians report does;
the runs must hold the same test users in the same order. Where ranks are
missing (a run from before `test_ranks.npz`, a skipped model) or the
examples differ, the check gets `margin_ci95` None and `interval_note` says
why.
"""

import os
from typing import Dict, List, Optional, Sequence

import numpy as np

from tfrec_llm.evaluation.example_ranks import RANKS_FILE, ExampleRanks
from tfrec_llm.evaluation.paired_bootstrap import DEFAULT_RESAMPLES, UserResamples, interval, share_at_least

RunRanks = Dict[str, ExampleRanks]  # model name -> its per-example ranks in one run


def load_run_ranks(run_dir: str, names: Sequence[str]) -> RunRanks:
    """The per-example ranks of the models `names` of a benchmark run directory (models without them left out)."""
    paths = {name: os.path.join(run_dir, name, RANKS_FILE) for name in names}
    return {name: ExampleRanks.load(path) for name, path in paths.items() if os.path.exists(path)}


def add_margin_intervals(
    targets: Dict[str, dict], runs: List[RunRanks], num_resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> None:
    """Adds `margin_ci95` and `pass_share` (or `interval_note`) to every check of `targets`, in place."""
    resamples, problem = _shared_resamples(runs, num_resamples, seed)
    for target in targets.values():
        for check in target["checks"]:
            margins, note = (None, problem) if resamples is None else _margin_draws(check, runs, resamples)
            check["margin_ci95"] = None if margins is None else _list_or_none(interval(margins))
            check["pass_share"] = None if margins is None else share_at_least(margins)
            if note:
                check["interval_note"] = note


def add_best_intervals(
    best: Dict[str, dict], runs: List[RunRanks], num_resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> None:
    """Adds `gap_ci95` (best - second) and `best_ahead` (share of draws the best leads) to `best_by_stratum` entries.

    Entries without a second model, or whose models lack ranks, get None.
    """
    resamples, _ = _shared_resamples(runs, num_resamples, seed)
    for place, by_metric in best.items():
        for metric, entry in by_metric.items():
            gaps = None
            if resamples is not None and entry["second"] is not None:
                first = _median_draws(entry["best"], place, metric, runs, resamples)
                second = _median_draws(entry["second"], place, metric, runs, resamples)
                gaps = None if first is None or second is None else first - second
            entry["gap_ci95"] = None if gaps is None else _list_or_none(interval(gaps))
            entry["best_ahead"] = None if gaps is None else share_at_least(gaps, strictly=True)


def _shared_resamples(runs: List[RunRanks], num_resamples: int, seed: int):
    every = [ranks for run in runs for ranks in run.values()]
    if not every:
        return None, "no per-example ranks (test_ranks.npz) in the run directories"
    users = every[0].user_ids
    if any(not np.array_equal(ranks.user_ids, users) for ranks in every[1:]):
        return None, "the models or runs were scored on different test examples"
    return UserResamples(users, num_resamples, seed), None


def _margin_draws(check: dict, runs: List[RunRanks], resamples: UserResamples):
    value = _median_draws(check["model"], check["stratum"], check["metric"], runs, resamples)
    if check["reference_model"] is None:
        reference = (
            None if check["reference_value"] is None else np.full(len(resamples.counts), check["reference_value"])
        )
    else:
        reference = _median_draws(
            check["reference_model"], check["reference_stratum"], check["metric"], runs, resamples
        )
    if value is None or reference is None:
        return None, "a model of the check has no per-example ranks, or the place has no examples"
    return value - check["factor"] * reference, None


def _median_draws(model: str, place: str, metric: str, runs: List[RunRanks], resamples: UserResamples):
    if any(model not in run for run in runs):
        return None
    try:
        per_run = [resamples.means(*run[model].values_at(place, metric)) for run in runs]
    except KeyError:
        return None
    return np.median(np.stack(per_run), axis=0)


def _list_or_none(pair: Optional[tuple]):
    return None if pair is None else list(pair)
