"""Item texts of the built-in world, written from each item's latent topics.

A title (a made-up name and a phrase of the main topic), a description
(phrases of every topic of the item and a filler remark) and the genres
(topic names). Topics have several paraphrases in `builtin_vocabulary`, so
same-topic items often share meaning but no exact word.
"""

from typing import List

import numpy as np

from tfrec_llm.data.synthetic import builtin_vocabulary as vocabulary
from tfrec_llm.data.synthetic.latents import NO_TOPIC, ItemLatents
from tfrec_llm.data.synthetic.world_config import BuiltinWorldConfig, topic_names

TITLE_FIELD = "title"
DESCRIPTION_FIELD = "description"
GENRES_FIELD = "genres"
GENRE_SEPARATOR = ", "
# Phrases about the item's topics in one description.
TOPIC_PHRASES_PER_DESCRIPTION = 3
NAME_MIN_SYLLABLES = 2
NAME_MAX_SYLLABLES = 3


def write_item_texts(config: BuiltinWorldConfig, items: ItemLatents, rng) -> dict:
    """Title, description and genres of every item, from its topics."""
    names = topic_names(config)
    titles, descriptions, genres = [], [], []
    title_uses = {}
    for item in range(config.num_items):
        scenario = config.scenarios[items.scenario_index[item]]
        used = items.topics[item] != NO_TOPIC
        topics = [names[t] for t in items.topics[item][used]]
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
    phrase_topics = [topics[0]] + list(topics) + list(rng.choice(topics, size=extra, p=weights))
    picked = []
    for topic in dict.fromkeys(phrase_topics):
        pool = vocabulary.TOPIC_PHRASES[topic] + vocabulary.SCENARIO_TOPIC_PHRASES[scenario][topic]
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
