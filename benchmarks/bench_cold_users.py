"""Cold users on a trained model: profile, 1-3 interactions, their blend, popularity (issue 10, part 2).

Usage:
    python benchmarks/bench_cold_users.py --model-dir runs/ml-100k-minilm [--data /work/shared/data/ml-100k]
        [--output cold_users.json]

Prints the markdown table of `tfrec_llm.queries.cold_user_benchmark` (test
targets of the model's own split; the blend weight w and the BERT
similarity weight alpha chosen on validation) and the target: profile + 1 interaction beats popularity and 1 interaction
alone on Recall@10.
"""

import argparse
import json
import time

import tfrec_llm  # noqa: F401  (legacy Keras before TensorFlow)
from tfrec_llm.queries.cold_user_benchmark import format_cold_user_report, run_cold_user_benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, help="a directory written by `tfrec-llm train` (with text)")
    parser.add_argument("--data", help="the model's data source, when its config.json names a relative path")
    parser.add_argument("--output", help="write the report JSON here")
    args = parser.parse_args()
    start = time.perf_counter()
    report = run_cold_user_benchmark(args.model_dir, args.data)
    report["wall_seconds"] = time.perf_counter() - start
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)
    print(format_cold_user_report(report))
    print(f"wall time: {report['wall_seconds']:.1f} s")


if __name__ == "__main__":
    main()
