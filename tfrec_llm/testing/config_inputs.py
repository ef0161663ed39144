"""Generated configs: JSON-like dicts and files for `ExperimentConfig`, and what it must do with them.

Random sections and keys, values of the right type and range, of the right
type out of range, and of any JSON type. `ExperimentConfig` must give a
valid config or raise `ConfigError`, nothing else; an accepted config must
hold every value it was given and survive a JSON round trip (`check_config`
raises `ConfigInvariantViolation` otherwise).

Example:
    >>> check_config({"train": {"epochs": 2}}), check_config({"train": {"epoch": 2}})
    (True, False)
"""

import dataclasses
import json
import math
import os
import tempfile
import typing

from hypothesis import strategies as st

from tfrec_llm.experiment_config import (
    SPLITS,
    STRATEGIES,
    TEXT_MODES,
    ConfigError,
    ExperimentConfig,
)
from tfrec_llm.testing.file_strategies import ONE_IN_TEN

SECTIONS = {
    field.name: typing.get_type_hints(type(getattr(ExperimentConfig(), field.name)))
    for field in dataclasses.fields(ExperimentConfig)
}
CHOICES = {"split": SPLITS, "mode": TEXT_MODES, "strategy": STRATEGIES}


class ConfigInvariantViolation(AssertionError):
    """An accepted config lost a value or does not survive a round trip."""


JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8))
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)


def typed_values(name: str, annotation):
    """Values of the field's own type, in and out of range (and, for choices, its choices)."""
    if typing.get_origin(annotation) is typing.Union:
        (inner,) = [a for a in typing.get_args(annotation) if a is not type(None)]
        return st.one_of(st.none(), typed_values(name, inner))
    if typing.get_origin(annotation) is list:
        (item_type,) = typing.get_args(annotation)
        return st.lists(typed_values(name, item_type), max_size=3)
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return st.one_of(st.integers(-2, 300), st.integers())
    if annotation is float:
        return st.one_of(st.floats(-0.5, 1.5), st.floats(), st.integers(-2, 5))
    if name in CHOICES:
        return st.one_of(st.sampled_from(CHOICES[name]), st.text(max_size=8))
    return st.text(max_size=8)


@st.composite
def section_values(draw, fields: dict):
    """A section: known keys with typed or any values, sometimes an unknown key."""
    keys = draw(st.lists(st.sampled_from(sorted(fields)), max_size=4, unique=True))
    values = {}
    for key in keys:  # three times in four a value of the field's own type
        typed = typed_values(key, fields[key])
        values[key] = draw(st.one_of(typed, typed, typed, JSON_VALUES))
    if draw(ONE_IN_TEN):
        values[draw(st.text(max_size=6))] = draw(JSON_VALUES)
    return values


@st.composite
def config_dicts(draw, sections_are_dicts: bool = False):
    """Dicts shaped like configs: known sections (sometimes not objects), sometimes unknown ones."""
    names = draw(st.lists(st.sampled_from(sorted(SECTIONS)), max_size=4, unique=True))
    config = {}
    for name in names:
        not_an_object = not sections_are_dicts and draw(ONE_IN_TEN)
        config[name] = draw(JSON_VALUES if not_an_object else section_values(SECTIONS[name]))
    if not sections_are_dicts and draw(ONE_IN_TEN):
        config[draw(st.text(max_size=6))] = draw(JSON_VALUES)
    return config


def _same(given, held) -> bool:
    both_nan = isinstance(given, float) and isinstance(held, float) and math.isnan(given) and math.isnan(held)
    return both_nan or (given == held and type(given) is type(held))


def check_config(values, base: ExperimentConfig = None) -> bool:
    """True if accepted, False if refused with `ConfigError`; raises for anything else.

    Args:
        values: the dict given to `ExperimentConfig.from_dict`, or the
            overrides given to `base.updated` when `base` is set.

    Raises:
        ConfigInvariantViolation: an accepted config lost a value or does
            not survive a JSON round trip.
    """
    try:
        config = ExperimentConfig.from_dict(values) if base is None else base.updated(values)
    except ConfigError:
        return False
    for section, given in values.items():
        for key, value in given.items():
            held = getattr(getattr(config, section), key)
            if not _same(value, held):
                raise ConfigInvariantViolation(f"{section}.{key}: given {value!r}, holds {held!r}")
    text = json.dumps(config.to_dict(), sort_keys=True)
    again = json.dumps(ExperimentConfig.from_dict(json.loads(text)).to_dict(), sort_keys=True)
    if again != text:
        raise ConfigInvariantViolation(f"JSON round trip changed {text} into {again}")
    return True


def check_config_file(content: bytes) -> bool:
    """`from_json_file` on a file holding `content`: True if accepted, False if `ConfigError`."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "config.json")
        with open(path, "wb") as handle:
            handle.write(content)
        try:
            ExperimentConfig.from_json_file(path)
        except ConfigError:
            return False
    return True


CONFIG_FILE_CONTENTS = st.one_of(
    config_dicts().map(lambda values: json.dumps(values).encode("utf-8")),
    st.binary(max_size=40),
    st.text(max_size=20).map(lambda text: text.encode("utf-8")),
)
