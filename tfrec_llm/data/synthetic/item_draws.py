"""Drawing each event's item: exact per-row samplers, and no (user, item) pair twice.

`ItemSampler` holds one distribution over items per (taste topic, period)
row; `redraw_duplicates` redraws the events whose item their user already
has, so every pair is unique.
"""

import dataclasses

import numpy as np

from tfrec_llm.data.synthetic.latents import ItemLatents
from tfrec_llm.data.synthetic.world_config import BuiltinWorldConfig

# Rounds of redrawing a (user, item) pair that was already drawn, before
# drawing without replacement among the user's unseen items.
DUPLICATE_REDRAW_ROUNDS = 6
# Candidates drawn per repeated event in each round.
REDRAW_CANDIDATES = 16
# Catalogs above this size get extra rejection rounds of WIDE_REDRAW_CANDIDATES
# candidates before the exact Gumbel fallback (whose cost grows with the
# catalog); smaller worlds are drawn exactly as before (same data per seed).
WIDE_REDRAW_MIN_ITEMS = 100_000
WIDE_REDRAW_CANDIDATES = 512
# Events processed at once, to bound memory at large sizes.
EVENT_CHUNK_SIZE = 1_000_000


@dataclasses.dataclass
class ItemSampler:
    """Exact draws from one distribution over items per (topic, period) row.

    Row `topic + num_topics * period`, period 0 = up to the cut (cold items
    excluded), 1 = after the cut (cold items boosted).
    """

    weights: np.ndarray  # [2 * num_topics, num_items]
    cumulative: np.ndarray  # same shape, cumulative sums of `weights`
    last_positive: np.ndarray  # per row, index of the last item of weight > 0

    @classmethod
    def build(cls, config: BuiltinWorldConfig, items: ItemLatents) -> "ItemSampler":
        topic_matrix = items.topic_matrix(config.num_topics)  # [items, topics]
        base = items.popularity**config.popularity_alpha
        before = np.where(items.is_cold, 0.0, base)
        after = np.where(items.is_cold, base * config.cold_item_popularity_boost, base)
        affinity_factor = np.exp(topic_matrix.T / config.affinity_temperature)
        weights = np.concatenate([affinity_factor * before, affinity_factor * after])
        positive = weights > 0
        last_positive = weights.shape[1] - 1 - np.argmax(positive[:, ::-1], axis=1)
        return cls(weights, np.cumsum(weights, axis=1), last_positive)

    def draw(self, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One item per entry of `rows`, from that row's distribution."""
        uniforms = rng.random(len(rows))
        order = np.argsort(rows.astype(np.int16), kind="stable")
        bounds = np.searchsorted(rows[order], np.arange(len(self.weights) + 1))
        chosen = np.empty(len(rows), dtype=np.int64)
        for row in range(len(self.weights)):
            events = order[bounds[row] : bounds[row + 1]]
            cumulative = self.cumulative[row]
            found = np.searchsorted(cumulative, uniforms[events] * cumulative[-1], side="right")
            chosen[events] = np.minimum(found, self.last_positive[row])
        return chosen


def chunks(length: int):
    """Slices of at most EVENT_CHUNK_SIZE events covering `range(length)`."""
    for start in range(0, length, EVENT_CHUNK_SIZE):
        yield slice(start, min(start + EVENT_CHUNK_SIZE, length))


def redraw_duplicates(config, sampler: ItemSampler, user_index, rows, item_index, rng):
    """Redraws items a user already has, so every (user, item) pair is unique.

    A few rounds draw candidates for the repeated events from their own
    distribution and keep, per event, the first candidate new to the user
    (rejection sampling; wider rounds for catalogs over
    WIDE_REDRAW_MIN_ITEMS items). The rest (heavy users who exhausted their
    favourite items) draw without replacement among the items they do not
    have yet, per (user, distribution) group.
    """
    num_items = config.num_items
    duplicates, kept_keys = _duplicate_positions(user_index * num_items + item_index)
    rounds = [REDRAW_CANDIDATES] * DUPLICATE_REDRAW_ROUNDS
    if num_items > WIDE_REDRAW_MIN_ITEMS:
        # The fallback below costs O(num_items) per (user, row) group; wide rejection rounds cost O(events).
        rounds += [WIDE_REDRAW_CANDIDATES] * DUPLICATE_REDRAW_ROUNDS
    for candidates in rounds:
        if len(duplicates) == 0:
            return
        users = user_index[duplicates]
        new_items, clash = _first_new_candidates(
            sampler, rows[duplicates], users, kept_keys, num_items, rng, candidates
        )
        new_keys = users * num_items + new_items
        found = np.flatnonzero(~clash)
        clash[found[_duplicate_positions(new_keys[found])[0]]] = True  # same pick twice
        item_index[duplicates[~clash]] = new_items[~clash]
        kept_keys = _insert_sorted(kept_keys, new_keys[~clash])
        duplicates = duplicates[clash]
    if len(duplicates) > 0:
        _draw_unseen_items(num_items, sampler, user_index, rows, item_index, duplicates, kept_keys, rng)


def _first_new_candidates(sampler, rows, users, kept_keys, num_items, rng, num_candidates=REDRAW_CANDIDATES):
    """Per event, the first of up to `num_candidates` draws the user does not have.

    Returns (items, found_none); items is -1 where none was found.
    """
    items = np.full(len(rows), -1, dtype=np.int64)
    found_none = np.ones(len(rows), dtype=bool)
    pending = np.arange(len(rows))
    for _ in range(num_candidates):
        if len(pending) == 0:
            break
        candidates = sampler.draw(rows[pending], rng)
        is_new = ~_sorted_contains(kept_keys, users[pending] * num_items + candidates)
        items[pending[is_new]] = candidates[is_new]
        found_none[pending[is_new]] = False
        pending = pending[~is_new]
    return items, found_none


def _draw_unseen_items(num_items, sampler, user_index, rows, item_index, positions, kept_keys, rng):
    """Gumbel-top-k draws without replacement among each user's unseen items.

    Events of one user and one distribution row form a group; a user's
    groups are handled in successive layers so they never pick the same item.
    """
    num_rows = len(sampler.weights)
    group_keys = user_index[positions] * num_rows + rows[positions]
    order = np.argsort(group_keys, kind="stable")
    positions, group_keys = positions[order], group_keys[order]
    groups, group_start, group_size = np.unique(group_keys, return_index=True, return_counts=True)
    group_user = groups // num_rows
    group_row = groups % num_rows
    first_of_user = np.unique(group_user, return_index=True)[1]
    layer = np.arange(len(groups)) - np.repeat(first_of_user, np.diff(np.append(first_of_user, len(groups))))
    log_weights = np.log(np.maximum(sampler.weights, np.finfo(float).tiny))
    log_weights[sampler.weights == 0] = -np.inf
    groups_per_chunk = max(1, EVENT_CHUNK_SIZE // num_items)
    for current_layer in range(layer.max() + 1):
        in_layer = np.flatnonzero(layer == current_layer)
        layer_keys = []  # users differ within a layer: insert the new keys once per layer
        for start in range(0, len(in_layer), groups_per_chunk):
            chunk = in_layer[start : start + groups_per_chunk]
            scores = log_weights[group_row[chunk]] + rng.gumbel(size=(len(chunk), num_items))
            owners, taken_items = _items_of_users(kept_keys, group_user[chunk], num_items)
            scores[owners, taken_items] = -np.inf
            sizes = group_size[chunk]
            most = sizes.max()
            best = np.argpartition(-scores, most - 1, axis=1)[:, :most]
            best_scores = np.take_along_axis(scores, best, axis=1)
            ranked = np.take_along_axis(best, np.argsort(-best_scores, axis=1), axis=1)
            owner = np.repeat(np.arange(len(chunk)), sizes)
            rank = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
            chosen = ranked[owner, rank]
            if np.isneginf(scores[owner, chosen]).any():
                raise RuntimeError("builtin world: a user ran out of unseen items")
            targets = positions[np.repeat(group_start[chunk], sizes) + rank]
            item_index[targets] = chosen
            layer_keys.append(user_index[targets] * num_items + chosen)
        kept_keys = _insert_sorted(kept_keys, np.concatenate(layer_keys))


def _items_of_users(kept_keys, users, num_items):
    """(row in `users`, item) of every kept (user, item) key of those users."""
    lower = np.searchsorted(kept_keys, users * num_items)
    upper = np.searchsorted(kept_keys, (users + 1) * num_items)
    counts = upper - lower
    owners = np.repeat(np.arange(len(users)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return owners, kept_keys[np.repeat(lower, counts) + offsets] % num_items


def _sorted_contains(sorted_keys, keys) -> np.ndarray:
    """Whether each key is in `sorted_keys` (sorting the queries first is much faster)."""
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    order = np.argsort(keys)
    found = np.empty(len(keys), dtype=np.int64)
    found[order] = np.searchsorted(sorted_keys, keys[order])
    found = np.minimum(found, len(sorted_keys) - 1)
    return sorted_keys[found] == keys


def _insert_sorted(sorted_keys, new_keys) -> np.ndarray:
    new_keys = np.sort(new_keys)
    return np.insert(sorted_keys, np.searchsorted(sorted_keys, new_keys), new_keys)


def _duplicate_positions(keys: np.ndarray):
    """(positions of keys equal to an earlier key, sorted distinct keys)."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64), keys
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    repeated = sorted_keys[1:] == sorted_keys[:-1]
    return order[1:][repeated], sorted_keys[np.concatenate([[True], ~repeated])]
