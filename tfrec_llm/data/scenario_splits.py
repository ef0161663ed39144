"""Splits derived from one split: a single scenario's events, or every scenario made one.

A multi-scenario comparison trains several models on the same split so they
are scored on the same test events:

- `scenario_split(split, name)`: only the events of scenario `name`, train and
  test (a model "trained on that scenario alone"; its test histories hold
  only that scenario's events, as such a model would serve them);
- `scenario_blind_split(split)`: every event's scenario replaced by one value
  (a scenario-blind model: same events, no scenario signal).

Both keep each event's input position, so same-second events keep their order.

Example:
    split = split_interactions(data.interactions, "time_cut")
    books = scenario_split(split, "books")
    blind = scenario_blind_split(split)
"""

import dataclasses

import numpy as np

from tfrec_llm.data.data_split import DataSplit
from tfrec_llm.data.interaction_data import DEFAULT_SCENARIO, Interactions


def scenario_names(split: DataSplit) -> np.ndarray:
    """str, sorted: the scenarios with at least one test event."""
    return np.unique(split.test.scenarios)


def scenario_split(split: DataSplit, name: str) -> DataSplit:
    """The events of scenario `name` only (train and test), positions and protocol kept.

    Raises:
        ValueError: `name` has no test event in `split` (nothing to score).
    """
    keep_train = split.train.scenarios == name
    keep_test = split.test.scenarios == name
    if not keep_test.any():
        known = ", ".join(scenario_names(split).tolist())
        raise ValueError(f"scenario {name!r} has no test event; scenarios with test events: {known}")
    train, test = split.train.select(keep_train), split.test.select(keep_test)
    cold = np.setdiff1d(np.unique(test.item_ids), np.unique(train.item_ids))
    return DataSplit(
        split.protocol, train, test, cold, split.train_positions[keep_train], split.test_positions[keep_test]
    )


def _blind(events: Interactions, value: str) -> Interactions:
    return dataclasses.replace(events, scenarios=np.full(len(events), value))


def scenario_blind_split(split: DataSplit, value: str = DEFAULT_SCENARIO) -> DataSplit:
    """The same events with every scenario replaced by `value`."""
    return dataclasses.replace(split, train=_blind(split.train, value), test=_blind(split.test, value))
