"""One recommended item, as `recommend` returns it."""

from typing import NamedTuple


class Recommendation(NamedTuple):
    """(item_id, title, score): score is the retrieval dot product (higher is better).

    Example:
        item_id, title, score = Recommendation("50", "Star Wars (1977)", 0.93)
    """

    item_id: str
    title: str
    score: float
