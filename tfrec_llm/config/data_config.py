"""`data`: where the interactions come from and how they are split (`DataConfig`)."""

import dataclasses
import re
from typing import List, Optional

from tfrec_llm.config.config_checks import ConfigError, check_choice, check_positive, check_range


SPLITS = ("leave_last_out", "time_cut", "random")
# The roles of `data.columns` (the same as `tfrec_llm.data.loaders.tabular_columns.COLUMN_ROLES`).
COLUMN_ROLES = ("user_id", "item_id", "timestamp", "label", "scenario", "catalog_item_id", "text", "attributes")
SCENARIO_NAME = re.compile(r"[A-Za-z0-9_.-]+")  # a `data.scenario_sources` name (ids become "<name>/<id>")


@dataclasses.dataclass
class DataConfig:
    """Where the interactions come from and how they are split.

    Args:
        source: `builtin[:k=v,...]`, `tfds:<name>`, a MovieLens directory or
            an interactions .csv/.parquet file.
        items: the item catalog file when `source` is a file.
        tfds_manual_dir: a directory holding a downloaded TFDS archive.
        tfds_data_dir: where TFDS prepares data (default: TFDS's own).
        split: "leave_last_out" (per user, last event = test), "time_cut"
            (events after a global time quantile = test; items first seen
            after it are cold-start items) or "random" (the TFRS tutorial
            protocol: random 80/20 of events).
        time_cut_quantile: the quantile of timestamps used by "time_cut".
        random_test_fraction: test share of the "random" split.
        split_seed: seed of the "random" split (42 as in the TFRS tutorials).
        max_history: how many most recent items the user tower reads.
        strict: turn documented loader fallbacks into errors.
        columns: for .csv/.parquet files, which column holds what:
            `{role: column}` with roles `COLUMN_ROLES`, "text" taking a list
            of catalog columns, e.g. `{"user_id": "visitor", "text":
            ["title", "tags"]}` (`--columns user_id=visitor,text=title+tags`).
            Roles left out take their defaults: user_id, item_id; timestamp
            if present, else the file order; a rating/label/score column as
            the label, else clicks; catalog_item_id = item_id.
        scenario_sources: scenario name -> source (as `source`), at least
            two: the sources are loaded (`items` unset, `columns` and
            `strict` applying to each) and joined as the scenarios of one
            data set (`data/scenario_join.py`: ids become "<name>/<id>");
            `source` is then not read. Empty: `source` alone.

    Example:
        DataConfig(source="events.csv", items="items.csv",
                   columns=DataConfig.parse_columns("user_id=visitor,label=stars"))
        DataConfig(scenario_sources={"ml100k": "data/ml-100k", "mls": "data/ml-latest-small"})
    """

    source: str = "builtin"
    items: Optional[str] = None
    tfds_manual_dir: Optional[str] = None
    tfds_data_dir: Optional[str] = None
    split: str = "time_cut"
    time_cut_quantile: float = 0.8
    random_test_fraction: float = 0.2
    split_seed: int = 42
    max_history: int = 50
    strict: bool = False
    columns: dict = dataclasses.field(default_factory=dict)
    scenario_sources: dict = dataclasses.field(default_factory=dict)

    def validate(self):
        check_choice("data.split", self.split, SPLITS)
        _check_scenario_sources(self.scenario_sources, self.items)
        check_range("data.time_cut_quantile", self.time_cut_quantile, 0.0, 1.0)
        check_range("data.random_test_fraction", self.random_test_fraction, 0.0, 1.0)
        check_positive("data.max_history", self.max_history)
        for role, name in self.columns.items():
            if role not in COLUMN_ROLES:
                raise ConfigError(f"data.columns: unknown column role {role!r}; roles are {list(COLUMN_ROLES)}.")
            names = name if role == "text" and isinstance(name, list) else [name]
            if not names or not all(isinstance(n, str) and n for n in names):
                kind = "a column name or a list of them" if role == "text" else "a column name"
                raise ConfigError(f"data.columns.{role} must be {kind}, got {name!r}.")

    @staticmethod
    def parse_columns(text: str) -> dict:
        """`--columns` text -> `{role: column}`; "text" joins several with "+".

        Example:
            >>> DataConfig.parse_columns("user_id=visitor, text=title+tags")
            {'user_id': 'visitor', 'text': ['title', 'tags']}
        """
        columns = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            role, equals, name = (p.strip() for p in part.partition("="))
            if not equals or not role or not name:
                raise ConfigError(f"--columns: expected role=column, got {part!r}.")
            if role in columns:
                raise ConfigError(f"--columns: role {role!r} is given twice.")
            columns[role] = [n.strip() for n in name.split("+")] if role == "text" else name
        return columns

    @staticmethod
    def parse_sources(values: List[str]) -> dict:
        """`--data` values (the flag given once or more) -> the `data` overrides they set.

        One plain source sets `source` (and clears `scenario_sources`);
        NAME=SOURCE values, at least two with distinct names, set
        `scenario_sources`. A value is NAME=SOURCE when the text before its
        first "=" holds no ":", "/" or "\\" (so `builtin:users=100` and
        `dir/a=b.csv` stay plain sources; write `./a=b.csv` for such a file).

        Example:
            >>> DataConfig.parse_sources(["ml100k=data/ml-100k", "mls=data/ml-latest-small"])
            {'scenario_sources': {'ml100k': 'data/ml-100k', 'mls': 'data/ml-latest-small'}}
            >>> DataConfig.parse_sources(["builtin:users=100"])
            {'source': 'builtin:users=100', 'scenario_sources': {}}
        """
        named, plain = {}, []
        for value in values:
            name, equals, source = value.partition("=")
            if not equals or any(c in name for c in ":/\\"):
                plain.append(value)
                continue
            if not SCENARIO_NAME.fullmatch(name) or not source:
                raise ConfigError(
                    f"--data {value!r}: expected NAME=SOURCE with a NAME of letters, digits, '_', '.' or '-' "
                    "and a non-empty SOURCE."
                )
            if name in named:
                raise ConfigError(f"--data: scenario name {name!r} is given twice ({named[name]!r} and {source!r}).")
            named[name] = source
        if plain and (named or len(plain) > 1):
            raise ConfigError(
                f"--data {plain[0]!r}: give one plain source, or NAME=SOURCE at least twice to join sources as "
                f"scenarios (got {len(plain)} plain and {len(named)} named)."
            )
        if plain:
            return {"source": plain[0], "scenario_sources": {}}
        if len(named) < 2:
            raise ConfigError(
                f"--data {values[0]!r}: a named source joins other sources as scenarios: give NAME=SOURCE at "
                "least twice, or the plain SOURCE."
            )
        return {"scenario_sources": named}


def _check_scenario_sources(sources: dict, items):
    if not sources:
        return
    if len(sources) < 2:
        raise ConfigError(f"data.scenario_sources joins at least two sources, got {sorted(sources)}.")
    for name, source in sources.items():
        if not SCENARIO_NAME.fullmatch(name):
            raise ConfigError(
                f"data.scenario_sources: name {name!r} must be letters, digits, '_', '.' or '-' (ids become name/id)."
            )
        if not isinstance(source, str) or not source:
            raise ConfigError(f"data.scenario_sources.{name} must be a non-empty source, got {source!r}.")
    if items is not None:
        raise ConfigError(
            "data.items names one catalog file: it cannot serve data.scenario_sources (give each source "
            "as a directory or a file whose items the loader finds)."
        )
