"""`load_data`: one `--data` string -> the loader that understands it.

Accepted forms:

- `builtin` or `builtin:key=value,...`: the built-in synthetic world with
  `BuiltinWorldConfig` overrides (tuple values joined by "|", e.g.
  `builtin:num_items=500,scenarios=books|films`);
- `tfds:<name>`: a TensorFlow Datasets MovieLens ratings config, e.g.
  `tfds:movielens/100k-ratings`;
- an existing directory: a raw MovieLens directory (ml-100k, ml-1m,
  ml-latest, ml-latest-small);
- a `.csv` or `.parquet` file: the user's interactions, with `items` the
  catalog file and `columns` (a `TabularColumns` or a `{role: column}`
  mapping such as the data config's "columns") naming their columns.
"""

import dataclasses
import os
from typing import Any, Dict, Mapping, Optional, Union

from tfrec_llm.data.data_error import DataError
from tfrec_llm.data.interaction_data import InteractionData
from tfrec_llm.data.loaders.movielens_directory import load_movielens_directory
from tfrec_llm.data.loaders.tabular_files import TABULAR_EXTENSIONS, TabularColumns, load_tabular_files

BUILTIN = "builtin"
TFDS_PREFIX = "tfds:"
OVERRIDE_SEPARATOR = ","
TUPLE_SEPARATOR = "|"
TRUE_WORDS = ("true", "yes", "1")
FALSE_WORDS = ("false", "no", "0")
ACCEPTED_FORMS = (
    "`builtin` or `builtin:key=value,...` (the synthetic world), "
    "`tfds:<name>` (e.g. tfds:movielens/100k-ratings), "
    "a MovieLens directory (ml-100k, ml-1m, ml-latest[-small]), "
    "or a .csv/.parquet interactions file together with --items <catalog file>"
)


def load_data(
    spec: str,
    items: Optional[str] = None,
    tfds_manual_dir: Optional[str] = None,
    tfds_data_dir: Optional[str] = None,
    strict: bool = False,
    columns: Optional[Union[TabularColumns, Mapping[str, Any]]] = None,
) -> InteractionData:
    """Loads the data source named by `spec` (see the module docstring).

    Args:
        spec: the `--data` value.
        items: the catalog file, required for a .csv/.parquet `spec`.
        tfds_manual_dir: folder with a manually downloaded TFDS archive.
        tfds_data_dir: where TFDS prepares its data.
        strict: raise a `DataError` instead of applying any fallback.
        columns: column names for .csv/.parquet files: a `TabularColumns`
            or `{role: column}` (see `TabularColumns.from_mapping`).

    Raises:
        DataError: for a spec of no accepted form, bad data, or `columns`
            with a source that is no .csv/.parquet file.
    """
    is_file = os.path.splitext(spec)[1].lower() in TABULAR_EXTENSIONS
    if columns and not is_file:
        raise DataError(
            f"Column names (--columns, data.columns) apply to .csv/.parquet interaction files only, not to "
            f"--data {spec!r}."
        )
    if spec == BUILTIN or spec.startswith(BUILTIN + ":"):
        return _load_builtin(spec[len(BUILTIN) + 1 :])
    if spec.startswith(TFDS_PREFIX):
        from tfrec_llm.data.loaders.tfds_source import load_tfds  # pylint: disable=import-outside-toplevel

        return load_tfds(
            spec[len(TFDS_PREFIX) :],
            data_dir=tfds_data_dir,
            manual_dir=tfds_manual_dir,
            strict=strict,
        )
    if os.path.isdir(spec):
        return load_movielens_directory(spec, strict=strict)
    if is_file:
        if not os.path.isfile(spec):
            raise DataError(f"Interactions file not found: {spec}.")
        if not items:
            raise DataError(
                f"{spec} is an interactions file: also give the item catalog file with "
                "--items (a .csv/.parquet with one row per item)."
            )
        if columns is not None and not isinstance(columns, TabularColumns):
            columns = TabularColumns.from_mapping(columns)
        return load_tabular_files(spec, items, columns=columns, strict=strict)
    raise DataError(f"Cannot load --data {spec!r}: use {ACCEPTED_FORMS}.")


def _load_builtin(overrides_text: str) -> InteractionData:
    # Imported lazily: the built-in world is its own module, loaded only when used.
    from tfrec_llm.data.synthetic import builtin_world  # pylint: disable=import-outside-toplevel

    config_class = builtin_world.BuiltinWorldConfig
    overrides = parse_overrides(overrides_text, config_class)
    try:
        config = config_class(**overrides)
    except (TypeError, ValueError) as error:
        raise DataError(f"builtin: invalid settings {overrides}: {error}") from None
    return builtin_world.generate_builtin_world(config)


def parse_overrides(text: str, config_class) -> Dict[str, Any]:
    """Parses "key=value,..." into typed keyword arguments of `config_class`.

    Each value is converted to the type of the field's default (tuples:
    elements separated by "|").

    Examples:
        >>> @dataclasses.dataclass
        ... class Example:
        ...     size: int = 1
        ...     names: tuple = ("a",)
        >>> parse_overrides("size=5,names=x|y", Example)
        {'size': 5, 'names': ('x', 'y')}
    """
    defaults = {
        field.name: field.default
        for field in dataclasses.fields(config_class)
        if field.default is not dataclasses.MISSING
    }
    overrides: Dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(OVERRIDE_SEPARATOR))):
        key, equals, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not equals or not key:
            raise DataError(f"builtin: expected key=value, got {part!r}.")
        if key not in defaults:
            raise DataError(f"builtin: unknown setting {key!r}; settings are {sorted(defaults)}.")
        overrides[key] = _converted(key, value, defaults[key])
    return overrides


def _converted(key: str, value: str, default: Any) -> Any:
    if isinstance(default, tuple):
        element_default = default[0] if default else ""
        return tuple(_converted(key, v.strip(), element_default) for v in value.split(TUPLE_SEPARATOR))
    if isinstance(default, bool):
        if value.lower() in TRUE_WORDS:
            return True
        if value.lower() in FALSE_WORDS:
            return False
        raise DataError(f"builtin: {key} must be true or false, got {value!r}.")
    if isinstance(default, (int, float)):
        try:
            return type(default)(value)
        except ValueError:
            raise DataError(
                f"builtin: {key} must be a{'n integer' if isinstance(default, int) else ' number'}, got {value!r}."
            ) from None
    return value
