"""Personal requests on a trained model: request precision and personal share by history weight (issue 10, part 3).

Usage:
    python benchmarks/bench_personal_requests.py --model-dir runs/ml-100k-minilm \
        --queries benchmarks/queries/movielens-100k.json [--data /work/shared/data/ml-100k] [--output personal.json]

Prints the table of `tfrec_llm.queries.personal_request_benchmark` and the
targets: precision@10 within 10% of the request alone, personal share above it.
"""

import argparse
import json
import time

import tfrec_llm  # noqa: F401  (legacy Keras before TensorFlow)
from tfrec_llm.queries.personal_request_benchmark import (
    format_personal_request_report,
    run_personal_request_benchmark,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, help="a directory written by `tfrec-llm train` (with text)")
    parser.add_argument(
        "--queries", required=True, help="JSON request list, e.g. benchmarks/queries/movielens-100k.json"
    )
    parser.add_argument("--data", help="the model's data source, when its config.json names a relative path")
    parser.add_argument("--output", help="write the report JSON here")
    args = parser.parse_args()
    start = time.perf_counter()
    report = run_personal_request_benchmark(args.model_dir, args.queries, args.data)
    report["wall_seconds"] = time.perf_counter() - start
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)
    print(format_personal_request_report(report))
    print(f"wall time: {report['wall_seconds']:.1f} s")


if __name__ == "__main__":
    main()
