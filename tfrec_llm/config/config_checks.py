"""Checks shared by the config sections: `ConfigError` and the value checks that name the key."""

import dataclasses
import math
import typing


class ConfigError(ValueError):
    """A configuration key or value is invalid."""


def section_from_dict(name, section_cls, values):
    """`section_cls(**values)` once every key is known and every value has its field's type."""
    if not isinstance(values, dict):
        raise ConfigError(f"Config section {name!r} must be an object.")
    fields = {f.name: f for f in dataclasses.fields(section_cls)}
    unknown = set(values) - set(fields)
    if unknown:
        raise ConfigError(f"Unknown keys in config section {name!r}: {sorted(unknown)}; valid: {sorted(fields)}.")
    annotations = typing.get_type_hints(section_cls)
    for key, value in values.items():
        check_type(f"{name}.{key}", value, annotations[key])
    return section_cls(**values)


def check_type(name, value, annotation):
    """Raises ConfigError unless `value` fits `annotation` (str/int/float/bool, List[...], Optional[...])."""
    if typing.get_origin(annotation) is typing.Union:  # Optional[X]: null or an X
        if value is None:
            return
        (annotation,) = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is list:
        if not isinstance(value, list):
            raise ConfigError(f"{name} must be list, got {type(value).__name__} ({value!r}).")
        (item_type,) = typing.get_args(annotation)
        for i, item in enumerate(value):
            check_type(f"{name}[{i}]", item, item_type)
        return
    fits = isinstance(value, annotation) and not (annotation is int and isinstance(value, bool))
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        fits = True
    if not fits:
        raise ConfigError(f"{name} must be {annotation.__name__}, got {type(value).__name__} ({value!r}).")


def check_choice(name, value, choices):
    """Raises ConfigError unless `value` is one of `choices`."""
    if value not in choices:
        raise ConfigError(f"{name} must be one of {list(choices)}, got {value!r}.")


def check_positive(name, value):
    """Raises ConfigError unless `value` is a finite number > 0."""
    if not (value > 0 and math.isfinite(value)):
        raise ConfigError(f"{name} must be > 0, got {value!r} (a finite number is needed).")


def check_range(name, value, low, high):
    """Raises ConfigError unless low <= `value` <= high (NaN fails)."""
    if not low <= value <= high:  # also false for NaN
        raise ConfigError(f"{name} must be in [{low}, {high}], got {value!r}.")
