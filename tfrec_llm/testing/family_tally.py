"""Counting what a family of generated inputs did: accepted, refused, dropped, crashed, violated.

`explore` draws inputs from a hypothesis strategy (generation only, no
shrinking), runs a check on each and counts the outcome into a
`FamilyTally`; `print_families` prints the tallies as a table.

Example:
    >>> from tfrec_llm.experiment_config import ConfigError
    >>> from tfrec_llm.testing.config_inputs import (
    ...     ConfigInvariantViolation, check_config, config_dicts)
    >>> tally = FamilyTally("config dicts")
    >>> explore(tally, config_dicts(), check_config, (ConfigInvariantViolation,),
    ...         (ConfigError,), examples=50, seed_value=0)
    >>> tally.tried, tally.failed
    (50, False)
"""

import collections
import dataclasses
import os
import re
import traceback
from typing import Callable, Dict, List

from hypothesis import HealthCheck, Phase, given, seed, settings

from tfrec_llm.testing.loader_invariant import DROP_SUFFIX

SHOWN_EXAMPLES = 3  # failing inputs kept per family
SHOWN_CAUSES = 3  # most frequent refusal causes shown per family
EXAMPLE_CHARACTERS = 600


def general_cause(message: str) -> str:
    """A refusal message without its paths, numbers and quoted values, to count causes."""
    message = re.sub(r"/\S*/", "", message)
    message = re.sub(r"'[^']*'", "'…'", message)
    return re.sub(r"\d+", "N", message)[:90]


@dataclasses.dataclass
class FamilyTally:
    """Outcomes of one family of inputs.

    Args:
        name: e.g. "users_csv" or "config dicts".
        tried, accepted, refused: inputs, and how they ended.
        rows, kept_rows: data rows in the files of accepted inputs, and rows
            kept (file loaders; rows = kept + dropped when nothing is lost).
        fallback_rows: reason -> rows it dropped or repaired, over all inputs.
        fallback_inputs: reason -> inputs in which it occurred.
        refusal_causes: generalised refusal message -> inputs.
        crashes, violations: (error, input, ...) of the first failures.
        crash_count, violation_count: how many in all.
    """

    name: str
    tried: int = 0
    accepted: int = 0
    refused: int = 0
    rows: int = 0
    kept_rows: int = 0
    fallback_rows: Dict[str, int] = dataclasses.field(default_factory=collections.Counter)
    fallback_inputs: Dict[str, int] = dataclasses.field(default_factory=collections.Counter)
    refusal_causes: Dict[str, int] = dataclasses.field(default_factory=collections.Counter)
    crashes: List[List[str]] = dataclasses.field(default_factory=list)
    violations: List[List[str]] = dataclasses.field(default_factory=list)
    crash_count: int = 0
    violation_count: int = 0

    @property
    def failed(self) -> bool:
        return self.crash_count > 0 or self.violation_count > 0

    def as_json(self) -> dict:
        values = dataclasses.asdict(self)  # asdict makes Counters of (key, count) pairs
        for name in ("fallback_rows", "fallback_inputs", "refusal_causes"):
            values[name] = dict(getattr(self, name))
        return values

    def add_failure(self, kind: str, error: BaseException, example):
        described = [
            f"{type(error).__name__}: {error}"[:EXAMPLE_CHARACTERS],
            repr(example)[:EXAMPLE_CHARACTERS],
        ]
        if kind == "crash":
            self.crash_count += 1
            described.append(where_raised(error))
            if len(self.crashes) < SHOWN_EXAMPLES:
                self.crashes.append(described)
        else:
            self.violation_count += 1
            if len(self.violations) < SHOWN_EXAMPLES:
                self.violations.append(described)


def where_raised(error: BaseException) -> str:
    """The last frames of the package in the traceback (else the last frame)."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [frame for frame in frames if f"{os.sep}tfrec_llm{os.sep}" in frame.filename]
    return "".join(traceback.format_list(ours[-2:] or frames[-1:]))


def record_outcome(tally: FamilyTally, check: Callable, example, violation_types: tuple, refusal_types: tuple):
    """Runs `check(example)` and counts what happened into `tally`.

    `check` returns a `LoadOutcome` (file loaders) or a bool (accepted);
    `refusal_types` are the documented refusals, `violation_types` the
    invariant failures; anything else is a crash.
    """
    tally.tried += 1
    try:
        outcome = check(example)
    except violation_types as error:
        tally.add_failure("violation", error, example)
        return
    except refusal_types as error:
        tally.refused += 1
        tally.refusal_causes[general_cause(str(error))] += 1
        return
    except Exception as error:  # pylint: disable=broad-except
        tally.add_failure("crash", error, example)
        return
    if isinstance(outcome, bool):
        tally.accepted += outcome
        tally.refused += not outcome
        return
    if not outcome.accepted:
        tally.refused += 1
        tally.refusal_causes[general_cause(outcome.error)] += 1
        return
    tally.accepted += 1
    tally.rows += outcome.rows
    tally.kept_rows += outcome.kept_rows
    for reason, count in outcome.fallbacks.items():
        tally.fallback_rows[reason] += count
        tally.fallback_inputs[reason] += 1


def explore(
    tally: FamilyTally,
    strategy,
    check: Callable,
    violation_types: tuple,
    refusal_types: tuple,
    examples: int,
    seed_value: int,
):
    """`record_outcome` on `examples` inputs drawn from `strategy` (generation only, no shrinking)."""

    @seed(seed_value)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(example):
        record_outcome(tally, check, example, violation_types, refusal_types)

    run()


def print_families(title: str, tallies: List[FamilyTally]):
    print(f"\n## {title}\n")
    columns = ("tried", "accepted", "refused", "rows", "kept", "dropped", "repaired", "crashes")
    header = f"{'family':<21}" + "".join(f"{name:>9}" for name in columns) + f"{'violations':>11}"
    print(header)
    print("-" * len(header))
    for tally in tallies:
        dropped = sum(c for r, c in tally.fallback_rows.items() if r.endswith(DROP_SUFFIX))
        repaired = sum(tally.fallback_rows.values()) - dropped
        values = (tally.tried, tally.accepted, tally.refused, tally.rows, tally.kept_rows)
        values += (dropped, repaired, tally.crash_count)
        print(f"{tally.name:<21}" + "".join(f"{v:>9}" for v in values) + f"{tally.violation_count:>11}")
    for tally in tallies:
        if tally.fallback_rows:
            print(f"\n{tally.name}: rows handled by a fallback (rows, in inputs, reason)")
            for reason, rows in sorted(tally.fallback_rows.items(), key=lambda item: -item[1]):
                print(f"  {rows:>7} {tally.fallback_inputs[reason]:>6}  {reason}")
        if tally.refusal_causes:
            print(f"{tally.name}: most frequent refusals (inputs, DataError/ConfigError)")
            for cause, count in tally.refusal_causes.most_common(SHOWN_CAUSES):
                print(f"  {count:>7}  {cause}")
        for kind, examples in (("CRASH", tally.crashes), ("VIOLATION", tally.violations)):
            for example in examples:
                print(f"\n{tally.name} {kind}: " + "\n  ".join(example))
