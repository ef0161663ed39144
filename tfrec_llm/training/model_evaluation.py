"""Evaluates a trained `TwoTowerRecommender` on test examples.

Item embeddings are computed once for the whole catalog (BERT costs
O(items)); user embeddings read history items from that table. Reports:
- the full-catalog report of `FullCatalogEvaluator` (overall, strata, lists);
- history cuts: every test example re-scored with its history cut to its
  last 1, 3 and 5 items, under `history_cuts["last_<k>"]` (overall metrics
  of ALL examples: a re-scoring, not a stratum of the examples);
- TFRS `FactorizedTopK` top-K accuracy on the same examples (seen items are
  not excluded there, as in TFRS);
- optionally (`ranks_path`) each example's target rank in every pass, its
  user and strata (`ExampleRanks`: `train` writes test_ranks.npz).
With `model.empty_history_answer` "popularity", examples whose (cut)
history holds no known item are ranked by popularity, as the `retrieval`
export answers them (`evaluation/empty_history_answer.py`). Such examples
(full histories) are counted and scored as the stratum "no_history" when
there are any (under time_cut: new users' first events), and the report's
"empty_history_answer" names the answer served ("model", "popularity";
None for a baseline without a model config).
"""

import contextlib
import dataclasses
from typing import Optional

import numpy as np
import tensorflow as tf
import tensorflow_recommenders as tfrs

from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX, PAD_INDEX
from tfrec_llm.evaluation.empty_history_answer import answer_empty_histories
from tfrec_llm.evaluation.example_ranks import HISTORY_CUTS_PREFIX, OVERALL, ExampleRanks
from tfrec_llm.evaluation.full_catalog_evaluator import FullCatalogEvaluator, chunk_rows
from tfrec_llm.progress import Progress

HISTORY_CUTS = (1, 3, 5)
CONTEXT_KEYS = ("scenario",)  # and every "user_<feature>": "unknown" (index 0) when a request sends none
HISTORY_CUT_PREFIX = "last_"
NO_HISTORY_STRATUM = "no_history"
WITHOUT_CONTEXT = "without_context"
FACTORIZED_TOP_KS = (10, 50, 100)


class _InferenceFunctions:
    """The model's inference `tf.function`s, traced once per model and input shape family."""

    def __init__(self, model):
        self.items = tf.function(lambda indices: model.item_embeddings(indices, training=False), reduce_retracing=True)
        self.users = tf.function(
            lambda batch, table: model.user_embeddings(
                batch, lambda indices: tf.gather(table, indices), training=False
            ),
            reduce_retracing=True,
        )


_FUNCTIONS_ATTRIBUTE = "_tfrec_llm_inference_functions"


def _functions(model) -> _InferenceFunctions:
    """The model's functions, kept on the model itself so they die with it.

    (A module-level cache keyed by model would keep every evaluated model
    alive: its functions reference the model.)
    """
    functions = getattr(model, _FUNCTIONS_ATTRIBUTE, None)
    if functions is None:
        functions = _InferenceFunctions(model)
        setattr(model, _FUNCTIONS_ATTRIBUTE, functions)
    return functions


def catalog_embeddings(model, num_index_rows: int, batch_size: int = 2048) -> np.ndarray:
    """float32 [V, d] item embeddings of every item index (inference mode)."""
    embed = _functions(model).items
    parts = [
        embed(tf.range(start, min(start + batch_size, num_index_rows)))
        for start in range(0, num_index_rows, batch_size)
    ]
    return np.concatenate([np.asarray(p) for p in parts]).astype(np.float32)


def query_embeddings(model, features: dict, item_table: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """float32 [n, d] user embeddings of example `features`, history items read from `item_table`."""
    table = tf.constant(item_table)
    embed = _functions(model).users
    n = len(features["history"])
    parts = [np.zeros((0, item_table.shape[1]), np.float32)]
    for start in range(0, n, batch_size):
        batch = {k: tf.constant(v[start : start + batch_size]) for k, v in features.items()}
        parts.append(np.asarray(embed(batch, table)))
    return np.concatenate(parts).astype(np.float32)


def cut_histories(history: np.ndarray, keep_last: int) -> np.ndarray:
    """Right-padded histories reduced to their last `keep_last` items."""
    lengths = (history != PAD_INDEX).sum(axis=1)
    kept = np.minimum(lengths, keep_last)
    cut = np.full((len(history), keep_last), PAD_INDEX, dtype=history.dtype)
    rows = np.arange(len(history))
    for j in range(keep_last):
        valid = j < kept
        cut[rows[valid], j] = history[rows[valid], (lengths - kept + j)[valid]]
    return cut


def evaluate_model(
    model,
    assets,
    examples,
    exclude_seen: bool = True,
    max_examples: int = 0,
    seed: int = 0,
    ranks_path: Optional[str] = None,
) -> dict:
    """The metrics dict written to metrics.json (see module docstring).

    With `ranks_path` each example's target rank in every pass is written
    there too (`ExampleRanks`, for paired comparisons of models).
    """
    if max_examples and len(examples) > max_examples:
        rows = np.sort(np.random.default_rng(seed).choice(len(examples), max_examples, replace=False))
        examples = examples.subset(rows)
    item_table = catalog_embeddings(model, assets.num_index_rows)
    catalog_vectors = item_table[FIRST_ITEM_INDEX:]
    known = examples.target >= FIRST_ITEM_INDEX
    examples = examples.subset(np.flatnonzero(known))
    targets = examples.target - FIRST_ITEM_INDEX
    if exclude_seen:
        exclusions = [
            seen[seen >= FIRST_ITEM_INDEX] - FIRST_ITEM_INDEX
            for seen in (examples.seen_before(i) for i in range(len(examples)))
        ]
    else:
        exclusions = [np.zeros(0, np.int64)] * len(examples)
    diversity_features = (
        assets.text_features[FIRST_ITEM_INDEX:]
        if assets.text_features is not None
        else assets.item_attributes[FIRST_ITEM_INDEX:]
        if assets.item_attributes is not None
        else None
    )
    evaluator = FullCatalogEvaluator(
        item_popularity=assets.item_popularity[FIRST_ITEM_INDEX:],
        cold_item_mask=assets.cold_items[FIRST_ITEM_INDEX:],
        item_features_for_diversity=diversity_features,
    )
    scenario_names = np.concatenate([["unknown"], assets.scenario_values])[examples.scenario]
    features = examples.features()
    fallback_scores = empty_history_scores(model, assets)

    ranks = ExampleRanks(examples.user_ids, ranks={}, strata={})

    def rank(pass_name, users, history, **strata):
        vectors = (users, catalog_vectors)
        if fallback_scores is not None:
            vectors = answer_empty_histories(users, catalog_vectors, has_known_items(history), fallback_scores)
        report, ranks.ranks[pass_name], example_strata = evaluator.evaluate_with_ranks(
            *vectors, targets, exclusions, examples.user_activity, **strata
        )
        if pass_name == OVERALL:
            ranks.strata = example_strata
        return report

    without_history = ~has_known_items(examples.history)
    with _evaluation_progress(len(examples)) as progress:
        users = query_embeddings(model, features, item_table)
        report = rank(
            OVERALL,
            users,
            examples.history,
            scenarios=scenario_names if len(assets.scenario_values) > 1 else None,
            extra_strata={NO_HISTORY_STRATUM: without_history} if without_history.any() else None,
        )
        report["empty_history_answer"] = empty_history_answer(model)
        progress.update(1)
        report["history_cuts"] = {}
        for keep in HISTORY_CUTS:
            cut = cut_histories(examples.history, keep)
            cut_name = f"{HISTORY_CUT_PREFIX}{keep}"
            cut_users = query_embeddings(model, dict(features, history=cut), item_table)
            report["history_cuts"][cut_name] = rank(f"{HISTORY_CUTS_PREFIX}{cut_name}", cut_users, cut)["overall"]
            progress.update(1)
        # What TF Serving's default signature answers a client that sends no scenario or user features.
        unknown_context = {
            k: np.zeros_like(v) if k in CONTEXT_KEYS or k.startswith("user_") else v for k, v in features.items()
        }
        context_free_users = query_embeddings(model, unknown_context, item_table)
        report["without_context"] = rank(WITHOUT_CONTEXT, context_free_users, examples.history)["overall"]
        progress.update(1)
        report["factorized_top_k"] = factorized_top_k_accuracy(users, catalog_vectors, targets)
        progress.update(1)
    if ranks_path:
        ranks.save(ranks_path)
    return report


def has_known_items(history: np.ndarray) -> np.ndarray:
    """bool [n]: whether each history row holds a known catalog item (not only padding and unknown ids)."""
    return (np.asarray(history) >= FIRST_ITEM_INDEX).any(axis=1)


def empty_history_answer(model):
    """The answer the model serves ("model", "popularity"), or None for a baseline (no model config: its own)."""
    config = getattr(model, "config", None)
    return None if config is None else config.served_empty_history_answer


@contextlib.contextmanager
def answering_empty_histories_with(model, answer: str):
    """Within the block the model answers empty histories with `answer`; its config is restored after."""
    chosen = model.config
    model.config = dataclasses.replace(chosen, empty_history_answer=answer)
    try:
        yield model
    finally:
        model.config = chosen


def empty_history_scores(model, assets):
    """Training counts per catalog item if the model answers empty histories with popularity, else None."""
    if empty_history_answer(model) != "popularity":
        return None
    return np.asarray(assets.item_popularity[FIRST_ITEM_INDEX:], np.float32)  # exact below 2**24


def evaluate_on_test(model, assets, experiment, train_config, examples=None, ranks_path=None) -> dict:
    """`evaluate_model` on the experiment's test examples (or `examples`), as `train` writes metrics.json.

    Seen items are excluded when the split says so; `train.eval_max_examples`
    and `train.seed` choose the evaluated subset; `ranks_path` receives the
    per-example ranks.
    """
    return evaluate_model(
        model,
        assets,
        experiment.test_examples if examples is None else examples,
        experiment.split.excludes_seen_items,
        train_config.eval_max_examples,
        train_config.seed,
        ranks_path,
    )


def _evaluation_progress(num_examples: int) -> Progress:
    """The evaluation phase: one pass over the examples with full histories, one per history cut, TFRS top-K."""
    cuts = ", ".join(str(keep) for keep in HISTORY_CUTS)
    return Progress(
        f"Evaluating {num_examples:,} test examples",
        total=len(HISTORY_CUTS) + 3,
        unit="passes",
        summary=f"Evaluated {num_examples:,} test examples (full histories, history cuts {cuts}, "
        "without context, TFRS top-K) in {seconds:.1f} s",
    )


def factorized_top_k_accuracy(
    users: np.ndarray, catalog_vectors: np.ndarray, targets: np.ndarray, batch_size: int = 1024
) -> dict:
    """TFRS `FactorizedTopK` top-K accuracy over the catalog (no exclusions)."""
    ks = tuple(k for k in FACTORIZED_TOP_KS if k <= len(catalog_vectors)) or (len(catalog_vectors),)
    index = tfrs.layers.factorized_top_k.BruteForce(k=max(ks))
    index.index(tf.constant(catalog_vectors), identifiers=tf.range(len(catalog_vectors)))
    metric = tfrs.metrics.FactorizedTopK(candidates=index, ks=ks)
    batch_size = chunk_rows(len(catalog_vectors), batch_size)  # bounded scores per batch at 1M items
    for start in range(0, len(users), batch_size):
        stop = start + batch_size
        metric.update_state(
            tf.constant(users[start:stop]),
            tf.gather(catalog_vectors, targets[start:stop]),
            true_candidate_ids=tf.constant(targets[start:stop], tf.int32),
        )
    return {f"top_{k}_accuracy": float(v) for k, v in zip(ks, metric.result())}
