"""A seeded synthetic world in which item text carries the signal.

`generate_builtin_world(config)` is the default data of
`tfrec-llm train --data builtin`: offline and deterministic for a given config
(seed included). Sizes and costs on one CPU core: the default 2,000 items,
3,000 users and 80,000 interactions take about 0.4 s; 1M interactions
(40,000 users) about 3 s; 10M interactions (400,000 users) about half a
minute and 1.3 GB, mostly the string id arrays of the canonical schema. All
sampling is vectorised NumPy, in chunks of `EVENT_CHUNK_SIZE` events.

Default statistics (see `dataset_statistics.describe`): 65% of the
interactions on the top 20% of items, item popularity Gini 0.60, 35% of the
users with at most 5 interactions, mean rating 3.5.

The world is built so that a text tower *can* help:

- Latent space: `num_topics` topics. Every item is a sparse mixture of 1-3
  topics (its latent vector, weights summing to 1) and has a Zipf-like
  popularity (a long tail).
- Item text is written from the latent topics: each topic has several
  paraphrases (see `builtin_vocabulary`), so same-topic items often share no
  exact word but share meaning. Filler remarks and a made-up name make texts
  distinct. Text fields: "title", "description", "genres" (topic names); the
  catalog attributes are the topic multi-hot vectors.
- Users: power-law activity (many users with a handful of events), a mixture
  of 1-3 tastes (topics) whose weights drift linearly over the user's active
  window (the tastes trade places, see `taste_drift`), and a "region"
  feature loosely correlated with the main taste.
- Interactions: at each event the user acts on one of their tastes, drawn
  from the current mixture weights, and picks item i with probability
  proportional to `popularity_i ** popularity_alpha * exp(affinity_i /
  affinity_temperature)`, where `affinity_i = dot(one-hot taste, topics_i)`.
  (Acting on one taste at a time keeps the sampler exact and fast: there are
  only `num_topics` distributions over items per period.) No user rates an
  item twice: a repeated draw is redrawn, so heavy users who exhausted their
  favourite items move on to less popular ones. Ratings 1-5 grow with the affinity between the item and the
  user's whole current taste mixture, plus a user bias and noise.
- Scenarios (e.g. "books", "films") share the topic space but use different
  surface words and have different popularity; every item belongs to one
  scenario and events carry their item's scenario.
- Cold items: `cold_item_share` of the items are released late. Their events
  all have timestamps strictly above the `time_cut_quantile` quantile of all
  event timestamps, so a global time split at that quantile (events at or
  before the cut train, later ones test) makes them cold-start items. They
  share topics, hence meaning, with warm items. `builtin_cold_item_ids(config)`
  names them.
"""

import dataclasses
from typing import List, Tuple

import numpy as np

from tfrec_llm.data.synthetic import builtin_vocabulary as vocabulary
from tfrec_llm.data.interaction_data import (
    InteractionData,
    Interactions,
    ItemCatalog,
    LoadReport,
    UserFeatures,
)

WORLD_NAME = "builtin"
REGION_FEATURE = "region"
TITLE_FIELD = "title"
DESCRIPTION_FIELD = "description"
GENRES_FIELD = "genres"
GENRE_SEPARATOR = ", "
USER_ID_PREFIX = "u"
ITEM_ID_PREFIX = "i"

SECONDS_PER_DAY = 86_400
# A user interacts with at most this share of the catalog.
MAX_CATALOG_SHARE_PER_USER = 0.5
# At most this share of the items may be cold, so every user can always find
# enough warm items they have not interacted with yet.
MAX_COLD_ITEM_SHARE = 0.5
# A user's active window covers this range of fractions of the timeline.
USER_WINDOW_MIN_SPAN = 0.05
USER_WINDOW_MAX_SPAN = 0.6
# Phrases about the item's topics in one description.
TOPIC_PHRASES_PER_DESCRIPTION = 3
NAME_MIN_SYLLABLES = 2
NAME_MAX_SYLLABLES = 3
# Rating before affinity, user bias and noise are added.
RATING_BASELINE = 2.4
MIN_RATING = 1
MAX_RATING = 5
# Rounds of redrawing a (user, item) pair that was already drawn, before
# drawing without replacement among the user's unseen items.
DUPLICATE_REDRAW_ROUNDS = 6
# Candidates drawn per repeated event in each round.
REDRAW_CANDIDATES = 16
# Events processed at once, to bound memory at large sizes.
EVENT_CHUNK_SIZE = 1_000_000
# Independent random streams, so e.g. the items do not depend on num_users.
_ITEM_STREAM, _TEXT_STREAM, _USER_STREAM, _EVENT_STREAM = range(4)
_NUM_STREAMS = 4
_NO_TOPIC = -1


@dataclasses.dataclass(frozen=True)
class BuiltinWorldConfig:
    """Size, shape and seed of the built-in synthetic world.

    Args:
        num_items: catalog size (cold items included).
        num_users: number of users; each has at least one interaction.
        num_interactions: exact number of events.
        num_topics: latent topics, at most the number of topics in
            `builtin_vocabulary.TOPIC_PHRASES` (16).
        scenarios: scenario names, keys of
            `builtin_vocabulary.SCENARIO_TOPIC_PHRASES`.
        scenario_item_shares: share of the items in each scenario.
        scenario_popularity: popularity multiplier of each scenario's items.
        item_topic_count_probabilities: probabilities of an item having 1, 2,
            ... topics.
        user_taste_count_probabilities: probabilities of a user having 1, 2,
            ... tastes.
        popularity_zipf_exponent: item popularity is `rank ** -exponent`
            over a random ranking of the items.
        popularity_alpha: exponent of popularity in the choice probability.
        affinity_temperature: lower = users stick closer to their tastes.
        user_activity_pareto_shape: every user has one event; the others
            are spread in proportion to Pareto (Lomax) weights of this
            shape; lower = heavier tail and more sparse users.
        max_interactions_per_user: cap on a user's events (also capped at
            half the catalog).
        taste_drift: how far a user's taste weights w move over their
            active window, linearly from w to `(1 - taste_drift) * w +
            taste_drift * reversed(w)`: at 1 the main taste ends as the
            least one (users with a single taste do not drift).
        region_taste_correlation: probability that a user's main taste is
            one of their region's favoured topics.
        cold_item_share: share of the items released late (cold items).
        time_cut_quantile: the intended time cut, as a quantile of all
            event timestamps. Cold items only have events with timestamps
            strictly above `np.quantile(timestamps, time_cut_quantile,
            method="higher")`, i.e. above that quantile by any method, so
            a global time split there (train = events at or before the cut)
            makes them cold-start items that training never sees.
        cold_item_popularity_boost: popularity multiplier of cold items
            after their release (new releases draw attention).
        rating_affinity_weight: how much affinity raises a rating.
        rating_noise: standard deviation of the rating noise.
        user_rating_bias_std: standard deviation of per-user rating biases.
        timeline_start: Unix seconds of the start of the timeline.
        timeline_days: length of the timeline.
        seed: the random seed; same config and seed give identical data.

    Examples:
        >>> config = BuiltinWorldConfig(num_items=200, num_users=300,
        ...                             num_interactions=5000, seed=7)
        >>> data = generate_builtin_world(config)
        >>> len(data.interactions), len(data.catalog)
        (5000, 200)
    """

    num_items: int = 2000
    num_users: int = 3000
    num_interactions: int = 80_000
    num_topics: int = 14
    scenarios: Tuple[str, ...] = ("books", "films")
    scenario_item_shares: Tuple[float, ...] = (0.5, 0.5)
    scenario_popularity: Tuple[float, ...] = (0.6, 1.0)
    item_topic_count_probabilities: Tuple[float, ...] = (0.45, 0.4, 0.15)
    user_taste_count_probabilities: Tuple[float, ...] = (0.4, 0.4, 0.2)
    popularity_zipf_exponent: float = 1.4
    popularity_alpha: float = 1.0
    affinity_temperature: float = 0.15
    user_activity_pareto_shape: float = 1.3
    max_interactions_per_user: int = 500
    taste_drift: float = 0.5
    region_taste_correlation: float = 0.6
    cold_item_share: float = 0.05
    time_cut_quantile: float = 0.8
    cold_item_popularity_boost: float = 2.0
    rating_affinity_weight: float = 3.0
    rating_noise: float = 0.8
    user_rating_bias_std: float = 0.4
    timeline_start: int = 1_577_836_800
    timeline_days: int = 730
    seed: int = 0

    def __post_init__(self):
        for name in ("num_items", "num_users", "num_interactions", "num_topics",
                     "max_interactions_per_user", "timeline_days"):
            _require(getattr(self, name) >= 1, f"{name} must be >= 1, got {getattr(self, name)}")
        max_topics = len(vocabulary.TOPIC_PHRASES)
        _require(self.num_topics <= max_topics,
                 f"num_topics must be <= {max_topics} (topics in the vocabulary), "
                 f"got {self.num_topics}")
        _require(self.num_items >= self.num_topics,
                 f"num_items ({self.num_items}) must be >= num_topics ({self.num_topics}) "
                 "so that every topic has an item")
        self._validate_scenarios()
        _require_probabilities("item_topic_count_probabilities",
                               self.item_topic_count_probabilities)
        _require_probabilities("user_taste_count_probabilities",
                               self.user_taste_count_probabilities)
        for name in ("popularity_zipf_exponent", "popularity_alpha", "rating_noise",
                     "user_rating_bias_std", "rating_affinity_weight"):
            _require(getattr(self, name) >= 0, f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("affinity_temperature", "user_activity_pareto_shape",
                     "cold_item_popularity_boost"):
            _require(getattr(self, name) > 0, f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("taste_drift", "region_taste_correlation"):
            _require(0 <= getattr(self, name) <= 1,
                     f"{name} must be in [0, 1], got {getattr(self, name)}")
        _require(0 < self.time_cut_quantile < 1,
                 f"time_cut_quantile must be in (0, 1), got {self.time_cut_quantile}")
        _require(0 <= self.cold_item_share <= MAX_COLD_ITEM_SHARE,
                 f"cold_item_share must be in [0, {MAX_COLD_ITEM_SHARE}], "
                 f"got {self.cold_item_share}")
        _require(self.num_cold_items <= self.num_items - self.num_topics,
                 f"cold_item_share={self.cold_item_share} makes {self.num_cold_items} cold "
                 f"items, but at least num_topics={self.num_topics} of the "
                 f"{self.num_items} items must stay warm (one per topic)")
        _require(self.num_interactions >= self.num_users,
                 f"num_interactions ({self.num_interactions}) must be >= num_users "
                 f"({self.num_users}): every user has at least one interaction")
        capacity = self.num_users * self.interactions_cap_per_user
        _require(self.num_interactions <= capacity,
                 f"num_interactions ({self.num_interactions}) exceeds num_users x "
                 f"{self.interactions_cap_per_user} interactions per user at most "
                 f"(= {capacity}); raise num_users, num_items or max_interactions_per_user")

    def _validate_scenarios(self):
        _require(len(self.scenarios) >= 1, "scenarios must name at least one scenario")
        _require(len(set(self.scenarios)) == len(self.scenarios),
                 f"scenarios must be unique, got {self.scenarios}")
        known = sorted(vocabulary.SCENARIO_TOPIC_PHRASES)
        for scenario in self.scenarios:
            _require(scenario in vocabulary.SCENARIO_TOPIC_PHRASES,
                     f"unknown scenario {scenario!r}; known scenarios: {known}")
        for name in ("scenario_item_shares", "scenario_popularity"):
            values = getattr(self, name)
            _require(len(values) == len(self.scenarios),
                     f"{name} needs one value per scenario ({len(self.scenarios)}), "
                     f"got {len(values)}")
            _require(all(v > 0 for v in values), f"{name} must be > 0, got {values}")

    @property
    def num_cold_items(self) -> int:
        """Number of late-released items."""
        return int(round(self.cold_item_share * self.num_items))

    @property
    def interactions_cap_per_user(self) -> int:
        """Most events one user can have."""
        catalog_cap = max(1, int(MAX_CATALOG_SHARE_PER_USER * self.num_items))
        return min(self.max_interactions_per_user, catalog_cap)


def _require(condition: bool, message: str):
    if not condition:
        raise ValueError(f"BuiltinWorldConfig: {message}")


def _require_probabilities(name: str, values: Tuple[float, ...]):
    _require(1 <= len(values) <= 3, f"{name} needs 1 to 3 values, got {len(values)}")
    _require(all(v >= 0 for v in values) and abs(sum(values) - 1) < 1e-6,
             f"{name} must be non-negative and sum to 1, got {values}")


@dataclasses.dataclass
class _ItemLatents:
    """Per item: topic slots (ordered by weight), weights, scenario, popularity."""

    topics: np.ndarray  # int [num_items, 3], _NO_TOPIC where unused
    topic_weights: np.ndarray  # float [num_items, 3], 0 where unused
    scenario_index: np.ndarray  # int [num_items]
    popularity: np.ndarray  # float [num_items]
    is_cold: np.ndarray  # bool [num_items]

    def topic_matrix(self, num_topics: int) -> np.ndarray:
        """Dense [num_items, num_topics] topic weights."""
        matrix = np.zeros((len(self.topics), num_topics))
        rows = np.repeat(np.arange(len(self.topics)), self.topics.shape[1])
        columns = self.topics.ravel()
        used = columns != _NO_TOPIC
        matrix[rows[used], columns[used]] = self.topic_weights.ravel()[used]
        return matrix


@dataclasses.dataclass
class _UserLatents:
    """Per user: tastes, their drifting weights, activity window, rating bias."""

    tastes: np.ndarray  # int [num_users, 3], _NO_TOPIC where unused
    start_weights: np.ndarray  # float [num_users, 3]
    end_weights: np.ndarray  # float [num_users, 3]
    region_index: np.ndarray  # int [num_users]
    num_events: np.ndarray  # int [num_users]
    window_start: np.ndarray  # float [num_users], fraction of the timeline
    window_span: np.ndarray  # float [num_users]
    rating_bias: np.ndarray  # float [num_users]


def generate_builtin_world(config: BuiltinWorldConfig = BuiltinWorldConfig()) -> InteractionData:
    """Generates the built-in world described in the module docstring."""
    streams = _random_streams(config.seed)
    items = _draw_items(config, streams[_ITEM_STREAM])
    users = _draw_users(config, streams[_USER_STREAM])
    user_index, item_index, timestamps, labels = _draw_events(
        config, items, users, streams[_EVENT_STREAM])
    item_ids = _ids(ITEM_ID_PREFIX, config.num_items)
    user_ids = _ids(USER_ID_PREFIX, config.num_users)
    scenario_names = np.asarray(config.scenarios, dtype=str)
    interactions = Interactions(
        user_ids=user_ids[user_index],
        item_ids=item_ids[item_index],
        timestamps=timestamps,
        labels=labels,
        scenarios=scenario_names[items.scenario_index[item_index]],
    )
    topic_names = _topic_names(config)
    catalog = ItemCatalog(
        item_ids=item_ids,
        text_fields=_write_item_texts(config, items, streams[_TEXT_STREAM]),
        attributes=(items.topic_matrix(config.num_topics) > 0).astype(np.float32),
        attribute_names=topic_names,
    )
    region_names = np.asarray(vocabulary.REGION_NAMES, dtype=str)
    user_features = UserFeatures(
        user_ids=user_ids, columns={REGION_FEATURE: region_names[users.region_index]})
    return InteractionData(
        name=WORLD_NAME,
        interactions=interactions,
        catalog=catalog,
        label_kind="rating",
        user_features=user_features,
        report=LoadReport(),
    )


def builtin_cold_item_ids(config: BuiltinWorldConfig = BuiltinWorldConfig()) -> np.ndarray:
    """Ids of the late-released items of the world `config` generates."""
    items = _draw_items(config, _random_streams(config.seed)[_ITEM_STREAM])
    return _ids(ITEM_ID_PREFIX, config.num_items)[items.is_cold]


def _random_streams(seed: int) -> List[np.random.Generator]:
    children = np.random.SeedSequence(seed).spawn(_NUM_STREAMS)
    return [np.random.default_rng(child) for child in children]


def _ids(prefix: str, count: int) -> np.ndarray:
    return np.asarray([f"{prefix}{n}" for n in range(1, count + 1)], dtype=str)


def _topic_names(config: BuiltinWorldConfig) -> List[str]:
    return list(vocabulary.TOPIC_PHRASES)[: config.num_topics]


# ---------------------------------------------------------------- latents


def _draw_mixtures(rng, count_probabilities, main_topics, num_topics):
    """Sparse topic mixtures: main topic first, weights sorted descending.

    Returns (topics [n, 3] with _NO_TOPIC padding, weights [n, 3]).
    """
    n = len(main_topics)
    max_slots = 3
    counts = 1 + rng.choice(len(count_probabilities), size=n, p=count_probabilities)
    counts = np.minimum(counts, num_topics)
    # Random distinct topics per row, the main topic forced to the front.
    sort_keys = rng.random((n, num_topics))
    sort_keys[np.arange(n), main_topics] = 2.0
    order = np.argsort(-sort_keys, axis=1)
    topics = np.full((n, max_slots), _NO_TOPIC)
    slots = min(max_slots, num_topics)
    topics[:, :slots] = order[:, :slots]
    weights = -np.sort(-rng.dirichlet(np.ones(max_slots), size=n), axis=1)
    used = np.arange(max_slots)[None, :] < counts[:, None]
    topics[~used] = _NO_TOPIC
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


def _draw_items(config: BuiltinWorldConfig, rng: np.random.Generator) -> _ItemLatents:
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
    return _ItemLatents(topics, weights, scenario_index, popularity, is_cold)


def _draw_users(config: BuiltinWorldConfig, rng: np.random.Generator) -> _UserLatents:
    n, k = config.num_users, config.num_topics
    num_regions = len(vocabulary.REGION_NAMES)
    region_index = rng.integers(num_regions, size=n)
    # Region r favours topics r, r + num_regions, r + 2 * num_regions, ...
    favoured_count = np.maximum(0, -(-(k - region_index) // num_regions))
    favoured_topic = region_index + num_regions * np.floor(
        rng.random(n) * np.maximum(favoured_count, 1)).astype(int)
    follows_region = (rng.random(n) < config.region_taste_correlation) & (favoured_count > 0)
    main_topics = np.where(follows_region, favoured_topic, rng.integers(k, size=n))
    tastes, start_weights = _draw_mixtures(
        rng, config.user_taste_count_probabilities, main_topics, k)
    # Drift: the tastes trade places, the main one ending as the least.
    num_tastes = (tastes != _NO_TOPIC).sum(axis=1, keepdims=True)
    slot = np.arange(tastes.shape[1])[None, :]
    reversed_slot = np.where(slot < num_tastes, num_tastes - 1 - slot, slot)
    reversed_weights = np.take_along_axis(start_weights, reversed_slot, axis=1)
    end_weights = ((1 - config.taste_drift) * start_weights
                   + config.taste_drift * reversed_weights)
    window_span = rng.uniform(USER_WINDOW_MIN_SPAN, USER_WINDOW_MAX_SPAN, size=n)
    window_start = rng.random(n) * (1 - window_span)
    return _UserLatents(
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


# ---------------------------------------------------------------- events


@dataclasses.dataclass
class _ItemSampler:
    """Exact draws from one distribution over items per (topic, period) row.

    Row `topic + num_topics * period`, period 0 = up to the cut (cold items
    excluded), 1 = after the cut (cold items boosted).
    """

    weights: np.ndarray  # [2 * num_topics, num_items]
    cumulative: np.ndarray  # same shape, cumulative sums of `weights`
    last_positive: np.ndarray  # per row, index of the last item of weight > 0

    @classmethod
    def build(cls, config: BuiltinWorldConfig, items: _ItemLatents) -> "_ItemSampler":
        topic_matrix = items.topic_matrix(config.num_topics)  # [items, topics]
        base = items.popularity ** config.popularity_alpha
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
            events = order[bounds[row]:bounds[row + 1]]
            cumulative = self.cumulative[row]
            found = np.searchsorted(cumulative, uniforms[events] * cumulative[-1], side="right")
            chosen[events] = np.minimum(found, self.last_positive[row])
        return chosen


def _draw_events(config, items: _ItemLatents, users: _UserLatents, rng):
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

    sampler = _ItemSampler.build(config, items)
    rows = np.empty(len(user_index), dtype=np.int64)
    item_index = np.empty(len(user_index), dtype=np.int64)
    for chunk in _chunks(len(user_index)):
        taste = _active_taste(users, user_index[chunk], position[chunk], rng)
        rows[chunk] = taste + config.num_topics * after_cut[chunk]
        item_index[chunk] = sampler.draw(rows[chunk], rng)
    _redraw_duplicates(config, sampler, user_index, rows, item_index, rng)

    labels = np.empty(len(user_index), dtype=np.float32)
    for chunk in _chunks(len(user_index)):
        labels[chunk] = _ratings(config, items, users, user_index[chunk],
                                 position[chunk], item_index[chunk], rng)
    return user_index, item_index, timestamps, labels


def _chunks(length: int):
    for start in range(0, length, EVENT_CHUNK_SIZE):
        yield slice(start, min(start + EVENT_CHUNK_SIZE, length))


def _timestamps(config, users: _UserLatents, user_index, position) -> np.ndarray:
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


def _current_weights(users: _UserLatents, user_index, position) -> np.ndarray:
    start = users.start_weights[user_index]
    return start + position[:, None] * (users.end_weights[user_index] - start)


def _active_taste(users: _UserLatents, user_index, position, rng) -> np.ndarray:
    """The taste (topic) each event acts on, drawn from the drifted weights."""
    cumulative = np.cumsum(_current_weights(users, user_index, position), axis=1)
    uniforms = rng.random(len(user_index)) * cumulative[:, -1]
    slot = (uniforms[:, None] >= cumulative).sum(axis=1)
    num_slots = (users.tastes[user_index] != _NO_TOPIC).sum(axis=1)
    slot = np.minimum(slot, num_slots - 1)
    return users.tastes[user_index, slot]


def _redraw_duplicates(config, sampler: _ItemSampler, user_index, rows, item_index, rng):
    """Redraws items a user already has, so every (user, item) pair is unique.

    A few rounds draw candidates for the repeated events from their own
    distribution and keep, per event, the first candidate new to the user
    (rejection sampling). The rest (heavy users who exhausted their
    favourite items) draw without replacement among the items they do not
    have yet, per (user, distribution) group.
    """
    num_items = config.num_items
    duplicates, kept_keys = _duplicate_positions(user_index * num_items + item_index)
    for _ in range(DUPLICATE_REDRAW_ROUNDS):
        if len(duplicates) == 0:
            return
        users = user_index[duplicates]
        new_items, clash = _first_new_candidates(
            sampler, rows[duplicates], users, kept_keys, num_items, rng)
        new_keys = users * num_items + new_items
        found = np.flatnonzero(~clash)
        clash[found[_duplicate_positions(new_keys[found])[0]]] = True  # same pick twice
        item_index[duplicates[~clash]] = new_items[~clash]
        kept_keys = _insert_sorted(kept_keys, new_keys[~clash])
        duplicates = duplicates[clash]
    if len(duplicates) > 0:
        _draw_unseen_items(num_items, sampler, user_index, rows, item_index,
                           duplicates, kept_keys, rng)


def _first_new_candidates(sampler, rows, users, kept_keys, num_items, rng):
    """Per event, the first of up to REDRAW_CANDIDATES draws the user does not have.

    Returns (items, found_none); items is -1 where none was found.
    """
    items = np.full(len(rows), -1, dtype=np.int64)
    found_none = np.ones(len(rows), dtype=bool)
    pending = np.arange(len(rows))
    for _ in range(REDRAW_CANDIDATES):
        if len(pending) == 0:
            break
        candidates = sampler.draw(rows[pending], rng)
        is_new = ~_sorted_contains(kept_keys, users[pending] * num_items + candidates)
        items[pending[is_new]] = candidates[is_new]
        found_none[pending[is_new]] = False
        pending = pending[~is_new]
    return items, found_none


def _draw_unseen_items(num_items, sampler, user_index, rows, item_index, positions,
                       kept_keys, rng):
    """Gumbel-top-k draws without replacement among each user's unseen items.

    Events of one user and one distribution row form a group; a user's
    groups are handled in successive layers so they never pick the same item.
    """
    num_rows = len(sampler.weights)
    group_keys = user_index[positions] * num_rows + rows[positions]
    order = np.argsort(group_keys, kind="stable")
    positions, group_keys = positions[order], group_keys[order]
    groups, group_start, group_size = np.unique(
        group_keys, return_index=True, return_counts=True)
    group_user = groups // num_rows
    group_row = groups % num_rows
    first_of_user = np.unique(group_user, return_index=True)[1]
    layer = np.arange(len(groups)) - np.repeat(first_of_user, np.diff(
        np.append(first_of_user, len(groups))))
    log_weights = np.log(np.maximum(sampler.weights, np.finfo(float).tiny))
    log_weights[sampler.weights == 0] = -np.inf
    groups_per_chunk = max(1, EVENT_CHUNK_SIZE // num_items)
    for current_layer in range(layer.max() + 1):
        in_layer = np.flatnonzero(layer == current_layer)
        layer_keys = []  # users differ within a layer: insert the new keys once per layer
        for start in range(0, len(in_layer), groups_per_chunk):
            chunk = in_layer[start:start + groups_per_chunk]
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


def _ratings(config, items: _ItemLatents, users: _UserLatents, user_index, position,
             item_index, rng) -> np.ndarray:
    """1-5 stars from the affinity with the user's current taste mixture."""
    weights = _current_weights(users, user_index, position)
    tastes = users.tastes[user_index]
    item_topics = items.topics[item_index]
    item_weights = items.topic_weights[item_index]
    affinity = np.zeros(len(user_index))
    for user_slot in range(tastes.shape[1]):
        for item_slot in range(item_topics.shape[1]):
            same = (tastes[:, user_slot] == item_topics[:, item_slot]) & \
                (tastes[:, user_slot] != _NO_TOPIC)
            affinity += same * weights[:, user_slot] * item_weights[:, item_slot]
    raw = (RATING_BASELINE + config.rating_affinity_weight * affinity
           + users.rating_bias[user_index]
           + rng.normal(0.0, config.rating_noise, size=len(user_index)))
    return np.clip(np.round(raw), MIN_RATING, MAX_RATING)


# ---------------------------------------------------------------- texts


def _write_item_texts(config: BuiltinWorldConfig, items: _ItemLatents, rng) -> dict:
    """Title, description and genres of every item, from its topics."""
    topic_names = _topic_names(config)
    titles, descriptions, genres = [], [], []
    title_uses = {}
    for item in range(config.num_items):
        scenario = config.scenarios[items.scenario_index[item]]
        used = items.topics[item] != _NO_TOPIC
        topics = [topic_names[t] for t in items.topics[item][used]]
        weights = items.topic_weights[item][used]
        phrases = _pick_topic_phrases(scenario, topics, weights, rng)
        title = _title(scenario, phrases[0], rng)
        title_uses[title] = title_uses.get(title, 0) + 1
        if title_uses[title] > 1:  # a sequel keeps titles unique
            title = f"{title} {title_uses[title]}"
        titles.append(title)
        descriptions.append(_description(scenario, phrases[1:], rng))
        genres.append(GENRE_SEPARATOR.join(topics))
    return {
        TITLE_FIELD: np.asarray(titles, dtype=str),
        DESCRIPTION_FIELD: np.asarray(descriptions, dtype=str),
        GENRES_FIELD: np.asarray(genres, dtype=str),
    }


def _pick_topic_phrases(scenario: str, topics: List[str], weights: np.ndarray, rng) -> List[str]:
    """One phrase for the title (main topic) and some for the description.

    Every topic of the item gets a description phrase; the remaining ones
    follow the topic weights. No phrase repeats within an item.
    """
    extra = max(0, TOPIC_PHRASES_PER_DESCRIPTION - len(topics))
    phrase_topics = [topics[0]] + list(topics) + list(
        rng.choice(topics, size=extra, p=weights))
    picked = []
    for topic in dict.fromkeys(phrase_topics):
        pool = (vocabulary.TOPIC_PHRASES[topic]
                + vocabulary.SCENARIO_TOPIC_PHRASES[scenario][topic])
        wanted = phrase_topics.count(topic)
        picked.extend((topic, pool[j]) for j in rng.choice(len(pool), size=wanted, replace=False))
    # The first phrase of the main topic goes to the title; shuffle the rest.
    title_phrase = picked[0][1]
    rest = [phrase for _, phrase in picked[1:]]
    return [title_phrase] + [rest[j] for j in rng.permutation(len(rest))]


def _title(scenario: str, phrase: str, rng) -> str:
    templates = vocabulary.SCENARIO_TITLE_TEMPLATES[scenario]
    template = templates[rng.integers(len(templates))]
    return template.format(name=_made_up_name(rng), phrase=phrase.title())


def _made_up_name(rng) -> str:
    syllables = vocabulary.NAME_SYLLABLES
    count = rng.integers(NAME_MIN_SYLLABLES, NAME_MAX_SYLLABLES + 1)
    return "".join(syllables[j] for j in rng.integers(len(syllables), size=count)).capitalize()


def _description(scenario: str, phrases: List[str], rng) -> str:
    openings = vocabulary.SCENARIO_DESCRIPTION_OPENINGS[scenario]
    fillers = vocabulary.SCENARIO_FILLER_PHRASES[scenario] + vocabulary.SHARED_FILLER_PHRASES
    opening = openings[rng.integers(len(openings))]
    filler = fillers[rng.integers(len(fillers))]
    listed = ", ".join(phrases[:-1]) + " and " + phrases[-1] if len(phrases) > 1 else phrases[0]
    return f"{opening} {listed}, {filler}"
