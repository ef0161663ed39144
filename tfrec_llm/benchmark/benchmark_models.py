"""The models a benchmark runs, and which of them are the full model's peers.

All models run on the same split, with the same evaluator and, for trained
ones, the same budget (the config's epochs, early-stopping patience and seed):

- "popularity": the most popular training items for everyone;
- "ease": EASE (Steck 2019), a closed-form linear item-item model;
- the id-only sequential models of `ID_ONLY_PEERS` (two towers with item-id
  embeddings only: "id_only" with the config's user tower, "id_only_attention"
  with the causal self-attention tower);
- "text_only": item text only (`model.use_item_ids = false`);
- "full": the config as given.

Peers are the simple or id-only models the full model must beat: popularity,
EASE and every `ID_ONLY_PEERS` model. A gain over a peer counts only when the
peer is at its best: `peer_config` (`tfrec-llm benchmark --peer-config`)
gives the id-only peers their own `model` settings (e.g. the width their
validation prefers) and optimiser settings (`PEER_TRAIN_KEYS`, e.g. the
learning rate or batch size), applied on top of the full config and under the peer's own
overrides; a section named after one peer sets that peer only:

    {"model": {"embedding_dim": 128}, "id_only": {"train": {"learning_rate": 0.004}}}

The budget (epochs, patience, seed), data and split stay the same for
every model. A new id-only variant (e.g. an
attention user tower) is one more line in `ID_ONLY_PEERS`: it is then
trained, reported, counted as a peer and checked against its published row.
"""

import dataclasses
from typing import Dict, List, Optional

from tfrec_llm.experiment_config import ConfigError, ExperimentConfig

POPULARITY = "popularity"
EASE = "ease"
ID_ONLY = "id_only"
TEXT_ONLY = "text_only"
FULL = "full"


@dataclasses.dataclass(frozen=True)
class IdOnlyPeer:
    """An id-only sequential model: its config overrides and the published row it is held to.

    Args:
        overrides: `ExperimentConfig.updated` overrides of the full config.
        description: one line for the report.
        published_row: key of `targets.PUBLISHED_ML_100K_LEAVE_LAST_OUT_RECALL_AT_10`
            its Recall@10 must reach on ml-100k leave-last-out, or None.

    Example:
        IdOnlyPeer({"model": {"use_text": False}}, "item ids only", "GRU4Rec")
    """

    overrides: dict
    description: str
    published_row: Optional[str] = None


ID_ONLY_PEERS: Dict[str, IdOnlyPeer] = {
    ID_ONLY: IdOnlyPeer(
        {"model": {"use_text": False, "use_item_ids": True, "id_init": "random", "id_text_prior_weight": 0.0}},
        "two towers, item-id embeddings only (model.use_text=false), the config's user tower",
        "GRU4Rec",
    ),
    "id_only_attention": IdOnlyPeer(
        {
            "model": {
                "use_text": False,
                "use_item_ids": True,
                "user_tower": "attention",
                "id_init": "random",
                "id_text_prior_weight": 0.0,
            }
        },
        "two towers, item-id embeddings only, causal self-attention user tower",
        "SASRec",
    ),
}

SIMPLE_PEERS = (POPULARITY, EASE)
"""Peers without training epochs (counting, closed form)."""

MODEL_NAMES = (POPULARITY, EASE, *ID_ONLY_PEERS, TEXT_ONLY, FULL)
MODEL_DESCRIPTIONS = {
    POPULARITY: "most popular training items, the same list for everyone (no learning)",
    EASE: "EASE (Steck 2019): closed-form linear item-item model on the training interactions, "
    "l2 chosen on each user's last training event",
    **{name: peer.description for name, peer in ID_ONLY_PEERS.items()},
    TEXT_ONLY: "two towers, item text only (model.use_item_ids=false)",
    FULL: "two towers as configured (item ids and text)",
}


def model_configs(config: ExperimentConfig, peer_config: Optional[dict] = None) -> Dict[str, ExperimentConfig]:
    """The config of each benchmark model: same data, split and budget, different towers.

    Args:
        config: the full model's config.
        peer_config: settings of the id-only peers only (`check_peer_config`; None: the full config's).
    """
    peer_config = check_peer_config(peer_config)
    shared = _section(peer_config)
    configs = {POPULARITY: config, EASE: config}
    for name, peer in ID_ONLY_PEERS.items():
        own = _section(peer_config.get(name, {}))
        configs[name] = config.updated(shared).updated(own).updated(peer.overrides)
    configs[TEXT_ONLY] = config.updated(
        {"model": {"use_text": True, "use_item_ids": False, "id_init": "random", "id_text_prior_weight": 0.0}}
    )
    configs[FULL] = config
    return configs


PEER_TRAIN_KEYS = (
    "learning_rate",
    "learning_rate_decay",
    "learning_rate_decay_patience",
    "batch_size",
    "weight_average_momentum",
)
"""The `train` settings a peer may choose for itself: the optimiser's, not the budget (epochs, patience, seed)."""

_SECTION_KEYS = ("model", "train")


def check_peer_config(peer_config: Optional[dict]) -> dict:
    """`peer_config` if it sets only `model` keys and `PEER_TRAIN_KEYS`, for all peers or one by name.

    Raises:
        ConfigError: for any other section, key or peer name (the budget, data
            and split stay the full model's).
    """
    peer_config = peer_config or {}
    allowed = (
        f'{{"model": {{...}}, "train": {{{", ".join(PEER_TRAIN_KEYS)}}}}}, '
        f"or such a section under a peer name ({', '.join(ID_ONLY_PEERS)})"
    )
    if not isinstance(peer_config, dict):
        raise ConfigError(f"peer config {peer_config!r}: expected an object: {allowed}.")
    for key, value in peer_config.items():
        if key in ID_ONLY_PEERS:
            _check_section(value, f"peer config {key!r}", allowed)
        elif key not in _SECTION_KEYS:
            raise ConfigError(
                f"peer config: unknown section {key!r}; allowed: {allowed}. "
                "Data, split and training budget stay the same for every model."
            )
    _check_section({key: peer_config[key] for key in _SECTION_KEYS if key in peer_config}, "peer config", allowed)
    return peer_config


def _check_section(section, where: str, allowed: str) -> None:
    if not isinstance(section, dict) or set(section) - set(_SECTION_KEYS):
        raise ConfigError(f"{where} {section!r}: only {allowed} is allowed.")
    if not all(isinstance(section.get(key, {}), dict) for key in _SECTION_KEYS):
        raise ConfigError(f"{where} {section!r}: each section must be an object: {allowed}.")
    budget = sorted(set(section.get("train", {})) - set(PEER_TRAIN_KEYS))
    if budget:
        raise ConfigError(
            f"{where}: train.{budget[0]} cannot differ between models (the budget, data and split are shared); "
            f"a peer may set train.{{{', '.join(PEER_TRAIN_KEYS)}}} only."
        )


def _section(peer_config: dict) -> dict:
    return {key: peer_config[key] for key in _SECTION_KEYS if peer_config.get(key)}


def peer_settings(peer_config: Optional[dict]) -> Dict[str, str]:
    """Each id-only peer's settings from `peer_config`, as "model.x=1, train.y=2" ("" for none)."""
    peer_config = peer_config or {}
    settings = {}
    for name in ID_ONLY_PEERS:
        merged = {key: dict(peer_config.get(key, {})) for key in _SECTION_KEYS}
        for key in _SECTION_KEYS:
            merged[key].update(peer_config.get(name, {}).get(key, {}))
        settings[name] = ", ".join(
            f"{section}.{key}={value}" for section in _SECTION_KEYS for key, value in sorted(merged[section].items())
        )
    return settings


def peer_descriptions(peer_config: Optional[dict]) -> Dict[str, str]:
    """`MODEL_DESCRIPTIONS`, the id-only peers' lines naming their `peer_config` settings where there are any."""
    descriptions = dict(MODEL_DESCRIPTIONS)
    for name, settings in peer_settings(peer_config).items():
        if settings:
            descriptions[name] += f"; peer config: {settings}"
    return descriptions


def is_measured(report: dict) -> bool:
    """Whether a model's report holds metrics (False for a skipped model)."""
    return "overall" in report


def peer_names(models: Dict[str, dict], learned_only: bool = False) -> List[str]:
    """The measured peers among `models`: popularity (unless `learned_only`), EASE, id-only models."""
    candidates = ([] if learned_only else [POPULARITY]) + [EASE, *ID_ONLY_PEERS]
    return [name for name in candidates if name in models and is_measured(models[name])]
