"""Train/test splits without leakage.

Three protocols, all returning a `DataSplit`:
- `leave_last_out`: per user, the last event (by time) is the test target,
  the rest train (users with a single event keep it in train only).
- `time_cut`: events at or after a global timestamp quantile are test;
  items first seen after the cut never occur in train: cold-start items.
- `random`: the TFRS tutorial protocol, a seeded random 80/20 of events.
  It leaks the future by design; it exists to compare with published numbers.

Histories are built later (`SequenceExamples`) from events strictly before
each target, so no target is ever in its own history.
"""

import dataclasses

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
    """

    protocol: str
    train: Interactions
    test: Interactions
    cold_item_ids: np.ndarray

    @property
    def excludes_seen_items(self) -> bool:
        """Whether evaluation removes items the user already had (all but the TFRS protocol)."""
        return self.protocol != "random"


def chronological_order(interactions: Interactions) -> np.ndarray:
    """Indices sorting events by user, then time, then original position."""
    return np.lexsort((np.arange(len(interactions)), interactions.timestamps, interactions.user_ids))


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
    train = interactions.select(order[~is_test])
    test = interactions.select(order[is_test])
    return DataSplit("leave_last_out", train, test, _cold_items(train, test))


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
    train = interactions.select(order[~is_test])
    test = interactions.select(order[is_test])
    return DataSplit("time_cut", train, test, _cold_items(train, test))


def random_split(interactions: Interactions, test_fraction: float = 0.2, seed: int = 42) -> DataSplit:
    """The TFRS tutorial protocol: a seeded random share of events is test."""
    _require_events(interactions)
    rng = np.random.default_rng(seed)
    is_test = rng.random(len(interactions)) < test_fraction
    order = chronological_order(interactions)
    is_test = is_test[order]
    train = interactions.select(order[~is_test])
    test = interactions.select(order[is_test])
    return DataSplit("random", train, test, _cold_items(train, test))


def split_interactions(interactions: Interactions, protocol: str, time_cut_quantile=0.8,
                       random_test_fraction=0.2, seed=42) -> DataSplit:
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
