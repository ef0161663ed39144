"""Faithfulness of `recommend --explain`: removing the explaining item vs removing a random one.

    python benchmarks/bench_explanations.py --model-dir runs/ml-100k --export-dir exports/ml-100k \
        --output-dir runs/ml-100k-explanations

The histories are the test examples' histories of the trained model (its
own data and split); recommendations and explanations come from the export
(`retrieval`, `user_encoder`, `item_encoder`), as the CLI serves them.
Prints the rate of faithful cases for the leave-one-out explainer (target
>= 0.8) and for the old most-similar-item explainer, and writes
`explanation_faithfulness.json`. See `tfrec_llm/benchmark/explanation_faithfulness.py`.
"""

import argparse
import time

import tfrec_llm  # noqa: F401  (selects legacy Keras before TensorFlow loads)
from tfrec_llm.benchmark.explanation_faithfulness import explanation_faithfulness, format_faithfulness, write_report
from tfrec_llm.benchmark.reranking_tradeoff import test_examples
from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX
from tfrec_llm.serving.saved_model_recommender import SavedModelRecommender
from tfrec_llm.training.trained_model import TrainedModel


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, help="the trained model (for its test histories)")
    parser.add_argument("--export-dir", required=True, help="its export (retrieval, user_encoder, item_encoder)")
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--max-users", type=int, default=0, help="first n test histories only (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    trained = TrainedModel.load(args.model_dir)
    ids = trained.assets.item_ids
    histories = [
        [ids[i - FIRST_ITEM_INDEX] for i in row if i >= FIRST_ITEM_INDEX] for row in test_examples(trained).history
    ]
    if args.max_users:
        histories = histories[: args.max_users]
    report = explanation_faithfulness(SavedModelRecommender(args.export_dir), histories, args.k, args.seed)
    print(format_faithfulness(report))
    print(f"report: {write_report(report, args.output_dir)}; wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
