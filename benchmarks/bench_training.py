"""Training throughput: the plain TFRS two-tower vs our model (frozen text, fine-tuned text).

    python benchmarks/bench_training.py                                  # 100k, 1M, 10M; full epochs
    python benchmarks/bench_training.py --max-steps 10M=200 --json rows.json
    python benchmarks/bench_training.py --sizes 100k \
        --models tfrs_plain,frozen_text,frozen_text_in_batch,id_only_full_catalog   # separates text from softmax

`frozen_text_in_batch` (frozen text, the plain model's in-batch negatives) and
`id_only_full_catalog` (no text, full-catalog softmax) split the frozen-text
cell's cost at catalogs where "auto" picks the full-catalog softmax.

Prints one JSON row per (size, model) cell as it finishes, then a Markdown
table: examples/s, epoch time (extrapolated from the timed steps when
`--max-steps` cut the epoch short, and flagged so), input-wait share, peak
RSS of the cell's process and time per example relative to the plain model
at the same size. See `tfrec_llm/benchmark/training_throughput.py`.
"""

import argparse
import json

import tfrec_llm  # noqa: F401  (selects legacy Keras before TensorFlow loads)
from tfrec_llm.benchmark.throughput_models import MODEL_SETTINGS
from tfrec_llm.benchmark.training_throughput import MODELS, SIZES, format_table, run_training_benchmark


def parse_max_steps(text: str) -> dict:
    """ "10M=200,1M=500" -> {"10M": 200, "1M": 500}."""
    steps = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        size, equals, count = part.partition("=")
        if not equals or not count.strip().isdigit():
            raise SystemExit(f"--max-steps: expected SIZE=STEPS, got {part!r}")
        steps[size.strip()] = int(count)
    return steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(SIZES), help="comma-separated interaction counts (100k, 1M, ...)")
    parser.add_argument(
        "--models",
        default=",".join(MODELS),
        help=f"comma-separated models from tfrs_plain, {', '.join(MODEL_SETTINGS)}",
    )
    parser.add_argument("--max-steps", default="", help="SIZE=STEPS,...: timed steps per cell (default: the epoch)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args()
    rows = run_training_benchmark(
        [s for s in args.sizes.split(",") if s.strip()],
        [m for m in args.models.split(",") if m.strip()],
        parse_max_steps(args.max_steps),
    )
    print(format_table(rows))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
