"""Tests of the tallies of the reliability report: each outcome of a check is counted where it belongs."""

from tfrec_llm.testing.family_tally import FamilyTally, record_outcome
from tfrec_llm.testing.loader_invariant import LoadOutcome


class Refused(Exception):
    pass


class Violated(AssertionError):
    pass


def _check(example):
    if example == "refuse":
        raise Refused("bad value 'x' at /data/events.csv:12")
    if example == "violate":
        raise Violated("a row was lost")
    if example == "crash":
        raise KeyError("boom")
    if example == "load":
        return LoadOutcome(True, rows=5, kept_rows=3, fallbacks={"empty user_id: row dropped": 2})
    return example == "accept"


def test_each_outcome_is_counted_once_in_its_column():
    tally = FamilyTally("demo")
    for example in ("accept", "reject", "refuse", "violate", "crash", "load", "load"):
        record_outcome(tally, _check, example, (Violated,), (Refused,))

    assert (tally.tried, tally.accepted, tally.refused) == (7, 3, 2)
    assert (tally.crash_count, tally.violation_count) == (1, 1)
    assert (tally.rows, tally.kept_rows) == (10, 6)
    assert tally.fallback_rows == {"empty user_id: row dropped": 4}
    assert tally.fallback_inputs == {"empty user_id: row dropped": 2}
    assert tally.refusal_causes == {"bad value '…' at events.csv:N": 1}
    assert tally.crashes[0][0] == "KeyError: 'boom'" and tally.failed
    assert tally.as_json()["fallback_rows"] == {"empty user_id: row dropped": 4}
