"""Train/test splits without leakage.

Three protocols, all returning a `DataSplit`:
- `leave_last_out`: per user, the last event (by time) is the test target,
  the rest train (users with a single event keep it in train only).
- `time_cut`: events at or after a global timestamp quantile are test;
  items first seen after the cut never occur in train: cold-start items.
- `random`: the TFRS tutorial protocol, a seeded random 80/20 of events.
  It leaks the future by design; it exists to compare with published numbers.

Histories are built later (`SequenceExamples`) from events strictly before
each target, so no target is ever in its own history. Events with the same
timestamp are ordered by their position in the input (the file order is the
time order within a second); every split keeps each event's input position
(`train_positions`, `test_positions`) so that order survives the split.
"""

import dataclasses
from typing import Optional

import numpy as np

from tfrec_llm.data.interaction_data import Interactions


@dataclasses.dataclass
class DataSplit:
    """Train and test events of one protocol.

    Args:
        protocol: "leave_last_out", "time_cut" or "random".
        train: events the model trains on.
        test: held-out events; each is one evaluation target.
        cold_item_ids: catalog ids that occur in test but never in train.
        train_positions: int64 [len(train)], each train event's position in
            the split input; it orders events with equal timestamps.
        test_positions: int64 [len(test)], the same for test events.
            Both default (documented fallback for hand-built splits) to the
            concatenation order: train events first, each in its given order.

    Example:
        split = random_split(interactions)
        interactions.select(split.test_positions)  # the same events as split.test
    """

    protocol: str
    train: Interactions
    test: Interactions
    cold_item_ids: np.ndarray
    train_positions: Optional[np.ndarray] = None
    test_positions: Optional[np.ndarray] = None

    def __post_init__(self):
        if self.train_positions is None:
            self.train_positions = np.arange(len(self.train))
        if self.test_positions is None:
            self.test_positions = len(self.train) + np.arange(len(self.test))
        self.train_positions = np.asarray(self.train_positions, dtype=np.int64)
        self.test_positions = np.asarray(self.test_positions, dtype=np.int64)
        for name, events, positions in [
            ("train", self.train, self.train_positions),
            ("test", self.test, self.test_positions),
        ]:
            if positions.shape != (len(events),):
                raise ValueError(
                    f"DataSplit {name}_positions has shape {positions.shape} for {len(events)} {name} events."
                )

    @property
    def excludes_seen_items(self) -> bool:
        """Whether evaluation removes items the user already had (all but the TFRS protocol)."""
        return self.protocol != "random"


def chronological_order(interactions: Interactions, positions: Optional[np.ndarray] = None) -> np.ndarray:
    """Indices sorting events by user, then time, then input position.

    Args:
        interactions: the events.
        positions: each event's position in the original input (ties in time
            are in this order); default: the order of `interactions`.
    """
    positions = np.arange(len(interactions)) if positions is None else np.asarray(positions)
    return np.lexsort((positions, interactions.timestamps, interactions.user_ids))


def _split(protocol: str, interactions: Interactions, order: np.ndarray, is_test: np.ndarray) -> DataSplit:
    """The split of `interactions[order]` by `is_test` (aligned with `order`), keeping input positions."""
    train_positions, test_positions = order[~is_test], order[is_test]
    train, test = interactions.select(train_positions), interactions.select(test_positions)
    return DataSplit(protocol, train, test, _cold_items(train, test), train_positions, test_positions)


def _cold_items(train: Interactions, test: Interactions) -> np.ndarray:
    return np.setdiff1d(np.unique(test.item_ids), np.unique(train.item_ids))


def leave_last_out(interactions: Interactions) -> DataSplit:
    """Each user's last event is test; users with one event stay in train."""
    _require_events(interactions)
    order = chronological_order(interactions)
    users = interactions.user_ids[order]
    is_last = np.ones(len(order), dtype=bool)
    is_last[:-1] = users[:-1] != users[1:]
    is_first = np.ones(len(order), dtype=bool)
    is_first[1:] = users[1:] != users[:-1]
    is_test = is_last & ~is_first
    return _split("leave_last_out", interactions, order, is_test)


def time_cut(interactions: Interactions, quantile: float = 0.8) -> DataSplit:
    """Events with timestamp >= the `quantile` of all timestamps are test."""
    _require_events(interactions)
    cut = np.quantile(interactions.timestamps, quantile, method="higher")
    order = chronological_order(interactions)
    is_test = interactions.timestamps[order] >= cut
    if is_test.all() or not is_test.any():
        raise ValueError(
            f"time_cut at quantile {quantile} puts {int(is_test.sum())} of {len(order)} events "
            "in test; choose a quantile that leaves both sides non-empty."
        )
    return _split("time_cut", interactions, order, is_test)


def random_split(interactions: Interactions, test_fraction: float = 0.2, seed: int = 42) -> DataSplit:
    """The TFRS tutorial protocol: a seeded random share of events is test."""
    _require_events(interactions)
    rng = np.random.default_rng(seed)
    is_test = rng.random(len(interactions)) < test_fraction
    order = chronological_order(interactions)
    return _split("random", interactions, order, is_test[order])


def split_interactions(
    interactions: Interactions, protocol: str, time_cut_quantile=0.8, random_test_fraction=0.2, seed=42
) -> DataSplit:
    """Dispatches to the protocol named in `DataConfig.split`."""
    if protocol == "leave_last_out":
        return leave_last_out(interactions)
    if protocol == "time_cut":
        return time_cut(interactions, time_cut_quantile)
    if protocol == "random":
        return random_split(interactions, random_test_fraction, seed)
    raise ValueError(f"Unknown split protocol {protocol!r}: use leave_last_out, time_cut or random.")


def _require_events(interactions: Interactions):
    if len(interactions) == 0:
        raise ValueError("Cannot split an empty set of interactions.")
