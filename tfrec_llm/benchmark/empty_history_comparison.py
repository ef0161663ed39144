"""What a request without history is answered with, measured: the user tower's vector vs popularity.

`compare_empty_history_answers` evaluates one trained model on its own
test examples twice, as `train` writes metrics.json, under
`model.empty_history_answer` "model" and "popularity", overall and on the
examples whose history holds no known item (under time_cut: new users'
first events: the report's "no_history" stratum). Only the answer
changes; the weights are the same. On the validation examples it shows
what `model.empty_history_answer` "validation" chose from
(`training/empty_history_choice.py`).
"""

from typing import Optional

from tfrec_llm.config.model_config import SERVED_EMPTY_HISTORY_ANSWERS
from tfrec_llm.training.model_evaluation import NO_HISTORY_STRATUM, answering_empty_histories_with, evaluate_on_test
from tfrec_llm.training.trained_model import TrainedModel

REPORTED = (("overall", "recall@10"), ("overall", "ndcg@10"), ("new_users", "recall@10"))
ITEM_STRATA = ("cold_items", "warm_items")


def compare_empty_history_answers(trained: TrainedModel, experiment, examples=None) -> dict:
    """{"examples", "without_history": count, "answers": {answer: {"all": report, "without_history": stratum}}}.

    The stratum is the report's "no_history" (None when every example has a history).

    Args:
        trained: a loaded model (its config's answer is restored afterwards).
        experiment: its `ExperimentData` (`prepare_experiment_data(trained.config)`: the model's own split).
        examples: test examples instead of the experiment's.
    """
    examples = experiment.test_examples if examples is None else examples
    answers = {}
    for answer in SERVED_EMPTY_HISTORY_ANSWERS:
        with answering_empty_histories_with(trained.model, answer):
            report = evaluate_on_test(trained.model, trained.assets, experiment, trained.config.train, examples)
        answers[answer] = {"all": report, "without_history": report["strata"].get(NO_HISTORY_STRATUM)}
    without = (answers["model"]["without_history"] or {"n": 0})["n"]
    return {"examples": len(examples), "without_history": without, "answers": answers}


def format_comparison(comparison: dict, source: Optional[str] = None, part: str = "test") -> str:
    """A markdown table: one row per answer; `part` names the examples ("test", "validation")."""
    lines = [
        f"{source or 'model'}: {comparison['without_history']:,} of {comparison['examples']:,} {part} examples "
        "have no known history item",
        "",
        "| answer | without history R@10 | R@50 | overall R@10 | overall NDCG@10 | new users R@10 | cold R@50 "
        "| warm R@50 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for answer, result in comparison["answers"].items():
        report, alone = result["all"], result["without_history"]
        cells = [answer]
        cells += ["-", "-"] if alone is None else [f"{alone['recall@10']:.4f}", f"{alone['recall@50']:.4f}"]
        cells += [_metric(report, part, name) for part, name in REPORTED]
        cells += [_metric(report, stratum, "recall@50") for stratum in ITEM_STRATA]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _metric(report: dict, part: str, name: str) -> str:
    values = report["overall"] if part == "overall" else report["strata"].get(part)
    return "-" if not values or values.get(name) is None else f"{values[name]:.4f}"
