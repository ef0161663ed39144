"""EASE (Steck 2019), a closed-form linear item-item baseline, evaluated like a trained model.

Fit, on the TRAINING interactions only: X is the binary user x item matrix
of the training events (every event counts, whatever its rating: implicit
feedback, as RecBole's EASE), G = X^T X + l2 I, P = G^-1, B = -P / diag(P)
(column j divided by P_jj) and diag(B) = 0. A user's scores are x_u B.

The regularisation l2 is chosen on a validation target: each training
user's last training event is held out (`leave_last_out` of the training
events), EASE is refitted without it for every l2 of the grid, and the l2
with the best validation Recall@10 (full catalog, ties pessimistic as in
`FullCatalogEvaluator`, seen items excluded when the split excludes
them) wins; ties go to the first l2 of the grid. EASE is then refitted on
all training events with that l2.

Evaluation goes through `tfrec_llm.training.model_evaluation.evaluate_model`,
like the popularity baseline: `EaseBaseline` has the two inference methods
it calls. A user embedding is the multi-hot x_u of the example's history
(`[n, N]`) and item j's embedding is column j of B, so user . item =
(x_u B)_j. The histories are first widened to EVERY item the user had
before the target (`SequenceExamples.seen_items`, the items the evaluator
excludes), not only the model's last `data.max_history`; history cuts then
keep the last k of those.

The closed form is solved by `ease_solver.EaseClosedForm`: through a
`U x U` system when there are fewer users U than items (Woodbury; the
validation grid then never forms an `N x N` matrix), else the `N x N`
inverse. Size: G, P and B are dense N x N float64, about `24 * N**2` bytes
(`ease_memory_bytes`). Above `max_items` items or `memory_budget_bytes`,
`EaseTooLarge` says EASE is skipped and why.
"""

import dataclasses
import os
import time
from typing import Sequence, Tuple

import numpy as np
import tensorflow as tf

from tfrec_llm.benchmark.ease_solver import EaseClosedForm, multi_hot
from tfrec_llm.benchmark.ease_solver import gram_matrix, item_weights_from_gram  # noqa: F401  (re-exported)
from tfrec_llm.benchmark.popularity_baseline import ranks_path, write_baseline_metrics
from tfrec_llm.data.data_split import leave_last_out
from tfrec_llm.data.interaction_data import Interactions
from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX, PAD_INDEX, ItemVocabulary
from tfrec_llm.data.sequence_examples import SequenceExamples
from tfrec_llm.evaluation.ranking_metrics import recall_at_k, target_ranks
from tfrec_llm.experiment_config import ExperimentConfig
from tfrec_llm.training.experiment_data import prepare_experiment_data
from tfrec_llm.training.model_evaluation import evaluate_on_test
from tfrec_llm.training.trainer import CONFIG_FILE, build_assets

EASE_MODEL_SOURCE = "ease"
"""Value of metrics["training"]["text_encoder"]: this model reads no text."""
L2_GRID = (10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0)
MAX_ITEMS = 30_000
MEMORY_BUDGET_BYTES = 8 * 1024**3
BYTES_PER_ITEM_PAIR = 24  # G, P and B: three dense float64 N x N matrices
VALIDATION_METRIC = "recall@10"
VALIDATION_K = 10
VALIDATION_MAX_USERS = 10_000
SCORE_CHUNK_USERS = 1024


class EaseTooLarge(ValueError):
    """The catalog is too large for a dense EASE: the baseline is skipped."""


class EaseBaseline:
    """Scores items by x_u B: the model-like adapter `evaluate_model` calls.

    Args:
        item_weights: `[N, N]` B over catalog items (catalog index =
            item index - FIRST_ITEM_INDEX), zero diagonal.

    Example:
        >>> weights = np.array([[0.0, 0.5], [0.25, 0.0]])
        >>> baseline = EaseBaseline(weights)
        >>> users = baseline.user_embeddings({"history": np.array([[2, 0]])}, None)
        >>> (users.numpy() @ baseline.item_embeddings(np.array([2, 3])).numpy().T).tolist()
        [[0.0, 0.5]]
    """

    def __init__(self, item_weights: np.ndarray):
        item_weights = np.asarray(item_weights)
        if item_weights.ndim != 2 or item_weights.shape[0] != item_weights.shape[1]:
            raise ValueError(f"item_weights must be a square [N, N] matrix, got shape {item_weights.shape}.")
        self.num_items = len(item_weights)
        self.num_index_rows = self.num_items + FIRST_ITEM_INDEX
        padding = np.zeros((FIRST_ITEM_INDEX, self.num_items), np.float32)
        self._item_table = tf.constant(np.concatenate([padding, item_weights.T.astype(np.float32)]))

    def item_embeddings(self, item_indices, training=None):  # pylint: disable=unused-argument
        """float32 `[..., N]`: column j of B for item index j + FIRST_ITEM_INDEX (zeros for padding)."""
        return tf.gather(self._item_table, item_indices)

    def user_embeddings(self, features, item_vectors_of, training=None):  # pylint: disable=unused-argument
        """float32 `[n, N]`: multi-hot of the history's catalog items (padding and unknown dropped)."""
        counts = tf.math.bincount(
            tf.cast(features["history"], tf.int32),
            minlength=self.num_index_rows,
            maxlength=self.num_index_rows,
            axis=-1,
            binary_output=True,
            dtype=tf.float32,
        )
        return counts[:, FIRST_ITEM_INDEX:]


def ease_memory_bytes(num_items: int) -> int:
    """Estimated peak bytes of a dense EASE fit on `num_items` items (G, P, B in float64)."""
    return BYTES_PER_ITEM_PAIR * int(num_items) ** 2


def check_ease_fits(num_items: int, max_items: int = MAX_ITEMS, memory_budget_bytes: int = MEMORY_BUDGET_BYTES) -> None:
    """Raises `EaseTooLarge` (saying EASE is skipped and why) when the dense fit would not fit."""
    needed = ease_memory_bytes(num_items)
    if num_items > max_items or needed > memory_budget_bytes:
        raise EaseTooLarge(
            f"EASE skipped: {num_items} items need dense {num_items} x {num_items} matrices, about "
            f"{needed / 1024**3:.1f} GiB, above the limit of {max_items} items or "
            f"{memory_budget_bytes / 1024**3:.1f} GiB of memory."
        )


def catalog_events(events: Interactions, vocabulary: ItemVocabulary) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user ids, user row per event, catalog item per event) of the events whose item is in the catalog."""
    items = vocabulary.lookup(events.item_ids).astype(np.int64) - FIRST_ITEM_INDEX
    known = items >= 0
    users, rows = np.unique(events.user_ids[known], return_inverse=True)
    return users, rows, items[known]


def select_l2(
    train: Interactions,
    vocabulary: ItemVocabulary,
    l2_grid: Sequence[float] = L2_GRID,
    exclude_seen: bool = True,
    max_users: int = VALIDATION_MAX_USERS,
    seed: int = 0,
) -> dict:
    """Picks l2 by validation Recall@10 on each training user's last training event (see module doc).

    Returns:
        {"l2": the chosen value, "validation_recall@10": {str(l2): recall},
        "validation_users": number of held-out events scored}.
    """
    if not l2_grid:
        raise ValueError("l2_grid must hold at least one value.")
    held_out = leave_last_out(train)
    users, rows, items = catalog_events(held_out.train, vocabulary)
    targets = vocabulary.lookup(held_out.test.item_ids).astype(np.int64) - FIRST_ITEM_INDEX
    target_rows = np.searchsorted(users, held_out.test.user_ids)
    keep = (targets >= 0) & (target_rows < len(users))
    keep[keep] = users[target_rows[keep]] == held_out.test.user_ids[keep]
    if not keep.any():
        raise ValueError("No training user has two or more catalog events: EASE cannot choose l2.")
    chosen = np.flatnonzero(keep)
    if len(chosen) > max_users:
        chosen = np.sort(np.random.default_rng(seed).choice(chosen, max_users, replace=False))
    targets, target_rows = targets[chosen], target_rows[chosen]
    num_items = vocabulary.num_items
    user_vectors = multi_hot(*_rows_of(rows, items, target_rows), len(target_rows), num_items)
    exclusions = [np.flatnonzero(row) for row in user_vectors] if exclude_seen else None
    recalls = {}
    for l2 in l2_grid:
        solved = EaseClosedForm(rows, items, len(users), num_items, l2)
        ranks = []
        for start in range(0, len(targets), SCORE_CHUNK_USERS):
            chunk = slice(start, start + SCORE_CHUNK_USERS)
            chunk_exclusions = None if exclusions is None else exclusions[chunk]
            ranks.append(target_ranks(solved.scores(user_vectors[chunk]), targets[chunk], chunk_exclusions))
        recalls[l2] = recall_at_k(np.concatenate(ranks), VALIDATION_K)
    best = max(recalls, key=lambda l2: (recalls[l2], -list(l2_grid).index(l2)))
    return {
        "l2": float(best),
        f"validation_{VALIDATION_METRIC}": {f"{l2:g}": r for l2, r in recalls.items()},
        "validation_users": int(len(targets)),
    }


def with_seen_histories(examples: SequenceExamples) -> SequenceExamples:
    """The examples with `history` = every item had before the target, oldest first, right-padded."""
    starts, ends = examples.seen_bounds[:, 0], examples.seen_bounds[:, 1]
    lengths = ends - starts
    width = max(int(lengths.max()) if len(lengths) else 0, 1)
    positions = np.arange(width)
    valid = positions[None, :] < lengths[:, None]
    source = np.minimum(starts[:, None] + positions[None, :], max(len(examples.seen_items) - 1, 0))
    seen = examples.seen_items if len(examples.seen_items) else np.full(1, PAD_INDEX, np.int32)
    history = np.where(valid, seen[source], PAD_INDEX).astype(np.int32)
    return dataclasses.replace(examples, history=history)


def train_ease_baseline(
    config: ExperimentConfig,
    output_dir: str,
    data=None,
    l2_grid: Sequence[float] = L2_GRID,
    max_items: int = MAX_ITEMS,
    memory_budget_bytes: int = MEMORY_BUDGET_BYTES,
) -> dict:
    """Chooses l2, fits EASE, evaluates, writes config.json and metrics.json; returns the metrics.

    Raises:
        EaseTooLarge: the catalog exceeds `max_items` or `memory_budget_bytes`.
    """
    config.validate()
    os.makedirs(output_dir, exist_ok=True)
    config.to_json_file(os.path.join(output_dir, CONFIG_FILE))
    timings = {}
    started = time.time()
    experiment = prepare_experiment_data(config, data)
    timings["data_seconds"] = time.time() - started
    check_ease_fits(experiment.vocabulary.num_items, max_items, memory_budget_bytes)

    started = time.time()
    train_events = experiment.split.train
    selection = select_l2(
        train_events, experiment.vocabulary, l2_grid, experiment.split.excludes_seen_items, seed=config.train.seed
    )
    users, rows, items = catalog_events(train_events, experiment.vocabulary)
    solved = EaseClosedForm(rows, items, len(users), experiment.vocabulary.num_items, selection["l2"])
    baseline = EaseBaseline(solved.item_weights())
    timings["text_seconds"] = 0.0
    timings["train_seconds"] = time.time() - started

    started = time.time()
    no_tokens = np.zeros((experiment.vocabulary.size, 0), np.int32)  # the baseline reads no text
    assets = build_assets(experiment, experiment.data.catalog.texts(config.text.text_fields), no_tokens, None)
    metrics = evaluate_on_test(
        baseline,
        assets,
        experiment,
        config.train,
        with_seen_histories(experiment.test_examples),
        ranks_path(output_dir),
    )
    timings["eval_seconds"] = time.time() - started
    return write_baseline_metrics(metrics, EASE_MODEL_SOURCE, experiment, timings, output_dir, ease=selection)


def _rows_of(event_rows: np.ndarray, event_items: np.ndarray, wanted_rows: np.ndarray):
    """(position in `wanted_rows`, item) pairs of the events of the users `wanted_rows`."""
    position_of = np.full(int(event_rows.max()) + 1, -1, np.int64)
    position_of[wanted_rows] = np.arange(len(wanted_rows))
    positions = position_of[event_rows]
    wanted = positions >= 0
    return positions[wanted], event_items[wanted]
