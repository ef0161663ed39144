"""The size, shape and seed of the built-in world, validated on construction."""

import dataclasses
from typing import List, Tuple

from tfrec_llm.data.synthetic import builtin_vocabulary as vocabulary

# A user interacts with at most this share of the catalog.
MAX_CATALOG_SHARE_PER_USER = 0.5
# At most this share of the items may be cold, so every user can always find
# enough warm items they have not interacted with yet.
MAX_COLD_ITEM_SHARE = 0.5


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
        >>> from tfrec_llm.data.synthetic.builtin_world import generate_builtin_world
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
        for name in (
            "num_items",
            "num_users",
            "num_interactions",
            "num_topics",
            "max_interactions_per_user",
            "timeline_days",
        ):
            _require(getattr(self, name) >= 1, f"{name} must be >= 1, got {getattr(self, name)}")
        max_topics = len(vocabulary.TOPIC_PHRASES)
        _require(
            self.num_topics <= max_topics,
            f"num_topics must be <= {max_topics} (topics in the vocabulary), got {self.num_topics}",
        )
        _require(
            self.num_items >= self.num_topics,
            f"num_items ({self.num_items}) must be >= num_topics ({self.num_topics}) so that every topic has an item",
        )
        self._validate_scenarios()
        _require_probabilities("item_topic_count_probabilities", self.item_topic_count_probabilities)
        _require_probabilities("user_taste_count_probabilities", self.user_taste_count_probabilities)
        for name in (
            "popularity_zipf_exponent",
            "popularity_alpha",
            "rating_noise",
            "user_rating_bias_std",
            "rating_affinity_weight",
        ):
            _require(getattr(self, name) >= 0, f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("affinity_temperature", "user_activity_pareto_shape", "cold_item_popularity_boost"):
            _require(getattr(self, name) > 0, f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("taste_drift", "region_taste_correlation"):
            _require(0 <= getattr(self, name) <= 1, f"{name} must be in [0, 1], got {getattr(self, name)}")
        _require(0 < self.time_cut_quantile < 1, f"time_cut_quantile must be in (0, 1), got {self.time_cut_quantile}")
        _require(
            0 <= self.cold_item_share <= MAX_COLD_ITEM_SHARE,
            f"cold_item_share must be in [0, {MAX_COLD_ITEM_SHARE}], got {self.cold_item_share}",
        )
        _require(
            self.num_cold_items <= self.num_items - self.num_topics,
            f"cold_item_share={self.cold_item_share} makes {self.num_cold_items} cold "
            f"items, but at least num_topics={self.num_topics} of the "
            f"{self.num_items} items must stay warm (one per topic)",
        )
        _require(
            self.num_interactions >= self.num_users,
            f"num_interactions ({self.num_interactions}) must be >= num_users "
            f"({self.num_users}): every user has at least one interaction",
        )
        capacity = self.num_users * self.interactions_cap_per_user
        _require(
            self.num_interactions <= capacity,
            f"num_interactions ({self.num_interactions}) exceeds num_users x "
            f"{self.interactions_cap_per_user} interactions per user at most "
            f"(= {capacity}); raise num_users, num_items or max_interactions_per_user",
        )

    def _validate_scenarios(self):
        _require(len(self.scenarios) >= 1, "scenarios must name at least one scenario")
        _require(len(set(self.scenarios)) == len(self.scenarios), f"scenarios must be unique, got {self.scenarios}")
        known = sorted(vocabulary.SCENARIO_TOPIC_PHRASES)
        for scenario in self.scenarios:
            _require(
                scenario in vocabulary.SCENARIO_TOPIC_PHRASES,
                f"unknown scenario {scenario!r}; known scenarios: {known}",
            )
        for name in ("scenario_item_shares", "scenario_popularity"):
            values = getattr(self, name)
            _require(
                len(values) == len(self.scenarios),
                f"{name} needs one value per scenario ({len(self.scenarios)}), got {len(values)}",
            )
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
    _require(
        all(v >= 0 for v in values) and abs(sum(values) - 1) < 1e-6,
        f"{name} must be non-negative and sum to 1, got {values}",
    )


def topic_names(config: BuiltinWorldConfig) -> List[str]:
    """Names of the first `config.num_topics` topics of the vocabulary."""
    return list(vocabulary.TOPIC_PHRASES)[: config.num_topics]
