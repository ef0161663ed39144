"""A second tiny domain for `adapt` tests: the tiny world's shape, ids the trained tiny model never saw."""

import dataclasses

import numpy as np

from tfrec_llm.data.interaction_data import InteractionData, ItemCatalog, Interactions
from tiny_fixtures import make_tiny_world

NEW_DOMAIN_USERS = 48


def make_new_domain() -> InteractionData:
    """Another tiny world (other seed, 40 items, 48 users) whose user and item ids are all new."""
    world = make_tiny_world(num_items=40, num_users=NEW_DOMAIN_USERS, seed=7)
    catalog = dataclasses.replace(world.catalog, item_ids=np.char.add("new-", world.catalog.item_ids))
    events = world.interactions
    interactions = Interactions(
        np.char.add("nu-", events.user_ids),
        np.char.add("new-", events.item_ids),
        events.timestamps,
        events.labels,
        None,
    )
    return InteractionData("new-domain", interactions, ItemCatalog(catalog.item_ids, catalog.text_fields))
