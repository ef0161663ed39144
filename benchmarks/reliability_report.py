"""Reliability report: the data and config property checks at scale, plus the serving signatures.

Runs the generators and invariants of `tfrec_llm.testing` (the ones the
property tests use, needs the test extra) directly, not through pytest, on
many generated inputs per family, and prints, per family: inputs tried,
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
import json
import os
import sys
import time

import tfrec_llm  # noqa: F401  (binds legacy Keras before anything imports TensorFlow)
from tfrec_llm.testing.family_tally import print_families
from tfrec_llm.testing.input_families import run_configs, run_parsers, run_real_data
from tfrec_llm.testing.serving_requests import print_serving, run_serving

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SHARED_DATA = os.path.join(os.path.dirname(REPO), "shared", "data")
DEFAULT_EXAMPLES = 1000
DEFAULT_REQUESTS = 200


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
    data_tallies = run_parsers(args.examples, args.seed)
    config_tallies = run_configs(args.examples, args.seed)
    real_tallies = []
    if os.path.isdir(args.shared_data):
        real_tallies = run_real_data(args.shared_data)
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
