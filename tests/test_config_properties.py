"""ExperimentConfig on arbitrary input: a valid config or a `ConfigError`, nothing else.

Property-based tests (hypothesis) over JSON-like dicts: random sections and
keys, values of the right type and range, of the right type out of range,
and of any JSON type. An accepted config must hold every value it was
given and survive a JSON round trip.

The strategies and `check_config*` are public: `benchmarks/reliability_report.py`
runs them at a larger scale. The end of the file holds
regression tests for gaps the properties once found.
"""

import dataclasses
import json
import math
import os
import tempfile
import typing

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tfrec_llm.experiment_config import (
    SPLITS,
    STRATEGIES,
    TEXT_MODES,
    ConfigError,
    ExperimentConfig,
)

PROPERTY_SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
SECTIONS = {
    field.name: typing.get_type_hints(type(getattr(ExperimentConfig(), field.name)))
    for field in dataclasses.fields(ExperimentConfig)
}
CHOICES = {"split": SPLITS, "mode": TEXT_MODES, "strategy": STRATEGIES}
ONE_IN_TEN = st.sampled_from([False] * 9 + [True])  # True about one time in ten


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
    both_nan = (
        isinstance(given, float)
        and isinstance(held, float)
        and math.isnan(given)
        and math.isnan(held)
    )
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


# ------------------------------------------------------------ tests


def test_typed_values_cover_every_field_of_every_section():
    names = {(section, key) for section, fields in SECTIONS.items() for key in fields}
    assert ("text", "mode") in names and ("model", "ranking_hidden_units") in names
    assert set(CHOICES) <= {key for _, key in names}


def test_check_config_accepts_a_valid_dict_and_refuses_a_typo():
    assert check_config({"train": {"epochs": 2}, "model": {"temperature": 1}}) is True
    assert check_config({"train": {"epoch": 2}}) is False
    assert check_config({"data": {"split": "by_day"}}) is False


@PROPERTY_SETTINGS
@given(config_dicts())
def test_config_dicts_validate_or_raise_config_error(values):
    check_config(values)


@PROPERTY_SETTINGS
@given(config_dicts(sections_are_dicts=True))
def test_overrides_of_any_values_validate_or_raise_config_error(overrides):
    check_config(overrides, base=ExperimentConfig())


@PROPERTY_SETTINGS
@given(st.one_of(JSON_VALUES, st.lists(JSON_VALUES, max_size=2)))
def test_non_dict_configs_raise_config_error(values):
    if isinstance(values, dict):
        check_config(values)
        return
    with pytest.raises(ConfigError, match="must be a JSON object"):
        ExperimentConfig.from_dict(values)


@PROPERTY_SETTINGS
@given(config_dicts().map(lambda values: json.dumps(values).encode("utf-8")))
def test_json_config_files_of_any_dict_validate_or_raise_config_error(content):
    check_config_file(content)


# ---------------------------------------------- once-known gaps (regression tests)


def test_config_file_that_is_not_utf8_raises_config_error():
    assert check_config_file(b'{"train": {"epochs": 3}, "note": "caf\xe9"}') is False


def test_deeply_nested_config_file_raises_config_error():
    assert check_config_file(b"[" * 100_000 + b"]" * 100_000) is False


def test_updated_with_a_section_that_is_not_an_object_raises_config_error():
    with pytest.raises(ConfigError):
        ExperimentConfig().updated({"train": 5})


@pytest.mark.parametrize(
    "values",
    [
        {"train": {"learning_rate": math.inf}},
        {"model": {"retrieval_weight": math.nan}},
        {"model": {"temperature": math.inf}},
        {"text": {"encode_batch_size": 0}},
        {"model": {"ranking_hidden_units": [0]}},
    ],
)
def test_non_finite_or_empty_sizes_raise_config_error(values):
    assert check_config(values) is False
