"""ExperimentConfig on arbitrary input: a valid config or a `ConfigError`, nothing else.

Property-based tests (hypothesis) over JSON-like dicts: random sections and
keys, values of the right type and range, of the right type out of range,
and of any JSON type. An accepted config must hold every value it was
given and survive a JSON round trip.

The strategies and `check_config*` live in `tfrec_llm.testing.config_inputs`,
where `benchmarks/reliability_report.py` runs them at a larger scale. The end of the file holds
regression tests for gaps the properties once found.
"""

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tfrec_llm.experiment_config import ConfigError, ExperimentConfig
from tfrec_llm.testing.config_inputs import (
    CHOICES,
    JSON_VALUES,
    SECTIONS,
    check_config,
    check_config_file,
    config_dicts,
)

PROPERTY_SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


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
