"""The families of hostile inputs of the reliability report, each run into a `FamilyTally`.

Data loaders (generated users' logs, MovieLens directories, TFDS examples
and garbage files), configs (dicts, overrides, files) and, when present, the
real MovieLens folders read into a scratch folder and checked like
generated ones.

Example:
    >>> tallies = run_configs(examples=20, seed_value=0)
    >>> [tally.name for tally in tallies]
    ['config dicts', 'config overrides', 'config files']
"""

import csv
import io
import os
from typing import List

from tfrec_llm.data.data_error import DataError
from tfrec_llm.experiment_config import ConfigError, ExperimentConfig
from tfrec_llm.testing.config_inputs import (
    CONFIG_FILE_CONTENTS,
    ConfigInvariantViolation,
    check_config,
    check_config_file,
    config_dicts,
)
from tfrec_llm.testing.family_tally import FamilyTally, explore, record_outcome
from tfrec_llm.testing.garbage_sources import garbage_sources
from tfrec_llm.testing.loader_invariant import GeneratedSource, InvariantViolation, check_source
from tfrec_llm.testing.movielens_sources import (
    load_directory,
    movielens_1m_sources,
    movielens_100k_sources,
    movielens_latest_sources,
)
from tfrec_llm.testing.tabular_sources import users_csv_sources, users_parquet_sources
from tfrec_llm.testing.tfds_sources import tfds_sources

REAL_DATA_FILES = {  # files each loader reads, and how to count their rows (None: not counted)
    "ml-100k": {"u.data": "lines", "u.item": "lines", "u.user": "lines", "u.genre": None},
    "ml-latest-small": {"ratings.csv": "csv", "movies.csv": "csv", "tags.csv": "csv"},
}


def run_parsers(examples: int, seed_value: int) -> List[FamilyTally]:
    """`examples` generated inputs of each loader family, checked by `check_source`."""
    families = {
        "users_csv": users_csv_sources(),
        "users_parquet": users_parquet_sources(),
        "ml-100k": movielens_100k_sources(),
        "ml-1m": movielens_1m_sources(),
        "ml-latest": movielens_latest_sources(),
        "tfds": tfds_sources(),
        "garbage files": garbage_sources(),
    }
    tallies = []
    for name, strategy in families.items():
        tally = FamilyTally(name)
        violations = (InvariantViolation,)
        explore(tally, strategy, check_source, violations, (DataError,), examples, seed_value)
        tallies.append(tally)
    return tallies


def run_configs(examples: int, seed_value: int) -> List[FamilyTally]:
    """`examples` generated config dicts, overrides and files, checked by `check_config*`."""

    def check_overrides(values):
        return check_config(values, base=ExperimentConfig())

    families = {
        "config dicts": (config_dicts(), check_config),
        "config overrides": (config_dicts(sections_are_dicts=True), check_overrides),
        "config files": (CONFIG_FILE_CONTENTS, check_config_file),
    }
    tallies = []
    for name, (strategy, check) in families.items():
        tally = FamilyTally(name)
        violations = (ConfigInvariantViolation,)
        explore(tally, strategy, check, violations, (ConfigError,), examples, seed_value)
        tallies.append(tally)
    return tallies


def data_rows(content: bytes, layout: str) -> int:
    """Data rows of a real file: non-blank lines, or CSV records after the header."""
    if layout == "lines":
        return sum(1 for line in content.decode("latin-1").split("\n") if line.strip())
    records = csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""))
    return sum(1 for record in records if record) - 1


def run_real_data(shared_data: str) -> List[FamilyTally]:
    """Each real MovieLens folder, read into a scratch folder and checked like a generated one."""
    tallies = []
    for folder, layout in REAL_DATA_FILES.items():
        path = os.path.join(shared_data, folder)
        if not os.path.isdir(path):
            continue
        files, rows = {}, {}
        for name, file_layout in layout.items():
            with open(os.path.join(path, name), "rb") as handle:
                files[name] = handle.read()
            if file_layout is not None:
                rows[name] = data_rows(files[name], file_layout)
        source = GeneratedSource(
            kind=folder,
            files=files,
            load=load_directory,
            rows_per_file=rows,
            unobserved_file="tags.csv" if "tags.csv" in files else None,
        )
        tally = FamilyTally(f"real {folder}")
        violations = (InvariantViolation,)
        record_outcome(tally, check_source, source, violations, (DataError,))
        tallies.append(tally)
    return tallies
