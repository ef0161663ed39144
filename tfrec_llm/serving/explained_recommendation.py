"""A recommended item with the history item that explains it (`recommend(..., explain=True)`)."""

from typing import NamedTuple


class ExplainedRecommendation(NamedTuple):
    """A `Recommendation`'s three fields, then the most similar history item.

    `similarity` is the cosine similarity of the two item embeddings (from
    the `item_encoder` export); `because_of_item_id` is "" and `similarity`
    NaN when no history item is in the catalog.

    Example:
        row = ExplainedRecommendation("50", "Star Wars (1977)", 0.93, "181", "Return of the Jedi (1983)", 0.88)
    """

    item_id: str
    title: str
    score: float
    because_of_item_id: str
    because_of_title: str
    similarity: float
