"""Validation targets held out of the training events, for early stopping.

The validation target mirrors the test protocol one step earlier:
- leave_last_out: each user's last training event (the second-to-last
  event overall), for users with at least two training events;
- time_cut: training events in the last `TIME_CUT_VALIDATION_SHARE` of the
  training period (the slice before the cut);
- random: a seeded random `RANDOM_VALIDATION_SHARE` of training events.
The model trains on the other events; validation histories read every
training event before the target (under "random", every non-validation
event, as the test protocol does).
"""

import numpy as np

from tfrec_llm.data.data_split import DataSplit, chronological_order

TIME_CUT_VALIDATION_SHARE = 0.1
RANDOM_VALIDATION_SHARE = 0.05


def validation_mask(split: DataSplit, seed: int = 0) -> np.ndarray:
    """bool [len(split.train)]: the training events held out as validation targets."""
    train = split.train
    if len(train) == 0:
        return np.zeros(0, dtype=bool)
    if split.protocol == "leave_last_out":
        order = chronological_order(train)
        users = train.user_ids[order]
        is_last = np.ones(len(order), dtype=bool)
        is_last[:-1] = users[:-1] != users[1:]
        is_first = np.ones(len(order), dtype=bool)
        is_first[1:] = users[1:] != users[:-1]
        mask = np.zeros(len(train), dtype=bool)
        mask[order] = is_last & ~is_first
        return mask
    if split.protocol == "time_cut":
        cut = np.quantile(train.timestamps, 1.0 - TIME_CUT_VALIDATION_SHARE, method="higher")
        mask = train.timestamps >= cut
        return mask if 0 < mask.sum() < len(mask) else np.zeros(len(train), dtype=bool)
    return np.random.default_rng(seed).random(len(train)) < RANDOM_VALIDATION_SHARE
