"""Tests of the built-in synthetic world: determinism, shape, tail, cold items, text."""

import collections
import itertools
import re
import time

import numpy as np
import pytest

from tfrec_llm.data.synthetic import builtin_vocabulary as vocabulary
from tfrec_llm.data.synthetic import item_draws
from tfrec_llm.data.synthetic.event_sampling import SECONDS_PER_DAY
from tfrec_llm.data.synthetic.builtin_world import (
    BuiltinWorldConfig,
    builtin_cold_item_ids,
    generate_builtin_world,
)
from tfrec_llm.data.dataset_statistics import describe

SMALL = BuiltinWorldConfig(num_items=300, num_users=400, num_interactions=6000, seed=3)


@pytest.fixture(scope="module")
def default_world():
    start = time.process_time()
    data = generate_builtin_world(BuiltinWorldConfig())
    return data, time.process_time() - start


@pytest.fixture(scope="module")
def small_world():
    return generate_builtin_world(SMALL)


def _words(text: str) -> set:
    return set(re.findall(r"[a-z]+", text.lower()))


def _topics_of(data) -> list:
    names = np.asarray(data.catalog.attribute_names)
    return [set(names[row > 0]) for row in data.catalog.attributes]


def _assert_same_data(left, right):
    for field in ("user_ids", "item_ids", "timestamps", "labels", "scenarios"):
        np.testing.assert_array_equal(getattr(left.interactions, field), getattr(right.interactions, field))
    np.testing.assert_array_equal(left.catalog.item_ids, right.catalog.item_ids)
    np.testing.assert_array_equal(left.catalog.texts(), right.catalog.texts())
    np.testing.assert_array_equal(left.catalog.attributes, right.catalog.attributes)
    np.testing.assert_array_equal(left.user_features.columns["region"], right.user_features.columns["region"])


def test_same_seed_gives_identical_data(small_world):
    _assert_same_data(small_world, generate_builtin_world(SMALL))


def test_other_seed_gives_different_data(small_world):
    other = generate_builtin_world(BuiltinWorldConfig(num_items=300, num_users=400, num_interactions=6000, seed=4))
    assert not np.array_equal(other.interactions.item_ids, small_world.interactions.item_ids)
    assert not np.array_equal(other.catalog.texts(), small_world.catalog.texts())


def test_sizes_and_schema_follow_config(small_world):
    data = small_world
    assert data.name == "builtin"
    assert data.label_kind == "rating"
    assert len(data.interactions) == 6000
    assert len(data.catalog) == 300
    assert len(np.unique(data.interactions.user_ids)) == 400
    assert set(data.interactions.item_ids) <= set(data.catalog.item_ids)
    assert data.catalog.attributes.shape == (300, SMALL.num_topics)
    assert data.catalog.attribute_names == list(vocabulary.TOPIC_PHRASES)[: SMALL.num_topics]
    assert set(data.catalog.text_fields) == {"title", "description", "genres"}
    assert len(data.user_features.user_ids) == 400
    assert set(data.user_features.columns["region"]) <= set(vocabulary.REGION_NAMES)
    assert set(np.unique(data.interactions.labels)) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert set(data.interactions.scenarios) == {"books", "films"}


def test_every_item_has_one_to_three_topics_matching_its_genres(small_world):
    catalog = small_world.catalog
    topic_counts = catalog.attributes.sum(axis=1)
    assert topic_counts.min() == 1 and topic_counts.max() == 3
    for genres, topics in zip(catalog.text_fields["genres"], _topics_of(small_world)):
        assert set(genres.split(", ")) == topics


def test_no_user_interacts_twice_with_an_item(default_world):
    interactions = default_world[0].interactions
    pairs = np.char.add(np.char.add(interactions.user_ids, "|"), interactions.item_ids)
    assert len(np.unique(pairs)) == len(pairs)


def test_timestamps_increase_strictly_within_each_user(small_world):
    interactions = small_world.interactions
    order = np.lexsort((np.arange(len(interactions)), interactions.user_ids))
    users = interactions.user_ids[order]
    times = interactions.timestamps[order]
    same_user = users[1:] == users[:-1]
    assert np.all(times[1:][same_user] > times[:-1][same_user])
    start = SMALL.timeline_start
    end = start + SMALL.timeline_days * SECONDS_PER_DAY
    assert times.min() >= start
    assert times.max() <= end + SMALL.interactions_cap_per_user


def test_default_world_is_fast_and_long_tailed(default_world):
    data, seconds = default_world
    stats = describe(data)
    assert seconds < 3.0
    assert 60_000 <= stats["num_interactions"] <= 100_000
    assert stats["num_items"] == 2000 and stats["num_users"] == 3000
    assert 0.55 <= stats["top20_item_share"] <= 0.75
    assert 0.5 <= stats["item_popularity_gini"] <= 0.75
    assert stats["share_users_le5"] >= 0.3
    assert 3.0 <= stats["rating_mean"] <= 4.0


def test_cold_items_only_interact_after_the_cut(default_world):
    data, _ = default_world
    config = BuiltinWorldConfig()
    cold = builtin_cold_item_ids(config)
    assert len(cold) == round(config.cold_item_share * config.num_items) == 100
    interactions = data.interactions
    on_cold = np.isin(interactions.item_ids, cold)
    for method in ("linear", "lower", "higher", "nearest"):
        cut = np.quantile(interactions.timestamps, config.time_cut_quantile, method=method)
        assert interactions.timestamps[on_cold].min() > cut
    # Released late but not forgotten: most cold items do get test-time events.
    assert len(np.unique(interactions.item_ids[on_cold])) >= 80
    stats = describe(data, cold_item_ids=cold)
    assert stats["num_cold_items"] == 100
    assert stats["cold_item_interactions"] == on_cold.sum()


def test_cold_items_share_topics_with_warm_items(default_world):
    data, _ = default_world
    config = BuiltinWorldConfig()
    interactions = data.interactions
    cut = np.quantile(interactions.timestamps, config.time_cut_quantile)
    seen_before_cut = set(interactions.item_ids[interactions.timestamps <= cut])
    topics = dict(zip(data.catalog.item_ids, _topics_of(data)))
    warm_topic_counts = collections.Counter(topic for item in seen_before_cut for topic in topics[item])
    for item in builtin_cold_item_ids(config):
        assert item not in seen_before_cut
        assert all(warm_topic_counts[topic] >= 10 for topic in topics[item])


def _distinctive_topic_words() -> dict:
    """Topic -> words used by that topic's phrases only (not by other topics or templates)."""
    words = {
        topic: set().union(
            *map(
                _words,
                phrases
                + tuple(
                    phrase for scenario in vocabulary.SCENARIO_TOPIC_PHRASES.values() for phrase in scenario[topic]
                ),
            )
        )
        for topic, phrases in vocabulary.TOPIC_PHRASES.items()
    }
    template_words = set().union(
        *map(
            _words,
            itertools.chain(
                *vocabulary.SCENARIO_DESCRIPTION_OPENINGS.values(),
                *vocabulary.SCENARIO_FILLER_PHRASES.values(),
                vocabulary.SHARED_FILLER_PHRASES,
                *vocabulary.SCENARIO_TITLE_TEMPLATES.values(),
            ),
        )
    )
    distinctive = {}
    for topic, own in words.items():
        others = set().union(*(w for t, w in words.items() if t != topic))
        distinctive[topic] = own - others - template_words
    return distinctive


def test_same_topic_texts_use_synonyms(default_world):
    data, _ = default_world
    distinctive = _distinctive_topic_words()
    texts = data.catalog.texts(["title", "description"])
    topics_with_disjoint_pair = 0
    for topic in data.catalog.attribute_names:
        word_sets = [
            _words(text) & distinctive[topic] for text, topics in zip(texts, _topics_of(data)) if topics == {topic}
        ]
        assert all(word_sets), f"a {topic} item never names its topic"
        if any(not (a & b) for a, b in itertools.combinations(word_sets[:40], 2)):
            topics_with_disjoint_pair += 1
    # Same meaning, no common topic word: what only a language model can bridge.
    assert topics_with_disjoint_pair == len(data.catalog.attribute_names)


def test_same_topic_descriptions_overlap_somewhat_more_than_different_topics(default_world):
    data, _ = default_world
    words = [_words(text) for text in data.catalog.text_fields["description"]]
    topics = _topics_of(data)
    rng = np.random.default_rng(0)
    same, different = [], []
    for left, right in rng.integers(len(words), size=(20_000, 2)):
        if left == right:
            continue
        jaccard = len(words[left] & words[right]) / len(words[left] | words[right])
        if topics[left] == topics[right]:
            same.append(jaccard)
        elif not topics[left] & topics[right]:
            different.append(jaccard)
    assert len(same) >= 30
    # Exact words carry the topic, but weakly: shared openings and fillers
    # dilute them and synonyms split them.
    assert np.mean(same) > 1.3 * np.mean(different)
    assert np.mean(same) < 0.3


def test_titles_are_unique(default_world):
    titles = default_world[0].catalog.text_fields["title"]
    assert len(np.unique(titles)) == len(titles)


def test_scenarios_differ_in_vocabulary_and_popularity(default_world):
    data, _ = default_world
    item_scenario = {}
    for item, scenario in zip(data.interactions.item_ids, data.interactions.scenarios):
        assert item_scenario.setdefault(item, scenario) == scenario  # one scenario per item
    texts = data.catalog.texts(["title", "description"])
    vocabulary_of = collections.defaultdict(set)
    for item, text in zip(data.catalog.item_ids, texts):
        if item in item_scenario:
            vocabulary_of[item_scenario[item]] |= _words(text)
    books, films = vocabulary_of["books"], vocabulary_of["films"]
    assert {"novel", "book", "chapters"} <= books - films
    assert {"film", "movie", "scenes"} <= films - books
    assert len(books & films) / len(books | films) < 0.8
    # Films are configured 1 / 0.6 times as popular as books, on as many items.
    counts = collections.Counter(data.interactions.scenarios)
    assert counts["films"] > 1.3 * counts["books"]


def test_users_of_a_region_lean_to_its_favoured_topics(default_world):
    data, _ = default_world
    num_regions = len(vocabulary.REGION_NAMES)
    region_of = dict(zip(data.user_features.user_ids, data.user_features.columns["region"]))
    topics = dict(zip(data.catalog.item_ids, _topics_of(data)))
    names = data.catalog.attribute_names
    interactions = data.interactions
    event_regions = np.array([region_of[user] for user in interactions.user_ids])
    for r, region in enumerate(vocabulary.REGION_NAMES):
        favoured = {names[t] for t in range(r, len(names), num_regions)}
        hits = np.array([bool(topics[item] & favoured) for item in interactions.item_ids])
        in_region = event_regions == region
        assert hits[in_region].mean() > hits[~in_region].mean() + 0.05, region


def test_ratings_are_higher_on_the_users_main_topic(default_world):
    data, _ = default_world
    topics = dict(zip(data.catalog.item_ids, _topics_of(data)))
    interactions = data.interactions
    events_of = collections.defaultdict(list)
    for index, user in enumerate(interactions.user_ids):
        events_of[user].append(index)
    on_topic, off_topic = [], []
    for events in events_of.values():
        if len(events) < 20:
            continue
        counts = collections.Counter(t for e in events for t in topics[interactions.item_ids[e]])
        main_topic = counts.most_common(1)[0][0]
        for e in events:
            target = on_topic if main_topic in topics[interactions.item_ids[e]] else off_topic
            target.append(interactions.labels[e])
    assert np.mean(on_topic) > np.mean(off_topic) + 0.3


def _main_topic_fading(config) -> float:
    """Mean drop, from a user's first half of events to the second, of the
    share of events on the first half's most frequent topic."""
    data = generate_builtin_world(config)
    attribute_of = dict(zip(data.catalog.item_ids, data.catalog.attributes))
    interactions = data.interactions
    order = np.lexsort((interactions.timestamps, interactions.user_ids))
    user_ids, item_ids = interactions.user_ids[order], interactions.item_ids[order]
    drops = []
    _, starts, counts = np.unique(user_ids, return_index=True, return_counts=True)
    for start, count in zip(starts, counts):
        if count < 30:
            continue
        first, second = [
            np.array([attribute_of[i] for i in part]) for part in np.array_split(item_ids[start : start + count], 2)
        ]
        main_topic = np.argmax(first.sum(axis=0))
        drops.append(first[:, main_topic].mean() - second[:, main_topic].mean())
    assert len(drops) >= 100
    return float(np.mean(drops))


def test_tastes_drift_over_time():
    sizes = dict(num_items=500, num_users=600, num_interactions=25_000, seed=1)
    fixed = _main_topic_fading(BuiltinWorldConfig(taste_drift=0.0, **sizes))
    drifting = _main_topic_fading(BuiltinWorldConfig(taste_drift=1.0, **sizes))
    assert drifting > fixed + 0.02


def test_small_chunks_give_a_valid_world(monkeypatch):
    monkeypatch.setattr(item_draws, "EVENT_CHUNK_SIZE", 997)
    config = BuiltinWorldConfig(num_items=200, num_users=300, num_interactions=5000, cold_item_share=0.1, seed=5)
    interactions = generate_builtin_world(config).interactions
    assert len(interactions) == 5000
    pairs = np.char.add(np.char.add(interactions.user_ids, "|"), interactions.item_ids)
    assert len(np.unique(pairs)) == 5000
    on_cold = np.isin(interactions.item_ids, builtin_cold_item_ids(config))
    assert on_cold.any()
    cut = np.quantile(interactions.timestamps, config.time_cut_quantile, method="higher")
    assert interactions.timestamps[on_cold].min() > cut


def test_heavy_users_get_distinct_items_up_to_the_cap():
    # Half the catalog per user forces the exact without-replacement fallback.
    config = BuiltinWorldConfig(num_items=40, num_users=10, num_interactions=200, num_topics=4, seed=2)
    assert config.interactions_cap_per_user == 20
    interactions = generate_builtin_world(config).interactions
    _, per_user = np.unique(interactions.user_ids, return_counts=True)
    assert per_user.tolist() == [20] * 10
    pairs = np.char.add(np.char.add(interactions.user_ids, "|"), interactions.item_ids)
    assert len(np.unique(pairs)) == 200


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(num_items=0), "num_items must be >= 1"),
        (dict(num_topics=17), "num_topics must be <= 16"),
        (dict(num_items=10, num_topics=12), "so that every topic has an item"),
        (dict(num_interactions=10, num_users=20), "every user has at least one interaction"),
        (dict(num_interactions=10_000_000), "exceeds num_users x 500"),
        (dict(scenarios=("books", "music")), "unknown scenario 'music'"),
        (dict(scenarios=("books",)), "scenario_item_shares needs one value per scenario"),
        (dict(scenario_popularity=(1.0, 0.0)), "scenario_popularity must be > 0"),
        (dict(cold_item_share=0.6), r"cold_item_share must be in \[0, 0.5\]"),
        (dict(time_cut_quantile=1.0), r"time_cut_quantile must be in \(0, 1\)"),
        (dict(affinity_temperature=0.0), "affinity_temperature must be > 0"),
        (dict(taste_drift=1.5), r"taste_drift must be in \[0, 1\]"),
        (dict(user_taste_count_probabilities=(0.5, 0.6)), "must be non-negative and sum to 1"),
        (dict(item_topic_count_probabilities=(0.25,) * 4), "needs 1 to 3 values"),
        (dict(num_items=20, num_topics=16, cold_item_share=0.5), "must stay warm"),
    ],
)
def test_invalid_config_values_raise(changes, message):
    with pytest.raises(ValueError, match=message):
        BuiltinWorldConfig(**changes)


def test_wide_redraw_rounds_of_large_catalogs_keep_pairs_unique(monkeypatch):
    # Heavy users on a small catalog exhaust their favourite items; with the large-catalog
    # rounds switched on, the exact fallback must see (almost) nothing and pairs stay unique.
    fallback_events = []
    original = item_draws._draw_unseen_items

    def counting_fallback(num_items, sampler, user_index, rows, item_index, positions, kept_keys, rng):
        fallback_events.append(len(positions))
        return original(num_items, sampler, user_index, rows, item_index, positions, kept_keys, rng)

    monkeypatch.setattr(item_draws, "_draw_unseen_items", counting_fallback)
    config = BuiltinWorldConfig(num_items=300, num_users=40, num_interactions=4000, seed=3)
    generate_builtin_world(config)
    narrow = sum(fallback_events)
    fallback_events.clear()
    monkeypatch.setattr(item_draws, "WIDE_REDRAW_MIN_ITEMS", 100)
    interactions = generate_builtin_world(config).interactions
    pairs = np.char.add(np.char.add(interactions.user_ids, "|"), interactions.item_ids)
    assert len(np.unique(pairs)) == len(interactions) == 4000
    assert narrow > 0 and sum(fallback_events) < narrow / 4
