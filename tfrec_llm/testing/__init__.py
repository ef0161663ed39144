"""Generated hostile inputs, the invariants they must keep, and the tallies of the reliability report.

Needs the `test` extra (`pip install -e ".[test]"`): the generators are
hypothesis strategies. The tests (`tests/data/loaders/test_parsers_properties.py`,
`tests/test_config_properties.py`) and `benchmarks/reliability_report.py`
import it; nothing else in the package does (it sits above every layer: it
reads data and configs and, in `serving_requests`, drives exports).

Modules:
- `row_oracle`: what a loader must keep of one generated row;
- `loader_invariant`: `GeneratedSource` and `check_source`, the invariant of every loader;
- `file_strategies`: wild text, odd numbers, CSV and line files;
- `tabular_sources`, `movielens_sources`, `tfds_sources`, `garbage_sources`:
  generated inputs of each loader;
- `config_inputs`: generated configs and `check_config*`;
- `family_tally`, `input_families`: running and counting families of inputs;
- `serving_requests`: generated requests to exported signatures.
"""

try:
    import hypothesis  # noqa: F401  pylint: disable=unused-import
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError("tfrec_llm.testing needs hypothesis, from the test extra: pip install -e '.[test]'") from error
