"""Requests without history: the user tower's answer vs popularity (`model.empty_history_answer`).

Usage:
    python benchmarks/bench_empty_history.py --model-dir runs/ml-100k-time-cut [--data /work/shared/data/ml-100k]

Evaluates the trained model on its own validation and test examples under
each answer (the same weights; `tfrec_llm.benchmark.empty_history_comparison`)
and prints a markdown table for each: the examples without a known history
item alone, and the whole set with its new-user and item strata; then the
answer the model serves (chosen on the validation table by default).
"""

import argparse
import time

import tfrec_llm  # noqa: F401  (legacy Keras before TensorFlow)
from tfrec_llm.benchmark.empty_history_comparison import compare_empty_history_answers, format_comparison
from tfrec_llm.training.experiment_data import prepare_experiment_data
from tfrec_llm.training.trained_model import TrainedModel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, help="a directory written by `tfrec-llm train`")
    parser.add_argument("--data", help="the model's data source, when its config.json names another path")
    args = parser.parse_args()
    start = time.perf_counter()
    trained = TrainedModel.load(args.model_dir)
    if args.data:
        trained.config = trained.config.updated({"data": {"source": args.data}})
    experiment = prepare_experiment_data(trained.config)
    validation = experiment.validation_examples()
    if len(validation):  # what model.empty_history_answer "validation" chooses from
        print(
            format_comparison(
                compare_empty_history_answers(trained, experiment, validation), trained.config.data.source, "validation"
            )
        )
        print()
    comparison = compare_empty_history_answers(trained, experiment)
    print(format_comparison(comparison, trained.config.data.source))
    print(f"served: {trained.config.model.served_empty_history_answer} (config.json model.empty_history_answer)")
    print(f"wall time: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
