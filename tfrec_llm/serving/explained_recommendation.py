"""Why an item was recommended: leave-one-out contributions of the history items.

The contribution of history item h to recommended item r is the drop of
r's score (user embedding . item embedding) when h alone is removed from
the history and the user tower re-reads it:

    drop(h, r) = score(history, r) - score(history without h, r)

so the explanation is what the model computed, not a similarity guess.
The top contributor is the item whose removal lowers the score most. Items
older than the `max_history` most recent ones are not read by the tower:
their drop is 0. Where the model reads item text, `shared_words` lists the
words (letters only, lower case, 3+ letters, no stop words) of the
recommended item's title that the top contributor's title also holds.

Example:
    drops = leave_one_out_drops(encode_histories, ["50", "181"], item_vectors)  # [2, R]
"""

import re
from typing import Callable, List, NamedTuple, Sequence, Tuple

import numpy as np

MAX_CONTRIBUTORS = 3
STOP_WORDS = frozenset(
    "the and for with from into that this are was were his her its our their you your not but".split()
)
WORD = re.compile(r"[^\W\d_]{3,}")

EncodeHistories = Callable[[List[List[str]]], np.ndarray]
"""Right-padded ("") string histories [n, H] -> user embeddings float [n, d]."""


class ExplainedRecommendation(NamedTuple):
    """A `Recommendation`'s three fields, then its top contributor and the evidence.

    `score_drop` is how much `score` falls when `because_of_item_id` is
    removed from the history; `contributors` holds up to 3 (item id, drop)
    pairs, largest drop first; `shared_words` the title words the two items
    share ("" when none, or the model reads no text). `because_of_item_id`
    is "" and `score_drop` NaN when no history item is in the catalog.

    Example:
        row = ExplainedRecommendation("50", "Star Wars (1977)", 0.93, "181", "Return of the Jedi (1983)",
                                      0.21, (("181", 0.21), ("172", 0.05)), "")
    """

    item_id: str
    title: str
    score: float
    because_of_item_id: str
    because_of_title: str
    score_drop: float
    contributors: Tuple[Tuple[str, float], ...]
    shared_words: str


def leave_one_out_histories(history: Sequence[str]) -> List[List[str]]:
    """[history] + one copy per position with that item removed, all right-padded with "" to len(history)."""
    history = list(history)
    rows = [history] + [history[:p] + history[p + 1 :] + [""] for p in range(len(history))]
    return rows


def leave_one_out_drops(encode: EncodeHistories, history: Sequence[str], item_vectors: np.ndarray) -> np.ndarray:
    """float [H, R]: drop of each item's score (rows of `item_vectors` [R, d]) when history position p is removed."""
    users = np.asarray(encode(leave_one_out_histories(history)))
    scores = users @ np.asarray(item_vectors).T  # [H + 1, R]
    return scores[:1] - scores[1:]


def title_words(title: str) -> List[str]:
    """Content words of a title, lower case, in order, without repeats."""
    words = (w.lower() for w in WORD.findall(title))
    return list(dict.fromkeys(w for w in words if w not in STOP_WORDS))


def shared_words(title: str, other_title: str) -> str:
    """The content words of `title` that `other_title` also has, comma-separated."""
    other = set(title_words(other_title))
    return ", ".join(w for w in title_words(title) if w in other)


def explain_rows(rows, history: Sequence[str], drops: np.ndarray, titles: dict, reads_text: bool) -> List[tuple]:
    """`ExplainedRecommendation`s of `rows` (Recommendations) from their `drops` [H, R] (see module docstring)."""
    explained = []
    for r, row in enumerate(rows):
        best = {}
        for p in np.argsort(-drops[:, r], kind="stable"):
            best.setdefault(history[p], float(drops[p, r]))  # a repeated item: its largest drop
        contributors = tuple(list(best.items())[:MAX_CONTRIBUTORS])
        top_id, top_drop = contributors[0]
        words = shared_words(row.title, titles.get(top_id, "")) if reads_text else ""
        explained.append(ExplainedRecommendation(*row, top_id, titles.get(top_id, ""), top_drop, contributors, words))
    return explained


def unexplained_rows(rows) -> List[tuple]:
    """Rows for a history without a known item: nothing to remove."""
    return [ExplainedRecommendation(*row, "", "", float("nan"), (), "") for row in rows]
