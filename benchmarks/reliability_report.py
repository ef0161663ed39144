"""Reliability report: the data and config property checks at scale, plus the serving signatures.

Runs the invariants of `tests/data/loaders/test_parsers_properties.py` and
`tests/test_config_properties.py` directly (not through pytest) on many
generated inputs per family, and prints, per family: inputs tried,
accepted, refused with `DataError`/`ConfigError`, rows dropped or repaired
by a documented fallback (by reason), crashes (any other exception) and
violations (a silent loss, an invalid kept row, strict mode disagreeing).

Optional inputs, each a section of its own:
- real data: the MovieLens folders of `--shared-data` (default
  `<repo>/../shared/data`, skipped when absent), read into a scratch folder
  and checked like generated ones (rows counted from the files);
- serving: with `--export-dir`, `drive_signatures` sends generated requests
  to the exported retrieval, ranking and text_retrieval SavedModels (skipped when
  `tfrec_llm.serving` cannot be imported).

Exit code 1 if anything crashed, lost rows silently or answered malformed.

Usage:
    python benchmarks/reliability_report.py [--examples 1000] [--seed 0] [--json report.json]
        [--shared-data DIR] [--export-dir EXPORTS --requests 200]
"""

import argparse
import collections
import csv
import dataclasses
import importlib.util
import io
import json
import os
import re
import sys
import time
import traceback
from typing import Callable, Dict, List, Optional

import numpy as np
import tfrec_llm  # noqa: F401  (binds legacy Keras before anything imports TensorFlow)
from hypothesis import HealthCheck, Phase, given, seed, settings

from tfrec_llm.data.data_error import DataError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PARSER_TESTS = os.path.join(REPO, "tests", "data", "test_parsers_properties.py")
CONFIG_TESTS = os.path.join(REPO, "tests", "test_config_properties.py")
DEFAULT_SHARED_DATA = os.path.join(os.path.dirname(REPO), "shared", "data")
REAL_DATA_FILES = {  # files each loader reads, and how to count their rows (None: not counted)
    "ml-100k": {"u.data": "lines", "u.item": "lines", "u.user": "lines", "u.genre": None},
    "ml-latest-small": {"ratings.csv": "csv", "movies.csv": "csv", "tags.csv": "csv"},
}
DROP_SUFFIX = "row dropped"
DEFAULT_EXAMPLES = 1000
DEFAULT_REQUESTS = 200
SHOWN_EXAMPLES = 3  # failing inputs kept per family
SHOWN_CAUSES = 3  # most frequent refusal causes shown per family
EXAMPLE_CHARACTERS = 600


def load_test_module(path: str):
    """Imports a test module by path (tests/ is no package)."""
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def general_cause(message: str) -> str:
    """A refusal message without its paths, numbers and quoted values, to count causes."""
    message = re.sub(r"/\S*/", "", message)
    message = re.sub(r"'[^']*'", "'…'", message)
    return re.sub(r"\d+", "N", message)[:90]


@dataclasses.dataclass
class FamilyTally:
    """Outcomes of one family of inputs.

    Args:
        name: e.g. "users_csv" or "config dicts".
        tried, accepted, refused: inputs, and how they ended.
        rows, kept_rows: data rows in the files of accepted inputs, and rows
            kept (file loaders; rows = kept + dropped when nothing is lost).
        fallback_rows: reason -> rows it dropped or repaired, over all inputs.
        fallback_inputs: reason -> inputs in which it occurred.
        refusal_causes: generalised refusal message -> inputs.
        crashes, violations: (error, input, ...) of the first failures.
        crash_count, violation_count: how many in all.
    """

    name: str
    tried: int = 0
    accepted: int = 0
    refused: int = 0
    rows: int = 0
    kept_rows: int = 0
    fallback_rows: Dict[str, int] = dataclasses.field(default_factory=collections.Counter)
    fallback_inputs: Dict[str, int] = dataclasses.field(default_factory=collections.Counter)
    refusal_causes: Dict[str, int] = dataclasses.field(default_factory=collections.Counter)
    crashes: List[List[str]] = dataclasses.field(default_factory=list)
    violations: List[List[str]] = dataclasses.field(default_factory=list)
    crash_count: int = 0
    violation_count: int = 0

    @property
    def failed(self) -> bool:
        return self.crash_count > 0 or self.violation_count > 0

    def as_json(self) -> dict:
        values = dataclasses.asdict(self)  # asdict makes Counters of (key, count) pairs
        for name in ("fallback_rows", "fallback_inputs", "refusal_causes"):
            values[name] = dict(getattr(self, name))
        return values

    def add_failure(self, kind: str, error: BaseException, example):
        described = [
            f"{type(error).__name__}: {error}"[:EXAMPLE_CHARACTERS],
            repr(example)[:EXAMPLE_CHARACTERS],
        ]
        if kind == "crash":
            self.crash_count += 1
            described.append(where_raised(error))
            if len(self.crashes) < SHOWN_EXAMPLES:
                self.crashes.append(described)
        else:
            self.violation_count += 1
            if len(self.violations) < SHOWN_EXAMPLES:
                self.violations.append(described)


def where_raised(error: BaseException) -> str:
    """The last frames of the package in the traceback (else the last frame)."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [frame for frame in frames if f"{os.sep}tfrec_llm{os.sep}" in frame.filename]
    return "".join(traceback.format_list(ours[-2:] or frames[-1:]))


def record_outcome(
    tally: FamilyTally, check: Callable, example, violation_types: tuple, refusal_types: tuple
):
    """Runs `check(example)` and counts what happened into `tally`.

    `check` returns a `LoadOutcome` (file loaders) or a bool (accepted);
    `refusal_types` are the documented refusals, `violation_types` the
    invariant failures; anything else is a crash.
    """
    tally.tried += 1
    try:
        outcome = check(example)
    except violation_types as error:
        tally.add_failure("violation", error, example)
        return
    except refusal_types as error:
        tally.refused += 1
        tally.refusal_causes[general_cause(str(error))] += 1
        return
    except Exception as error:  # pylint: disable=broad-except
        tally.add_failure("crash", error, example)
        return
    if isinstance(outcome, bool):
        tally.accepted += outcome
        tally.refused += not outcome
        return
    if not outcome.accepted:
        tally.refused += 1
        tally.refusal_causes[general_cause(outcome.error)] += 1
        return
    tally.accepted += 1
    tally.rows += outcome.rows
    tally.kept_rows += outcome.kept_rows
    for reason, count in outcome.fallbacks.items():
        tally.fallback_rows[reason] += count
        tally.fallback_inputs[reason] += 1


def explore(
    tally: FamilyTally,
    strategy,
    check: Callable,
    violation_types: tuple,
    refusal_types: tuple,
    examples: int,
    seed_value: int,
):
    """`record_outcome` on `examples` inputs drawn from `strategy` (generation only, no shrinking)."""

    @seed(seed_value)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(example):
        record_outcome(tally, check, example, violation_types, refusal_types)

    run()


def run_parsers(parsers, examples: int, seed_value: int) -> List[FamilyTally]:
    families = {
        "users_csv": parsers.users_csv_sources(),
        "users_parquet": parsers.users_parquet_sources(),
        "ml-100k": parsers.movielens_100k_sources(),
        "ml-1m": parsers.movielens_1m_sources(),
        "ml-latest": parsers.movielens_latest_sources(),
        "tfds": parsers.tfds_sources(),
        "garbage files": parsers.garbage_sources(),
    }
    tallies = []
    for name, strategy in families.items():
        tally = FamilyTally(name)
        violations = (parsers.InvariantViolation,)
        explore(
            tally, strategy, parsers.check_source, violations, (DataError,), examples, seed_value
        )
        tallies.append(tally)
    return tallies


def run_configs(examples: int, seed_value: int) -> List[FamilyTally]:
    configs = load_test_module(CONFIG_TESTS)

    def check_overrides(values):
        return configs.check_config(values, base=configs.ExperimentConfig())

    families = {
        "config dicts": (configs.config_dicts(), configs.check_config),
        "config overrides": (configs.config_dicts(sections_are_dicts=True), check_overrides),
        "config files": (configs.CONFIG_FILE_CONTENTS, configs.check_config_file),
    }
    tallies = []
    for name, (strategy, check) in families.items():
        tally = FamilyTally(name)
        violations = (configs.ConfigInvariantViolation,)
        explore(tally, strategy, check, violations, (configs.ConfigError,), examples, seed_value)
        tallies.append(tally)
    return tallies


def data_rows(content: bytes, layout: str) -> int:
    """Data rows of a real file: non-blank lines, or CSV records after the header."""
    if layout == "lines":
        return sum(1 for line in content.decode("latin-1").split("\n") if line.strip())
    records = csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""))
    return sum(1 for record in records if record) - 1


def run_real_data(parsers, shared_data: str) -> List[FamilyTally]:
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
        source = parsers.GeneratedSource(
            kind=folder,
            files=files,
            load=parsers.load_directory,
            rows_per_file=rows,
            unobserved_file="tags.csv" if "tags.csv" in files else None,
        )
        tally = FamilyTally(f"real {folder}")
        violations = (parsers.InvariantViolation,)
        record_outcome(tally, parsers.check_source, source, violations, (DataError,))
        tallies.append(tally)
    return tallies


# ------------------------------------------------------------------ serving

SERVING_MODELS = ("retrieval", "ranking", "text_retrieval")
# Models answering with top-k item lists (checked by retrieval_problem).
TOP_K_MODELS = ("retrieval", "text_retrieval")
UNKNOWN_IDS = ("zz-unknown", "-1", "0", "__unknown_item__")
ODD_IDS = ("映画", "e\u0301", "\U0001f600", " m1", "\x00", "x" * 10_000, "\n", "'\"")
CELL_POOL_WEIGHTS = (0.55, 0.25, 0.1, 0.1)  # known ids, "" padding, unknown ids, odd ids
EMPTY_ROW_PROBABILITY = 0.2
BATCH_SIZES = (0, 1, 2, 7)
ROW_LENGTHS = (0, 1, 3, 50, 1000)
K_VALUES = (-3, 0, 1, 5, 10**6, 2**31 - 1)
UNSEEN_CONTEXT_VALUES = ("", "unseen-value", "映画")
QUERY_INPUT = "query"  # text_retrieval's natural-language requests
TEXTS = ("", "   ", "a funny film for the whole family", "[CLS] [SEP] [PAD]", "word " * 5_000) + ODD_IDS


@dataclasses.dataclass
class ServingTally:
    """Generated requests to one signature and how its answers looked.

    Args:
        name: "model/signature".
        requests: requests sent.
        well_formed: answers that passed every check.
        malformed, errors: (problem, request summary) of the first failures.
        malformed_count, error_count: how many in all.
    """

    name: str
    requests: int = 0
    well_formed: int = 0
    malformed: List[List[str]] = dataclasses.field(default_factory=list)
    errors: List[List[str]] = dataclasses.field(default_factory=list)
    malformed_count: int = 0
    error_count: int = 0

    @property
    def failed(self) -> bool:
        return self.malformed_count > 0 or self.error_count > 0

    def as_json(self) -> dict:
        return dataclasses.asdict(self)

    def add(self, kind: str, problem: str, inputs: dict):
        summary = [problem[:EXAMPLE_CHARACTERS], request_summary(inputs)]
        if kind == "error":
            self.error_count += 1
            if len(self.errors) < SHOWN_EXAMPLES:
                self.errors.append(summary)
        else:
            self.malformed_count += 1
            if len(self.malformed) < SHOWN_EXAMPLES:
                self.malformed.append(summary)


def id_matrix(rng, rows: int, length: int, known: List[str]) -> np.ndarray:
    """[rows, length] ids: known ones, "" padding anywhere, unknown and odd ids; some rows empty."""
    pools = [known, ("",), UNKNOWN_IDS, ODD_IDS]
    picks = rng.choice(len(pools), size=rows * length, p=CELL_POOL_WEIGHTS)
    cells = [pools[pick][rng.integers(len(pools[pick]))] for pick in picks]
    matrix = np.array(cells, dtype=object).reshape(rows, length)
    if rows and rng.random() < EMPTY_ROW_PROBABILITY:
        matrix[rng.integers(rows)] = ""
    return matrix


def generated_request(rng, input_specs: dict, known: List[str], context_values: Dict[str, list]):
    """Inputs for one request: [B, L] id matrices, [B] context strings, a scalar k."""
    batch = int(rng.choice(BATCH_SIZES))
    inputs = {}
    for name, spec in input_specs.items():
        if spec.shape.rank == 0:
            inputs[name] = np.array(rng.choice(K_VALUES), dtype=np.int32)
        elif spec.shape.rank == 2:
            inputs[name] = id_matrix(rng, batch, int(rng.choice(ROW_LENGTHS)), known)
        elif name == QUERY_INPUT:
            pool = list(TEXTS) + list(known)
            inputs[name] = np.array([pool[pick] for pick in rng.integers(len(pool), size=batch)], dtype=object)
        else:
            values = list(context_values.get(name, [])) + list(UNSEEN_CONTEXT_VALUES)
            picks = rng.integers(len(values), size=batch)
            inputs[name] = np.array([values[pick] for pick in picks], dtype=object)
    return inputs


def retrieval_problem(outputs: dict, inputs: dict, top_k: int, catalog: set) -> Optional[str]:
    """Why a retrieval answer is malformed, or None."""
    item_ids = np.empty(outputs["item_ids"].shape, dtype=object)
    item_ids.flat[:] = [item_id.decode("utf-8") for item_id in outputs["item_ids"].flat]
    scores = outputs["scores"]
    requests = inputs["history"] if "history" in inputs else inputs[QUERY_INPUT]
    batch = requests.shape[0]
    k = top_k if "k" not in inputs else int(np.clip(inputs["k"], 0, top_k))
    if outputs["item_ids"].shape != (batch, k) or scores.shape != (batch, k):
        return f"shapes {outputs['item_ids'].shape}/{scores.shape}, expected ({batch}, {k})"
    if np.isnan(scores).any():
        return "NaN score"
    with np.errstate(invalid="ignore"):  # -inf - -inf in the padded tail
        unsorted = (np.diff(scores, axis=1) > 0).any()
    if unsorted:
        return "scores not sorted best first"
    if ((item_ids == "") != np.isneginf(scores)).any():
        return "an empty item id without a -inf score, or the reverse"
    histories = inputs["history"] if "history" in inputs else np.empty((batch, 0), dtype=object)
    for row, history in zip(item_ids, histories):
        ids = [i for i in row if i]
        if not set(ids) <= catalog:
            return f"ids outside the catalog: {sorted(set(ids) - catalog)[:3]}"
        if len(set(ids)) != len(ids):
            return "an item twice in one answer"
        if set(ids) & set(history.tolist()):
            return "a history item was recommended"
    return None


def ranking_problem(outputs: dict, inputs: dict) -> Optional[str]:
    """Why a ranking answer is malformed, or None."""
    for name in ("scores", "affinity"):
        if outputs[name].shape != inputs["candidates"].shape:
            return f"{name} shape {outputs[name].shape}, expected {inputs['candidates'].shape}"
        if not np.isfinite(outputs[name]).all():
            return f"non-finite {name}"
    return None


def request_summary(inputs: dict) -> str:
    shown = (f"{n}={v.tolist() if v.ndim == 0 else f'shape {v.shape}'}" for n, v in inputs.items())
    return ", ".join(shown)


# ======================= SERVING DRIVER: run only with --export-dir =======================
def drive_signatures(export_dir: str, n: int, seed_value: int = 0) -> List[ServingTally]:
    """Sends `n` generated requests to each signature of the exported retrieval, ranking and text_retrieval models.

    Uses the latest version of each model in `export_dir`. Requests hold
    batches of 0 to 7 rows, rows of 0 to 1000 ids mixing known ids, ""
    padding anywhere, empty rows, unknown ids and odd unicode (and, for the
    context signatures, unseen context values and out-of-range k; for
    text_retrieval, empty, odd-unicode and 5,000-word requests). A
    retrieval answer is well-formed with shape [B, clip(k, 0, K)], scores
    best first without NaN, "" exactly where the score is -inf, only catalog
    ids, no repeats and no history item; a ranking answer with finite
    [B, C] scores and affinities. Raises ImportError without `tfrec_llm.serving`.
    """
    # pylint: disable=import-outside-toplevel
    import tensorflow as tf

    from tfrec_llm.serving.export.export_info import ExportInfo
    from tfrec_llm.serving.catalog.item_catalog_file import read_item_catalog
    from tfrec_llm.serving.saved_model_loading import load_latest_version

    rng = np.random.default_rng(seed_value)
    tallies = []
    for model_name in SERVING_MODELS:
        try:
            path, loaded = load_latest_version(export_dir, model_name)
        except FileNotFoundError as error:
            print(f"serving: {model_name} skipped ({error})")
            continue
        info = ExportInfo.read(path)
        known = read_item_catalog(path)[0].tolist()
        top_k = min(info.max_k, info.num_items)
        context_values = {"scenario": info.scenario_values}
        for name, values in info.user_feature_values.items():
            context_values[f"user_{name}"] = values
        for signature_name, function in loaded.signatures.items():
            tally = ServingTally(f"{model_name}/{signature_name}")
            specs = function.structured_input_signature[1]
            for _ in range(n):
                inputs = generated_request(rng, specs, known, context_values)
                tally.requests += 1
                try:
                    tensors = {
                        name: tf.constant(value, dtype=specs[name].dtype, shape=value.shape)
                        for name, value in inputs.items()
                    }
                    outputs = {name: value.numpy() for name, value in function(**tensors).items()}
                except Exception as error:  # pylint: disable=broad-except
                    tally.add("error", f"{type(error).__name__}: {error}", inputs)
                    continue
                if model_name in TOP_K_MODELS:
                    problem = retrieval_problem(outputs, inputs, top_k, set(known))
                else:
                    problem = ranking_problem(outputs, inputs)
                if problem is None:
                    tally.well_formed += 1
                else:
                    tally.add("malformed", problem, inputs)
            tallies.append(tally)
    return tallies


def run_serving(export_dir: str, n: int, seed_value: int) -> Optional[List[ServingTally]]:
    try:
        import tfrec_llm.serving.saved_model_loading  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    except ImportError as error:
        print(f"serving: skipped, tfrec_llm.serving is not importable ({error})")
        return None
    return drive_signatures(export_dir, n, seed_value)


# ------------------------------------------------------------------ printing


def print_families(title: str, tallies: List[FamilyTally]):
    print(f"\n## {title}\n")
    columns = ("tried", "accepted", "refused", "rows", "kept", "dropped", "repaired", "crashes")
    header = f"{'family':<21}" + "".join(f"{name:>9}" for name in columns) + f"{'violations':>11}"
    print(header)
    print("-" * len(header))
    for tally in tallies:
        dropped = sum(c for r, c in tally.fallback_rows.items() if r.endswith(DROP_SUFFIX))
        repaired = sum(tally.fallback_rows.values()) - dropped
        values = (tally.tried, tally.accepted, tally.refused, tally.rows, tally.kept_rows)
        values += (dropped, repaired, tally.crash_count)
        print(
            f"{tally.name:<21}"
            + "".join(f"{v:>9}" for v in values)
            + f"{tally.violation_count:>11}"
        )
    for tally in tallies:
        if tally.fallback_rows:
            print(f"\n{tally.name}: rows handled by a fallback (rows, in inputs, reason)")
            for reason, rows in sorted(tally.fallback_rows.items(), key=lambda item: -item[1]):
                print(f"  {rows:>7} {tally.fallback_inputs[reason]:>6}  {reason}")
        if tally.refusal_causes:
            print(f"{tally.name}: most frequent refusals (inputs, DataError/ConfigError)")
            for cause, count in tally.refusal_causes.most_common(SHOWN_CAUSES):
                print(f"  {count:>7}  {cause}")
        for kind, examples in (("CRASH", tally.crashes), ("VIOLATION", tally.violations)):
            for example in examples:
                print(f"\n{tally.name} {kind}: " + "\n  ".join(example))


def print_serving(tallies: List[ServingTally]):
    print("\n## Serving signatures (generated requests)\n")
    header = f"{'signature':<34}{'requests':>10}{'well-formed':>13}{'malformed':>11}{'errors':>8}"
    print(header)
    print("-" * len(header))
    for t in tallies:
        print(
            f"{t.name:<34}{t.requests:>10}{t.well_formed:>13}{t.malformed_count:>11}"
            f"{t.error_count:>8}"
        )
    for tally in tallies:
        for kind, examples in (("MALFORMED", tally.malformed), ("ERROR", tally.errors)):
            for example in examples:
                print(f"\n{tally.name} {kind}: " + "\n  ".join(example))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--examples",
        type=int,
        default=DEFAULT_EXAMPLES,
        help="generated inputs per family (default %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the generators")
    parser.add_argument(
        "--shared-data",
        default=DEFAULT_SHARED_DATA,
        help="folder holding real MovieLens data (skipped when absent)",
    )
    parser.add_argument("--export-dir", help="an export directory: drive its serving signatures")
    parser.add_argument(
        "--requests",
        type=int,
        default=DEFAULT_REQUESTS,
        help="generated requests per serving signature (default %(default)s)",
    )
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)

    started = time.time()
    parsers = load_test_module(PARSER_TESTS)
    data_tallies = run_parsers(parsers, args.examples, args.seed)
    config_tallies = run_configs(args.examples, args.seed)
    real_tallies = []
    if os.path.isdir(args.shared_data):
        real_tallies = run_real_data(parsers, args.shared_data)
    serving_tallies = None
    if args.export_dir:
        serving_tallies = run_serving(args.export_dir, args.requests, args.seed)

    print(f"# Reliability report: {args.examples} generated inputs per family, seed {args.seed}")
    print_families("Data loaders (generated inputs)", data_tallies)
    print_families("Configuration (generated inputs)", config_tallies)
    if real_tallies:
        print_families(f"Real data ({args.shared_data})", real_tallies)
    if serving_tallies is not None:
        print_serving(serving_tallies)
    elif args.export_dir is None:
        print("\nserving: not driven (give --export-dir)")
    all_tallies = data_tallies + config_tallies + real_tallies + (serving_tallies or [])
    failed = [tally.name for tally in all_tallies if tally.failed]
    verdict = f"FAILED: {', '.join(failed)}" if failed else "OK: no crash, no silent loss"
    print(f"\n{verdict} ({time.time() - started:.0f} s)")
    if args.json:
        results = {
            "examples": args.examples,
            "seed": args.seed,
            "failed": failed,
            "families": [tally.as_json() for tally in all_tallies],
        }
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
