"""Latent items and users of the built-in world: topics, popularity, tastes, activity.

Items are sparse mixtures of 1-3 topics with a Zipf-like popularity, some of
them released late (cold). Users have 1-3 tastes whose weights drift over
their active window, a region and a rating bias.
"""

import dataclasses

import numpy as np

from tfrec_llm.data.synthetic import builtin_vocabulary as vocabulary
from tfrec_llm.data.synthetic.world_config import BuiltinWorldConfig

# A user's active window covers this range of fractions of the timeline.
USER_WINDOW_MIN_SPAN = 0.05
USER_WINDOW_MAX_SPAN = 0.6
# Topic slot of a mixture that holds no topic.
NO_TOPIC = -1


@dataclasses.dataclass
class ItemLatents:
    """Per item: topic slots (ordered by weight), weights, scenario, popularity."""

    topics: np.ndarray  # int [num_items, 3], NO_TOPIC where unused
    topic_weights: np.ndarray  # float [num_items, 3], 0 where unused
    scenario_index: np.ndarray  # int [num_items]
    popularity: np.ndarray  # float [num_items]
    is_cold: np.ndarray  # bool [num_items]

    def topic_matrix(self, num_topics: int) -> np.ndarray:
        """Dense [num_items, num_topics] topic weights."""
        matrix = np.zeros((len(self.topics), num_topics))
        rows = np.repeat(np.arange(len(self.topics)), self.topics.shape[1])
        columns = self.topics.ravel()
        used = columns != NO_TOPIC
        matrix[rows[used], columns[used]] = self.topic_weights.ravel()[used]
        return matrix


@dataclasses.dataclass
class UserLatents:
    """Per user: tastes, their drifting weights, activity window, rating bias."""

    tastes: np.ndarray  # int [num_users, 3], NO_TOPIC where unused
    start_weights: np.ndarray  # float [num_users, 3]
    end_weights: np.ndarray  # float [num_users, 3]
    region_index: np.ndarray  # int [num_users]
    num_events: np.ndarray  # int [num_users]
    window_start: np.ndarray  # float [num_users], fraction of the timeline
    window_span: np.ndarray  # float [num_users]
    rating_bias: np.ndarray  # float [num_users]


def _draw_mixtures(rng, count_probabilities, main_topics, num_topics):
    """Sparse topic mixtures: main topic first, weights sorted descending.

    Returns (topics [n, 3] with NO_TOPIC padding, weights [n, 3]).
    """
    n = len(main_topics)
    max_slots = 3
    counts = 1 + rng.choice(len(count_probabilities), size=n, p=count_probabilities)
    counts = np.minimum(counts, num_topics)
    # Random distinct topics per row, the main topic forced to the front.
    sort_keys = rng.random((n, num_topics))
    sort_keys[np.arange(n), main_topics] = 2.0
    order = np.argsort(-sort_keys, axis=1)
    topics = np.full((n, max_slots), NO_TOPIC)
    slots = min(max_slots, num_topics)
    topics[:, :slots] = order[:, :slots]
    weights = -np.sort(-rng.dirichlet(np.ones(max_slots), size=n), axis=1)
    used = np.arange(max_slots)[None, :] < counts[:, None]
    topics[~used] = NO_TOPIC
    weights = np.where(used, weights, 0.0)
    weights /= weights.sum(axis=1, keepdims=True)
    return topics, weights


def _balanced_assignment(rng, num_rows: int, shares) -> np.ndarray:
    """Group index per row, group sizes proportional to `shares` (largest remainder)."""
    shares = np.asarray(shares, dtype=float) / np.sum(shares)
    exact = shares * num_rows
    sizes = np.floor(exact).astype(int)
    remainder_order = np.argsort(-(exact - sizes), kind="stable")
    sizes[remainder_order[: num_rows - sizes.sum()]] += 1
    return rng.permutation(np.repeat(np.arange(len(shares)), sizes))


def draw_items(config: BuiltinWorldConfig, rng: np.random.Generator) -> ItemLatents:
    n, k = config.num_items, config.num_topics
    main_topics = rng.permutation(np.arange(n) % k)  # every topic is some item's main topic
    topics, weights = _draw_mixtures(rng, config.item_topic_count_probabilities, main_topics, k)
    scenario_index = _balanced_assignment(rng, n, config.scenario_item_shares)
    popularity_rank = rng.permutation(n)
    popularity = (popularity_rank + 1.0) ** -config.popularity_zipf_exponent
    popularity *= np.asarray(config.scenario_popularity)[scenario_index]
    # One warm "anchor" item per topic, so cold items always share topics with warm ones.
    _, anchors = np.unique(main_topics, return_index=True)
    candidates = np.setdiff1d(np.arange(n), anchors)
    is_cold = np.zeros(n, dtype=bool)
    is_cold[rng.choice(candidates, size=config.num_cold_items, replace=False)] = True
    return ItemLatents(topics, weights, scenario_index, popularity, is_cold)


def draw_users(config: BuiltinWorldConfig, rng: np.random.Generator) -> UserLatents:
    n, k = config.num_users, config.num_topics
    num_regions = len(vocabulary.REGION_NAMES)
    region_index = rng.integers(num_regions, size=n)
    # Region r favours topics r, r + num_regions, r + 2 * num_regions, ...
    favoured_count = np.maximum(0, -(-(k - region_index) // num_regions))
    favoured_topic = region_index + num_regions * np.floor(rng.random(n) * np.maximum(favoured_count, 1)).astype(int)
    follows_region = (rng.random(n) < config.region_taste_correlation) & (favoured_count > 0)
    main_topics = np.where(follows_region, favoured_topic, rng.integers(k, size=n))
    tastes, start_weights = _draw_mixtures(rng, config.user_taste_count_probabilities, main_topics, k)
    # Drift: the tastes trade places, the main one ending as the least.
    num_tastes = (tastes != NO_TOPIC).sum(axis=1, keepdims=True)
    slot = np.arange(tastes.shape[1])[None, :]
    reversed_slot = np.where(slot < num_tastes, num_tastes - 1 - slot, slot)
    reversed_weights = np.take_along_axis(start_weights, reversed_slot, axis=1)
    end_weights = (1 - config.taste_drift) * start_weights + config.taste_drift * reversed_weights
    window_span = rng.uniform(USER_WINDOW_MIN_SPAN, USER_WINDOW_MAX_SPAN, size=n)
    window_start = rng.random(n) * (1 - window_span)
    return UserLatents(
        tastes=tastes,
        start_weights=start_weights,
        end_weights=end_weights,
        region_index=region_index,
        num_events=_draw_activity(config, rng),
        window_start=window_start,
        window_span=window_span,
        rating_bias=rng.normal(0.0, config.user_rating_bias_std, size=n),
    )


def _draw_activity(config: BuiltinWorldConfig, rng: np.random.Generator) -> np.ndarray:
    """Events per user: 1 each, the rest spread by Pareto weights, capped."""
    cap = config.interactions_cap_per_user
    weights = rng.pareto(config.user_activity_pareto_shape, size=config.num_users)
    counts = np.ones(config.num_users, dtype=np.int64)
    remaining = config.num_interactions - config.num_users
    while remaining > 0:
        open_weights = np.where(counts < cap, weights, 0.0)
        counts += rng.multinomial(remaining, open_weights / open_weights.sum())
        remaining = int(np.maximum(counts - cap, 0).sum())
        counts = np.minimum(counts, cap)
    return counts
