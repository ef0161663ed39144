"""The events of the built-in world: when each user acts, on which taste, and the rating.

Each user's events are spread over their active window; each event acts on
one taste drawn from the drifted weights and draws its item from that
taste's distribution (see `item_draws`); ratings grow with the affinity of
the item with the user's whole current taste mixture.
"""

import numpy as np

from tfrec_llm.data.synthetic.item_draws import ItemSampler, chunks, redraw_duplicates
from tfrec_llm.data.synthetic.latents import NO_TOPIC, ItemLatents, UserLatents

SECONDS_PER_DAY = 86_400
# Rating before affinity, user bias and noise are added.
RATING_BASELINE = 2.4
MIN_RATING = 1
MAX_RATING = 5


def draw_events(config, items: ItemLatents, users: UserLatents, rng):
    """Returns (user_index, item_index, timestamps, labels), user-major, time-sorted."""
    user_index = np.repeat(np.arange(config.num_users), users.num_events)
    # Sorted uniform positions in each user's window (user_index is sorted).
    sort_keys = user_index + rng.random(len(user_index))
    sort_keys.sort()
    position = np.clip(sort_keys - user_index, 0.0, 1.0)
    del sort_keys
    timestamps = _timestamps(config, users, user_index, position)
    cut = np.quantile(timestamps, config.time_cut_quantile, method="higher")
    after_cut = timestamps > cut

    sampler = ItemSampler.build(config, items)
    rows = np.empty(len(user_index), dtype=np.int64)
    item_index = np.empty(len(user_index), dtype=np.int64)
    for chunk in chunks(len(user_index)):
        taste = _active_taste(users, user_index[chunk], position[chunk], rng)
        rows[chunk] = taste + config.num_topics * after_cut[chunk]
        item_index[chunk] = sampler.draw(rows[chunk], rng)
    redraw_duplicates(config, sampler, user_index, rows, item_index, rng)

    labels = np.empty(len(user_index), dtype=np.float32)
    for chunk in chunks(len(user_index)):
        labels[chunk] = _ratings(config, items, users, user_index[chunk], position[chunk], item_index[chunk], rng)
    return user_index, item_index, timestamps, labels


def _timestamps(config, users: UserLatents, user_index, position) -> np.ndarray:
    """Unix seconds, strictly increasing within each user."""
    duration = config.timeline_days * SECONDS_PER_DAY
    fraction = users.window_start[user_index] + users.window_span[user_index] * position
    timestamps = np.floor(fraction * duration).astype(np.int64)
    # Make ties strictly increasing: t'_j = max_{i<=j}(t_i - i) + j within a user.
    first_event = np.concatenate([[0], np.cumsum(users.num_events)[:-1]])
    rank = np.arange(len(user_index)) - first_event[user_index]
    user_offset = user_index * np.int64(duration + config.interactions_cap_per_user + 1)
    shifted = np.maximum.accumulate(timestamps - rank + user_offset)
    return config.timeline_start + shifted - user_offset + rank


def _current_weights(users: UserLatents, user_index, position) -> np.ndarray:
    start = users.start_weights[user_index]
    return start + position[:, None] * (users.end_weights[user_index] - start)


def _active_taste(users: UserLatents, user_index, position, rng) -> np.ndarray:
    """The taste (topic) each event acts on, drawn from the drifted weights."""
    cumulative = np.cumsum(_current_weights(users, user_index, position), axis=1)
    uniforms = rng.random(len(user_index)) * cumulative[:, -1]
    slot = (uniforms[:, None] >= cumulative).sum(axis=1)
    num_slots = (users.tastes[user_index] != NO_TOPIC).sum(axis=1)
    slot = np.minimum(slot, num_slots - 1)
    return users.tastes[user_index, slot]


def _ratings(config, items: ItemLatents, users: UserLatents, user_index, position, item_index, rng) -> np.ndarray:
    """1-5 stars from the affinity with the user's current taste mixture."""
    weights = _current_weights(users, user_index, position)
    tastes = users.tastes[user_index]
    item_topics = items.topics[item_index]
    item_weights = items.topic_weights[item_index]
    affinity = np.zeros(len(user_index))
    for user_slot in range(tastes.shape[1]):
        for item_slot in range(item_topics.shape[1]):
            same = (tastes[:, user_slot] == item_topics[:, item_slot]) & (tastes[:, user_slot] != NO_TOPIC)
            affinity += same * weights[:, user_slot] * item_weights[:, item_slot]
    raw = (
        RATING_BASELINE
        + config.rating_affinity_weight * affinity
        + users.rating_bias[user_index]
        + rng.normal(0.0, config.rating_noise, size=len(user_index))
    )
    return np.clip(np.round(raw), MIN_RATING, MAX_RATING)
