"""`model.empty_history_answer` "validation": the answer to a request without history, chosen on validation.

After training (best weights restored), `choose_empty_history_answer`
ranks the validation examples whose history holds no known item (under
time_cut: users whose first event falls in the validation slice) under
both answers, the user tower's ("model") and the popularity rule
("popularity"), as the evaluator ranks the test, and keeps the one with
the higher Recall@10. Popularity is kept on a tie and whenever fewer than
`MIN_EXAMPLES` such examples exist: under leave-last-out every validation
target has a history, so the choice there is always popularity, as is
training without early stopping (no validation examples).

Measured (2026-12-05, the eight ml-100k and ml-latest-small time_cut
models of the README's "Cold users" section, 55-61 validation examples
without history each): validation picked the answer that is better on
test in all eight, the trained tower on ml-100k with
`model.empty_history_targets` (validation 0.52-0.54 vs 0.18), popularity
on ml-latest-small (0.09 vs 0.53).

`train` writes the chosen answer into the model's config.json (a trained
model answers one way; export and evaluation read it there) and the
evidence into metrics.json["empty_history_choice"].
"""

import numpy as np

from tfrec_llm.config.model_config import SERVED_EMPTY_HISTORY_ANSWERS
from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX
from tfrec_llm.training.model_evaluation import answering_empty_histories_with, evaluate_model, has_known_items

MIN_EXAMPLES = 20
SAFE_ANSWER = "popularity"
METRIC = "recall@10"


def choose_empty_history_answer(model, assets, examples, exclude_seen: bool, min_examples: int = None) -> dict:
    """{"answer", "examples", "recall@10": {answer: value}, "reason"}: the answer to keep, and why.

    Args:
        model: the trained `TwoTowerRecommender` (its config is restored afterwards).
        assets: its `ModelAssets`.
        examples: the validation examples (`ExperimentData.validation_examples()`).
        exclude_seen: whether the split excludes items seen before (as the test evaluation does).
        min_examples: below this many validation examples without history, popularity is kept
            (default `MIN_EXAMPLES`).

    Example:
        choice = choose_empty_history_answer(model, assets, experiment.validation_examples(), True)
        choice["answer"]  # "model" or "popularity"
    """
    min_examples = MIN_EXAMPLES if min_examples is None else min_examples
    if min_examples < 1:
        raise ValueError(f"min_examples must be >= 1, got {min_examples}.")
    rows = np.flatnonzero(~has_known_items(examples.history) & (examples.target >= FIRST_ITEM_INDEX))
    choice = {"answer": SAFE_ANSWER, "examples": int(len(rows)), METRIC: {}, "min_examples": min_examples}
    if len(rows) < min_examples:
        choice["reason"] = f"{len(rows)} validation examples without history, fewer than {min_examples}"
        return choice
    without_history = examples.subset(rows)
    for answer in SERVED_EMPTY_HISTORY_ANSWERS:
        with answering_empty_histories_with(model, answer):
            report = evaluate_model(model, assets, without_history, exclude_seen)
        choice[METRIC][answer] = float(report["overall"][METRIC])
    scores = choice[METRIC]
    if scores["model"] > scores[SAFE_ANSWER]:
        choice["answer"] = "model"
    choice["reason"] = f"higher validation {METRIC} on {len(rows)} examples without history (ties: {SAFE_ANSWER})"
    return choice
