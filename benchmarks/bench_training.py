"""Training throughput: the plain TFRS two-tower vs our model (frozen text, fine-tuned text).

    python benchmarks/bench_training.py                                  # 100k, 1M, 10M; full epochs
    python benchmarks/bench_training.py --max-steps 10M=200 --json rows.json
    python benchmarks/bench_training.py --sizes 100k \
        --models tfrs_plain,frozen_text,frozen_text_in_batch,id_only_full_catalog   # separates text from softmax

The plain model, frozen_text and frozen_text with Keras' Adam in ONE process,
their timed steps interleaved (ratios robust to a changing load; no per-model
peak memory: `tfrec_llm/benchmark/interleaved_throughput.py`):

    python benchmarks/bench_training.py --interleaved 10M [--rounds 8 --block 5]

One epoch end to end at scale (world, train, evaluate a seeded sample of test
examples, save, export; phases timed, peak RSS: `tfrec_llm/benchmark/scale_run.py`):

    python benchmarks/bench_training.py --end-to-end 10M --batch-size 256 \
        --eval-max-examples 5000 --output-dir /tmp/scale10m [--train-until 2026-12-02T03:30:00+00:00]

`frozen_text_in_batch` (frozen text, the plain model's in-batch negatives) and
`id_only_full_catalog` (no text, full-catalog softmax) split the frozen-text
cell's cost at catalogs where "auto" picks the full-catalog softmax; `id_only`
(no text, negatives by "auto") is what `frozen_text` costs without its text tower.

Prints one JSON row per (size, model) cell as it finishes, then a Markdown
table: examples/s, epoch time (extrapolated from the timed steps when
`--max-steps` cut the epoch short, and flagged so), input-wait share, peak
RSS of the cell's process and time per example relative to the plain model
at the same size. See `tfrec_llm/benchmark/training_throughput.py`.
"""

import argparse
import datetime
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
    parser.add_argument("--end-to-end", metavar="SIZE", help="one frozen_text epoch end to end at SIZE (see above)")
    parser.add_argument("--output-dir", help="--end-to-end: model, export and scale_run.json go here")
    parser.add_argument("--batch-size", type=int, default=0, help="--end-to-end: sequence rows per batch")
    parser.add_argument("--eval-max-examples", type=int, default=5000, help="--end-to-end: seeded test sample")
    parser.add_argument("--train-until", help="--end-to-end: ISO time at which training stops if still running")
    parser.add_argument(
        "--interleaved", metavar="SIZE", help="plain vs frozen_text (LazyAdam / Keras Adam), one process"
    )
    parser.add_argument("--rounds", type=int, default=8, help="--interleaved: rounds of --block steps per model")
    parser.add_argument("--block", type=int, default=5, help="--interleaved: consecutive steps of one model")
    args = parser.parse_args()
    if args.end_to_end:
        return end_to_end(args)
    if args.interleaved:
        from tfrec_llm.benchmark import interleaved_throughput  # pylint: disable=import-outside-toplevel

        rows = interleaved_throughput.run_interleaved(args.interleaved, args.rounds, args.block)
        print(interleaved_throughput.format_table(rows))
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump(rows, f, indent=2)
        return None
    rows = run_training_benchmark(
        [s for s in args.sizes.split(",") if s.strip()],
        [m for m in args.models.split(",") if m.strip()],
        parse_max_steps(args.max_steps),
    )
    print(format_table(rows))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=2)


def end_to_end(args):
    """`--end-to-end`: prints progress, then the report without the full metrics."""
    from tfrec_llm.benchmark.scale_run import run_end_to_end  # pylint: disable=import-outside-toplevel

    if not args.output_dir:
        raise SystemExit("--end-to-end needs --output-dir")
    deadline = datetime.datetime.fromisoformat(args.train_until).timestamp() if args.train_until else 0
    report = run_end_to_end(
        args.end_to_end,
        args.output_dir,
        batch_size=args.batch_size,
        eval_max_examples=args.eval_max_examples,
        deadline=deadline,
        log=lambda line: print(line, flush=True),
    )
    print(json.dumps({k: v for k, v in report.items() if k != "metrics"}, indent=2))


if __name__ == "__main__":
    main()
