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

Modules: `world_config` (the config and its validation), `latents` (items
and users), `event_sampling` and `item_draws` (interactions, time, ratings),
`text_writing` (item texts); this module puts them together.
"""

from typing import List, Optional

import numpy as np

from tfrec_llm.data.synthetic import builtin_vocabulary as vocabulary
from tfrec_llm.data.synthetic.event_sampling import draw_events
from tfrec_llm.data.synthetic.latents import draw_items, draw_users
from tfrec_llm.data.synthetic.text_writing import write_item_texts
from tfrec_llm.data.synthetic.world_config import BuiltinWorldConfig, topic_names
from tfrec_llm.data.interaction_data import (
    InteractionData,
    Interactions,
    ItemCatalog,
    LoadReport,
    UserFeatures,
)

__all__ = ["BuiltinWorldConfig", "builtin_cold_item_ids", "generate_builtin_world"]

WORLD_NAME = "builtin"
REGION_FEATURE = "region"
USER_ID_PREFIX = "u"
ITEM_ID_PREFIX = "i"
# Independent random streams, so e.g. the items do not depend on num_users.
_ITEM_STREAM, _TEXT_STREAM, _USER_STREAM, _EVENT_STREAM = range(4)
_NUM_STREAMS = 4


def generate_builtin_world(config: Optional[BuiltinWorldConfig] = None) -> InteractionData:
    """Generates the built-in world described in the module docstring (default config: None)."""
    config = BuiltinWorldConfig() if config is None else config
    streams = _random_streams(config.seed)
    items = draw_items(config, streams[_ITEM_STREAM])
    users = draw_users(config, streams[_USER_STREAM])
    user_index, item_index, timestamps, labels = draw_events(config, items, users, streams[_EVENT_STREAM])
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
    catalog = ItemCatalog(
        item_ids=item_ids,
        text_fields=write_item_texts(config, items, streams[_TEXT_STREAM]),
        attributes=(items.topic_matrix(config.num_topics) > 0).astype(np.float32),
        attribute_names=topic_names(config),
    )
    region_names = np.asarray(vocabulary.REGION_NAMES, dtype=str)
    user_features = UserFeatures(user_ids=user_ids, columns={REGION_FEATURE: region_names[users.region_index]})
    return InteractionData(
        name=WORLD_NAME,
        interactions=interactions,
        catalog=catalog,
        label_kind="rating",
        user_features=user_features,
        report=LoadReport(),
    )


def builtin_cold_item_ids(config: Optional[BuiltinWorldConfig] = None) -> np.ndarray:
    """Ids of the late-released items of the world `config` generates (default config: None)."""
    config = BuiltinWorldConfig() if config is None else config
    items = draw_items(config, _random_streams(config.seed)[_ITEM_STREAM])
    return _ids(ITEM_ID_PREFIX, config.num_items)[items.is_cold]


def _random_streams(seed: int) -> List[np.random.Generator]:
    children = np.random.SeedSequence(seed).spawn(_NUM_STREAMS)
    return [np.random.default_rng(child) for child in children]


def _ids(prefix: str, count: int) -> np.ndarray:
    return np.asarray([f"{prefix}{n}" for n in range(1, count + 1)], dtype=str)
