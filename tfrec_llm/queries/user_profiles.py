"""Short taste profiles written from item attributes, the stand-in for what a new user would type.

`attribute_profile` writes "likes Drama, War and Western films" from the
attributes (MovieLens genres) of a user's items: the `top` most frequent,
ties broken by catalog column order. The cold-user benchmark writes one per
user from their own training interactions, so a measured profile says what
the user would plausibly say, not more (it names no title).
"""

from typing import Sequence

import numpy as np

PROFILE_TEMPLATE = "likes {names} films"
TOP_ATTRIBUTES = 3


def attribute_profile(attribute_counts: np.ndarray, attribute_names: Sequence[str], top: int = TOP_ATTRIBUTES) -> str:
    """A profile naming the `top` most frequent attributes ("" when no attribute occurs).

    Args:
        attribute_counts: [A] how many of the user's items carry each attribute.
        attribute_names: the A attribute (column) names.
        top: how many attributes to name.

    Example:
        attribute_profile(np.array([0, 5, 2, 7]), ["Action", "Drama", "War", "Western"])
        # "likes Western, Drama and War films"
    """
    counts = np.asarray(attribute_counts, np.float64)
    if counts.shape != (len(attribute_names),):
        raise ValueError(f"{counts.shape[0] if counts.ndim else 0} counts for {len(attribute_names)} attribute names.")
    if top < 1:
        raise ValueError(f"top must be >= 1, got {top}.")
    order = np.argsort(-counts, kind="stable")[:top]
    names = [attribute_names[i] for i in order if counts[i] > 0]
    if not names:
        return ""
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return PROFILE_TEMPLATE.format(names=listed)


def attribute_profiles(
    item_attributes: np.ndarray,
    users_items: Sequence[np.ndarray],
    attribute_names: Sequence[str],
    top: int = TOP_ATTRIBUTES,
) -> list:
    """One `attribute_profile` per user; `users_items[u]` holds row indices into `item_attributes` [V, A]."""
    attributes = np.asarray(item_attributes) > 0
    return [
        attribute_profile(attributes[np.asarray(rows, int)].sum(axis=0), attribute_names, top) for rows in users_items
    ]
