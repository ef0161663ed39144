"""The events a model has trained on, kept beside it for updates (`events.npz`).

An update needs the older events twice: as the histories its new targets
are read with (the user tower reads a user's whole recent history) and as
the replay sample against forgetting. `update` writes every event so far
into the output model directory; a model directory written by `train` has
none, and its events are re-read from its `config.data` source and split
as training split them.

Example:
    save_events(model_dir, interactions)
    events = trained_events(model_dir, config)
"""

import dataclasses
import os

import numpy as np

from tfrec_llm.data.data_split import split_interactions
from tfrec_llm.data.interaction_data import Interactions
from tfrec_llm.experiment_config import ExperimentConfig

EVENTS_FILE = "events.npz"


def concatenate_events(a: Interactions, b: Interactions) -> Interactions:
    """`a`'s events followed by `b`'s."""
    return Interactions(
        *(np.concatenate([getattr(a, f.name), getattr(b, f.name)]) for f in dataclasses.fields(Interactions))
    )


def save_events(model_dir: str, events: Interactions):
    """Writes `events` to `<model_dir>/events.npz` atomically (no pickle)."""
    path = os.path.join(model_dir, EVENTS_FILE)
    arrays = {f.name: np.asarray(getattr(events, f.name)) for f in dataclasses.fields(Interactions)}
    np.savez(path + ".tmp.npz", **arrays)
    os.replace(path + ".tmp.npz", path)


def load_events(model_dir: str) -> Interactions:
    """The events of `<model_dir>/events.npz`."""
    path = os.path.join(model_dir, EVENTS_FILE)
    with np.load(path, allow_pickle=False) as stored:
        return Interactions(**{f.name: stored[f.name] for f in dataclasses.fields(Interactions)})


def trained_events(model_dir: str, config: ExperimentConfig) -> Interactions:
    """The events the model in `model_dir` trained on: `events.npz`, else its source's training split."""
    if os.path.exists(os.path.join(model_dir, EVENTS_FILE)):
        return load_events(model_dir)
    from tfrec_llm.training.experiment_data import load_source  # pylint: disable=import-outside-toplevel

    d = config.data
    data = load_source(config)
    split = split_interactions(data.interactions, d.split, d.time_cut_quantile, d.random_test_fraction, d.split_seed)
    return split.train
