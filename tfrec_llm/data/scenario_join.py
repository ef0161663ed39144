"""Several data sources joined as the scenarios of one data set.

`join_scenarios({"ml100k": a, "mls": b})` gives one `InteractionData` where:

- every event's scenario is its source's name (a source's own scenario
  column is replaced);
- user and item ids become "<name>/<id>": two sources' ids never collide,
  even when both number their items from 1 with different meanings;
- the catalog holds every source's items; a text field one source lacks is
  "" (missing) for its items; attribute columns (e.g. genres) are the union
  of the sources' names, 0 where a source has no such column;
- user features are kept only when every source has the same feature names;
  otherwise they are dropped and the drop is counted in the load report.

Example:
    data = join_scenarios({"ml100k": load_data("ml-100k"), "mls": load_data("ml-latest-small")})
"""

import logging
from typing import Dict

import numpy as np

from tfrec_llm.data.interaction_data import InteractionData, Interactions, ItemCatalog, LoadReport, UserFeatures

logger = logging.getLogger(__name__)
SEPARATOR = "/"


def _prefixed(name: str, ids: np.ndarray) -> np.ndarray:
    return np.char.add(f"{name}{SEPARATOR}", np.asarray(ids, dtype=str))


def _interactions(sources: Dict[str, InteractionData]) -> Interactions:
    parts = [(name, data.interactions) for name, data in sources.items()]
    return Interactions(
        user_ids=np.concatenate([_prefixed(n, e.user_ids) for n, e in parts]),
        item_ids=np.concatenate([_prefixed(n, e.item_ids) for n, e in parts]),
        timestamps=np.concatenate([e.timestamps for _, e in parts]),
        labels=np.concatenate([e.labels for _, e in parts]),
        scenarios=np.concatenate([np.full(len(e), n) for n, e in parts]),
    )


def _catalog(sources: Dict[str, InteractionData]) -> ItemCatalog:
    catalogs = {name: data.catalog for name, data in sources.items()}
    fields = list(dict.fromkeys(f for c in catalogs.values() for f in c.text_fields))
    texts = {
        f: np.concatenate([c.text_fields.get(f, np.full(len(c), "")) for c in catalogs.values()]).astype(str)
        for f in fields
    }
    names = list(dict.fromkeys(a for c in catalogs.values() if c.attributes is not None for a in c.attribute_names))
    attributes = None
    if names:
        blocks = []
        for catalog in catalogs.values():
            block = np.zeros((len(catalog), len(names)), np.float32)
            if catalog.attributes is not None:
                block[:, [names.index(a) for a in catalog.attribute_names]] = catalog.attributes
            blocks.append(block)
        attributes = np.concatenate(blocks)
    item_ids = np.concatenate([_prefixed(n, c.item_ids) for n, c in catalogs.items()])
    return ItemCatalog(item_ids, texts, attributes, names)


def _user_features(sources: Dict[str, InteractionData], report: LoadReport):
    features = {name: data.user_features for name, data in sources.items()}
    columns = {name: tuple(sorted(f.columns)) if f is not None else () for name, f in features.items()}
    if len(set(columns.values())) == 1 and all(f is not None for f in features.values()):
        return UserFeatures(
            np.concatenate([_prefixed(n, f.user_ids) for n, f in features.items()]),
            {c: np.concatenate([f.columns[c] for f in features.values()]) for c in columns[next(iter(columns))]},
        )
    for name, feature in features.items():
        if feature is not None:
            reason = "user features dropped: the joined sources have different user feature names"
            report.add(reason, f"{name}: {', '.join(columns[name])}", len(feature.user_ids))
            logger.warning("%s (%s: %s)", reason, name, ", ".join(columns[name]))
    return None


def join_scenarios(sources: Dict[str, InteractionData]) -> InteractionData:
    """One data set whose scenarios are `sources` (name -> data); see the module docstring.

    Raises:
        ValueError: fewer than two sources, a name holding the separator, or
            sources with different label kinds (ratings joined with clicks).
    """
    if len(sources) < 2:
        raise ValueError(f"joining scenarios needs at least two sources, got {list(sources)}")
    for name in sources:
        if not name or SEPARATOR in name:
            raise ValueError(f"scenario name {name!r} must be non-empty and without {SEPARATOR!r}")
    kinds = {name: data.label_kind for name, data in sources.items()}
    if len(set(kinds.values())) != 1:
        raise ValueError(f"the joined sources have different label kinds: {kinds}")
    report = LoadReport()
    for name, data in sources.items():
        for reason, (count, location) in data.report.skipped.items():
            report.add(reason, f"{name}: {location}", count)
    user_features = _user_features(sources, report)
    return InteractionData(
        "+".join(sources),
        _interactions(sources),
        _catalog(sources),
        next(iter(kinds.values())),
        user_features,
        report,
    )
