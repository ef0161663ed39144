"""Accuracy vs diversity and tail exposure of re-ranked lists, over a grid of (lambda, beta).

Each test example of a trained model gets its C best items (full-catalog
scores, seen items excluded, as in the evaluation), re-ranked by
`serving.reranking.rerank` to a top-k list. Per grid point: Recall@k and
NDCG@k of the held-out target in that list, intra-list diversity (the
evaluator's item features: text features, else attributes), tail share
(tail or cold items, head = items holding 80% of training interactions),
catalog coverage and exposure Gini (`evaluation/list_metrics.py`).

The target: some point keeps Recall@k within 5% of the un-reranked list
(lambda = beta = 0) while its tail share or coverage is >= 1.5x.

Example:
    lists = candidate_lists("runs/ml-100k")
    rows = tradeoff_rows(lists, diversities=(0, 0.3), tail_boosts=(0, 0.5))
    print(format_tradeoff(rows))
"""

import dataclasses
from typing import List, Sequence

import numpy as np

from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX
from tfrec_llm.evaluation import list_metrics, strata
from tfrec_llm.evaluation.ranking_metrics import EMPTY_SLOT, mask_excluded_items, top_k_items
from tfrec_llm.serving.reranking import rerank, tailness_from_popularity

RECALL_TOLERANCE = 0.05
EXPOSURE_GAIN = 1.5
BATCH = 512


@dataclasses.dataclass
class CandidateLists:
    """Per test example: the C best catalog items (-1 = none) and their scores; per item: what metrics need.

    Example:
        lists = CandidateLists(items, scores, targets, vectors, popularity, cold, features)
    """

    items: np.ndarray  # int [n, C] catalog indices, best first
    scores: np.ndarray  # float32 [n, C], -inf for empty slots
    targets: np.ndarray  # int [n] catalog index of the held-out item
    item_vectors: np.ndarray  # float32 [N, d] item embeddings (what MMR compares)
    item_popularity: np.ndarray  # [N] training interactions
    cold_items: np.ndarray  # bool [N]
    diversity_features: np.ndarray  # [N, f] features of intra-list diversity


def candidate_lists(model_dir: str, num_candidates: int = 100) -> CandidateLists:
    """The test examples' candidates from a trained model directory (its own data and split)."""
    from tfrec_llm.training.model_evaluation import catalog_embeddings, query_embeddings
    from tfrec_llm.training.trained_model import TrainedModel

    trained = TrainedModel.load(model_dir)
    assets = trained.assets
    examples = test_examples(trained)
    table = catalog_embeddings(trained.model, assets.num_index_rows)
    users = query_embeddings(trained.model, examples.features(), table)
    targets = examples.target - FIRST_ITEM_INDEX
    exclusions = [s[s >= FIRST_ITEM_INDEX] - FIRST_ITEM_INDEX for s in map(examples.seen_before, range(len(examples)))]
    items, scores = [], []
    for start in range(0, len(users), BATCH):
        part = slice(start, start + BATCH)
        masked = mask_excluded_items(users[part] @ table[FIRST_ITEM_INDEX:].T, targets[part], exclusions[part])
        top = top_k_items(masked, num_candidates)
        items.append(top)
        scores.append(np.where(top == EMPTY_SLOT, -np.inf, np.take_along_axis(masked, np.maximum(top, 0), 1)))
    features = assets.text_features if assets.text_features is not None else assets.item_attributes
    return CandidateLists(
        np.concatenate(items),
        np.concatenate(scores).astype(np.float32),
        targets,
        table[FIRST_ITEM_INDEX:],
        assets.item_popularity[FIRST_ITEM_INDEX:],
        assets.cold_items[FIRST_ITEM_INDEX:],
        features[FIRST_ITEM_INDEX:] if features is not None else table[FIRST_ITEM_INDEX:],
    )


def test_examples(trained):
    """The trained model's test examples with a catalog target (its own data source and split)."""
    from tfrec_llm.training.experiment_data import load_source, prepare_experiment_data, vocabularies_from_assets

    data = load_source(trained.config)
    vocabulary, context = vocabularies_from_assets(trained.assets, data.user_features)
    examples = prepare_experiment_data(trained.config, data, vocabulary, context).test_examples
    return examples.subset(np.flatnonzero(examples.target >= FIRST_ITEM_INDEX))


def reranked_lists(lists: CandidateLists, k: int, diversity: float, tail_boost: float) -> np.ndarray:
    """int [n, k] catalog indices (-1 = empty) of the re-ranked top-k lists."""
    tailness = tailness_from_popularity(lists.item_popularity)
    out = []
    for start in range(0, len(lists.items), BATCH):
        items = lists.items[start : start + BATCH]
        safe = np.maximum(items, 0)
        positions = rerank(
            lists.scores[start : start + BATCH], lists.item_vectors[safe], tailness[safe], k, diversity, tail_boost
        )
        chosen = np.take_along_axis(items, np.maximum(positions, 0), 1)
        out.append(np.where(positions < 0, EMPTY_SLOT, chosen))
    return np.concatenate(out)


def list_quality(lists: CandidateLists, top: np.ndarray) -> dict:
    """Recall, NDCG of the targets in `top` [n, k] and the list metrics."""
    k = top.shape[1]
    hit = top == lists.targets[:, None]
    positions = np.argmax(hit, axis=1)
    found = hit.any(axis=1)
    item_strata = strata.item_strata(lists.item_popularity, lists.cold_items, strata.DEFAULT_HEAD_SHARE)
    tail = item_strata[strata.TAIL] | item_strata[strata.COLD_ITEMS]
    num_items = len(lists.item_popularity)
    return {
        f"recall@{k}": float(found.mean()),
        f"ndcg@{k}": float(np.where(found, 1.0 / np.log2(positions + 2.0), 0.0).mean()),
        f"intra_list_diversity@{k}": list_metrics.intra_list_diversity(top, lists.diversity_features),
        f"tail_share@{k}": list_metrics.tail_share(top, tail),
        f"coverage@{k}": list_metrics.catalog_coverage(top, num_items),
        f"exposure_gini@{k}": list_metrics.exposure_gini(top, num_items),
    }


def tradeoff_rows(
    lists: CandidateLists, diversities: Sequence[float], tail_boosts: Sequence[float], k: int = 10
) -> List[dict]:
    """One row per (diversity, tail_boost): the settings and `list_quality`; (0, 0) comes first."""
    grid = [(0.0, 0.0)] + [(d, b) for b in tail_boosts for d in diversities if (d, b) != (0.0, 0.0)]
    return [dict(diversity=d, tail_boost=b, **list_quality(lists, reranked_lists(lists, k, d, b))) for d, b in grid]


def target_point(rows: List[dict], k: int = 10) -> dict:
    """The best point for the target: among rows with Recall@k >= 95% of the plain list, the largest exposure gain.

    Returns {"row", "recall_ratio", "tail_share_gain", "coverage_gain", "passed"}.
    """
    plain = rows[0]
    recall, tail, coverage = f"recall@{k}", f"tail_share@{k}", f"coverage@{k}"

    def gain(row):
        return max(row[tail] / max(plain[tail], 1e-12), row[coverage] / max(plain[coverage], 1e-12))

    eligible = [r for r in rows[1:] if r[recall] >= (1 - RECALL_TOLERANCE) * plain[recall]] or rows[:1]
    best = max(eligible, key=gain)
    return {
        "row": best,
        "recall_ratio": best[recall] / max(plain[recall], 1e-12),
        "tail_share_gain": best[tail] / max(plain[tail], 1e-12),
        "coverage_gain": best[coverage] / max(plain[coverage], 1e-12),
        "passed": best is not plain and gain(best) >= EXPOSURE_GAIN,
    }


def format_tradeoff(rows: List[dict]) -> str:
    """A markdown table, one line per grid point."""
    keys = [k for k in rows[0] if k not in ("diversity", "tail_boost")]
    lines = ["| lambda | beta | " + " | ".join(keys) + " |", "|---" * (len(keys) + 2) + "|"]
    for row in rows:
        cells = ["-" if row[k] is None else f"{row[k]:.4f}" for k in keys]
        lines.append(f"| {row['diversity']:.2f} | {row['tail_boost']:.2f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_tradeoff(rows: List[dict], path: str, k: int = 10) -> str:
    """Recall@k against tail share and against coverage, one line per tail boost (points: lambda); returns `path`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # pylint: disable=import-outside-toplevel
    from matplotlib.figure import Figure  # pylint: disable=import-outside-toplevel

    figure = Figure(figsize=(11.0, 4.5), dpi=100)
    for column, measure in enumerate((f"tail_share@{k}", f"coverage@{k}")):
        axes = figure.add_subplot(1, 2, column + 1)
        for boost in sorted({r["tail_boost"] for r in rows}):
            line = sorted((r for r in rows if r["tail_boost"] == boost), key=lambda r: r["diversity"])
            axes.plot([r[measure] for r in line], [r[f"recall@{k}"] for r in line], marker="o", label=f"beta={boost:g}")
            for r in line:
                axes.annotate(f"{r['diversity']:g}", (r[measure], r[f"recall@{k}"]), fontsize=7)
        axes.axhline((1 - RECALL_TOLERANCE) * rows[0][f"recall@{k}"], color="grey", linestyle=":", linewidth=1)
        axes.set_xlabel(measure)
        axes.set_ylabel(f"recall@{k}")
        axes.set_title(f"recall@{k} vs {measure} (labels: lambda)")
        axes.legend(fontsize=8)
    figure.tight_layout()
    FigureCanvasAgg(figure).print_figure(path)
    return path
