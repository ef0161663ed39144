"""Tests for the targets' margin intervals (a paired bootstrap of each check's margin over the test users)."""

import numpy as np
import pytest

from tfrec_llm.benchmark.report import best_by_stratum
from tfrec_llm.benchmark.target_intervals import add_best_intervals, add_margin_intervals, load_run_ranks
from tfrec_llm.benchmark.targets import evaluate_targets
from tfrec_llm.evaluation.example_ranks import RANKS_FILE, ExampleRanks

NUM_USERS = 400
PLACES = ("overall", "history_cuts/last_1", "history_cuts/last_3", "tail", "head", "cold_items", "warm_items")


def _ranks(seed, hit_rate):
    """A model's ranks: rank 1 with probability `hit_rate`, else rank 100 (outside every cut-off)."""
    rng = np.random.default_rng(seed)

    def draw():
        return np.where(rng.random(NUM_USERS) < hit_rate, 1, 100)

    tail = np.arange(NUM_USERS) % 4 == 0
    cold = np.arange(NUM_USERS) % 10 == 0
    return ExampleRanks(
        user_ids=np.array([f"u{i}" for i in range(NUM_USERS)]),
        ranks={"overall": draw(), "history_cuts/last_1": draw(), "history_cuts/last_3": draw()},
        strata={"tail": tail, "head": ~tail, "cold_items": cold, "warm_items": ~cold, "sparse_users": ~tail & tail},
    )


def _metrics(ranks):
    """The report a model with these ranks gets (the means of its per-example values at each place)."""

    def summary(place):
        values = {}
        for metric in ("recall@10", "recall@50", "ndcg@10"):
            per_example, mask = ranks.values_at(place, metric)
            values[metric] = float(per_example[mask].mean()) if mask.any() else None
        return {**values, "n": int(ranks.values_at(place, "recall@10")[1].sum())}

    strata = {name: summary(name) for name in ranks.strata}
    cuts = {place.split("/")[1]: summary(place) for place in PLACES if place.startswith("history_cuts/")}
    return {"overall": summary("overall"), "strata": strata, "history_cuts": cuts}


def _run(full_rate=0.4, seed=0):
    return {
        "popularity": _ranks(seed + 1, 0.1),
        "ease": _ranks(seed + 2, 0.2),
        "id_only": _ranks(seed + 3, 0.3),
        "full": _ranks(seed + 4, full_rate),
    }


def _targets(run):
    return evaluate_targets({name: _metrics(ranks) for name, ranks in run.items()}, "tiny", "time_cut")


def test_each_checks_margin_lies_in_its_interval_and_a_clear_win_passes_on_every_draw():
    run = _run(full_rate=0.6)
    targets = _targets(run)
    add_margin_intervals(targets, [run], num_resamples=500)
    for target in targets.values():
        for check in target["checks"]:
            if check["margin"] is None:
                continue
            low, high = check["margin_ci95"]
            assert low <= check["margin"] <= high, check
            assert 0.0 <= check["pass_share"] <= 1.0
    recall = targets["beats_peers"]["checks"][0]
    assert recall["reference_model"] == "id_only"
    assert recall["margin_ci95"][0] > 0 and recall["pass_share"] == 1.0  # 0.6 vs 1.1 x 0.3 on 400 users
    cold = targets["cold_start_items"]["checks"][0]
    assert (cold["reference_model"], cold["reference_stratum"]) == ("full", "warm_items")


def test_a_gap_within_chance_gets_an_interval_around_zero():
    run = _run(full_rate=0.33)  # about 1.1 x id_only's 0.3
    targets = _targets(run)
    add_margin_intervals(targets, [run], num_resamples=500)
    recall = targets["beats_peers"]["checks"][0]
    low, high = recall["margin_ci95"]
    assert low < 0 < high and 0.02 < recall["pass_share"] < 0.98


def test_with_several_runs_each_draw_takes_the_median_of_the_runs():
    first, other = _run(seed=0), _run(full_rate=0.9, seed=7)
    alone = _targets(first)
    add_margin_intervals(alone, [first], num_resamples=300)
    medians = _targets(first)
    add_margin_intervals(medians, [first, first, other], num_resamples=300)  # median of (a, a, b) is a
    for name, target in alone.items():
        for check, median_check in zip(target["checks"], medians[name]["checks"]):
            assert check["margin_ci95"] == median_check["margin_ci95"]
            assert check["pass_share"] == median_check["pass_share"]


def test_missing_ranks_and_other_examples_are_said_not_hidden():
    run = _run()
    without_peer = {name: ranks for name, ranks in run.items() if name != "id_only"}
    targets = _targets(run)
    add_margin_intervals(targets, [without_peer], num_resamples=100)
    recall = targets["beats_peers"]["checks"][0]
    assert recall["margin_ci95"] is None and "no per-example ranks" in recall["interval_note"]
    other = dict(run, ease=ExampleRanks(np.array([f"v{i}" for i in range(NUM_USERS)]), run["ease"].ranks, {}))
    targets = _targets(run)
    add_margin_intervals(targets, [other], num_resamples=100)
    assert all(
        check["margin_ci95"] is None and "different test examples" in check["interval_note"]
        for target in targets.values()
        for check in target["checks"]
    )


def test_load_run_ranks_reads_the_models_that_have_them(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "ease").mkdir()  # e.g. a run from before test_ranks.npz
    _ranks(0, 0.5).save(str(tmp_path / "full" / RANKS_FILE))
    loaded = load_run_ranks(str(tmp_path), ["full", "ease", "id_only"])
    assert list(loaded) == ["full"]
    np.testing.assert_array_equal(loaded["full"].ranks["overall"], _ranks(0, 0.5).ranks["overall"])


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_a_published_reference_is_a_constant(share):
    run = _run()
    targets = evaluate_targets({n: _metrics(r) for n, r in run.items()}, "ml-100k", "leave_last_out")
    check = targets["beats_published_sasrec"]["checks"][0]
    check["reference_value"] = 1.0 if share == 0.0 else 0.0  # out of reach, or always met
    add_margin_intervals(targets, [run], num_resamples=100)
    assert check["reference_model"] is None and check["pass_share"] == share


def test_the_best_model_per_stratum_gets_the_interval_of_its_lead_over_the_second():
    run = _run(full_rate=0.6)
    best = best_by_stratum({name: _metrics(ranks) for name, ranks in run.items()})
    add_best_intervals(best, [run], num_resamples=300)
    overall = best["overall"]["recall@10"]
    assert (overall["best"], overall["second"]) == ("full", "id_only")
    low, high = overall["gap_ci95"]
    assert 0.0 < low <= overall["value"] - overall["second_value"] <= high and overall["best_ahead"] == 1.0
    add_best_intervals(best, [{"full": run["full"]}], num_resamples=50)  # the second has no ranks
    assert best["overall"]["recall@10"]["gap_ci95"] is None and best["overall"]["recall@10"]["best_ahead"] is None
