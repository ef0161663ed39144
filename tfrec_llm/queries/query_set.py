"""Natural-language requests with their relevant item attributes, read from JSON.

The file is a JSON list of objects:

    [{"query": "something scary with ghosts", "attributes": ["Horror"]}, ...]

An item is relevant to a request when it carries any of the request's
attributes (the catalog's attribute columns: MovieLens genres, the built-in
world's topics). `benchmarks/queries/` holds hand-written sets for
MovieLens and the built-in world; write requests as a person would, without
the attribute's own name, so that exact-word search cannot answer them.
"""

import dataclasses
import json
from typing import List, Sequence

import numpy as np

QUERY_KEY = "query"
ATTRIBUTES_KEY = "attributes"


class TextQuerySetError(ValueError):
    """A request file is malformed or names attributes the catalog lacks."""


@dataclasses.dataclass
class TextQuerySet:
    """Requests and, for each, the names of the attributes that make an item relevant.

    Example:
        queries = TextQuerySet.read("benchmarks/queries/movielens.json", assets.attribute_names)
        relevant = queries.relevance(catalog_attributes, assets.attribute_names)  # bool [Q, N]
    """

    queries: List[str]
    attributes: List[List[str]]

    @classmethod
    def read(cls, path: str, attribute_names: Sequence[str]) -> "TextQuerySet":
        try:
            with open(path, encoding="utf-8") as f:
                entries = json.load(f)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise TextQuerySetError(f"{path}: cannot read a JSON request list ({error}).") from error
        if not isinstance(entries, list) or not entries:
            raise TextQuerySetError(
                f'{path}: expected a non-empty JSON list of {{"{QUERY_KEY}": ..., "{ATTRIBUTES_KEY}": [...]}} objects.'
            )
        known = set(attribute_names)
        queries, attributes = [], []
        for position, entry in enumerate(entries):
            where = f"{path}: entry {position}"
            if not isinstance(entry, dict) or set(entry) != {QUERY_KEY, ATTRIBUTES_KEY}:
                raise TextQuerySetError(f"{where}: needs exactly the keys {QUERY_KEY!r} and {ATTRIBUTES_KEY!r}.")
            query, names = entry[QUERY_KEY], entry[ATTRIBUTES_KEY]
            if not isinstance(query, str) or not query.strip():
                raise TextQuerySetError(f"{where}: {QUERY_KEY!r} must be a non-empty string.")
            if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
                raise TextQuerySetError(f"{where}: {ATTRIBUTES_KEY!r} must be a non-empty list of strings.")
            unknown = [n for n in names if n not in known]
            if unknown:
                raise TextQuerySetError(f"{where}: unknown attributes {unknown}; the catalog has {sorted(known)}.")
            queries.append(query.strip())
            attributes.append(list(names))
        return cls(queries, attributes)

    def relevance(self, item_attributes: np.ndarray, attribute_names: Sequence[str]) -> np.ndarray:
        """bool [Q, N]: item n carries one of request q's attributes (`item_attributes` is [N, A])."""
        item_attributes = np.asarray(item_attributes) > 0
        columns = {name: i for i, name in enumerate(attribute_names)}
        wanted = np.zeros((len(self.queries), len(columns)), bool)
        for row, names in enumerate(self.attributes):
            wanted[row, [columns[n] for n in names]] = True
        return (wanted.astype(np.int64) @ item_attributes.T.astype(np.int64)) > 0
