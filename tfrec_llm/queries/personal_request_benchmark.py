"""Personal requests, measured: does a history personalise a request without losing what was asked?

For every request of a `TextQuerySet` file and every test user of the
model's own split with at least `MIN_SEEN_ITEMS` training items, the user's
training items in time order are cut in two: the first half is the history
sent with the request, the second half plus the test target are the
user's held-out items. Lists of 10 (history items excluded) are scored with
the blend of `personal_blend.py` for each history weight w; reported:
- request precision@10: share of the list carrying one of the request's
  attributes (the relevance of `bench-queries`);
- personal share@10: share of the list among the user's held-out items.
Users are split in two halves by position: the weight is chosen on the
validation half (the largest w whose precision stays within
`PRECISION_TOLERANCE` of w = 0 while the personal share rises), the other
half reports it. Caveat: the model trained on the held-out training items
(as item co-occurrences; it has no user ids).
"""

from typing import Sequence

import numpy as np

from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX
from tfrec_llm.queries.held_out_users import HeldOutUsers, catalog_rows
from tfrec_llm.queries.query_set import TextQuerySet

WEIGHTS = tuple(round(w, 1) for w in np.linspace(0.0, 1.0, 11))
MIN_SEEN_ITEMS = 10
LIST_LENGTH = 10
PRECISION_TOLERANCE = 0.10


def _user_inputs(users: HeldOutUsers, min_seen_items: int):
    """(history indices [U, H], history mask [U, N], held-out mask [U, N]) of the eligible test users."""
    examples = users.experiment.test_examples
    max_history = users.experiment.max_history
    num_items = len(users.item_vectors)
    histories, seen_masks, held_out_masks = [], [], []
    for i in range(len(examples)):
        seen = examples.seen_before(i)
        if len(seen) < min_seen_items or examples.target[i] < FIRST_ITEM_INDEX:
            continue
        half = len(seen) // 2
        history = np.zeros(max_history, np.int32)
        kept = seen[:half][-max_history:]
        history[: len(kept)] = kept
        seen_mask, held_out = np.zeros(num_items, bool), np.zeros(num_items, bool)
        seen_mask[catalog_rows(seen[:half])] = True
        held_out[catalog_rows(np.append(seen[half:], examples.target[i]))] = True
        histories.append(history)
        seen_masks.append(seen_mask)
        held_out_masks.append(held_out & ~seen_mask)
    return np.array(histories), np.array(seen_masks), np.array(held_out_masks)


def _list_shares(text_scores, user_scores, seen, held_out, relevant, weight):
    """(mean request precision@10, mean personal share@10) over every (request, user) pair."""
    precision, personal = [], []
    for q in range(len(text_scores)):
        scores = (1.0 - weight) * text_scores[q][None, :] + weight * user_scores
        scores[seen] = -np.inf
        top = np.argpartition(-scores, LIST_LENGTH - 1, axis=1)[:, :LIST_LENGTH]
        precision.append(relevant[q][top].mean())
        personal.append(np.take_along_axis(held_out, top, axis=1).mean())
    return float(np.mean(precision)), float(np.mean(personal))


def run_personal_request_benchmark(
    model_dir: str,
    queries_path: str,
    data_source: str = None,
    weights: Sequence[float] = WEIGHTS,
    data=None,
    min_seen_items: int = MIN_SEEN_ITEMS,
) -> dict:
    """{"curves": {split: {w: {"precision@10", "personal@10"}}}, "weight": chosen w, "targets": ...}.

    Args:
        model_dir: a trained model with text, over a catalog with attributes.
        queries_path: a `TextQuerySet` JSON file.
        data_source: its data, when config.json's source does not resolve here.
        weights: the grid of history weights w (must hold 0.0).
        data: an `InteractionData` to use instead of loading a source.
        min_seen_items: users with fewer training items are left out.
    """
    users = HeldOutUsers.load(model_dir, data_source, data)
    assets = users.trained.assets
    queries = TextQuerySet.read(queries_path, assets.attribute_names)
    relevant = queries.relevance(assets.item_attributes[FIRST_ITEM_INDEX:], assets.attribute_names)
    histories, seen, held_out = _user_inputs(users, min_seen_items)
    if len(histories) < 2:
        raise ValueError(f"{model_dir}: fewer than 2 test users with {min_seen_items}+ training items.")
    text_scores = users.text_vectors(queries.queries) @ users.item_vectors.T
    user_scores = users.user_vectors(histories) @ users.item_vectors.T
    halves = {"validation": np.arange(0, len(histories), 2), "test": np.arange(1, len(histories), 2)}
    curves = {}
    for split, rows in halves.items():
        curves[split] = {}
        for w in weights:
            p, s = _list_shares(text_scores, user_scores[rows], seen[rows], held_out[rows], relevant, w)
            curves[split][w] = {"precision@10": p, "personal@10": s}
    chosen = choose_weight(curves["validation"])
    plain, blended = curves["test"][0.0], curves["test"][chosen]
    return {
        "curves": curves,
        "weight": chosen,
        "users": {split: int(len(rows)) for split, rows in halves.items()},
        "requests": len(queries.queries),
        "encoder": users.trained.text_encoder.source,
        "targets": {
            "precision@10 within 10% of the request alone": {
                "value": blended["precision@10"],
                "peer": plain["precision@10"],
                "pass": bool(blended["precision@10"] >= (1 - PRECISION_TOLERANCE) * plain["precision@10"]),
            },
            "personal@10 above the request alone": {
                "value": blended["personal@10"],
                "peer": plain["personal@10"],
                "pass": bool(blended["personal@10"] > plain["personal@10"]),
            },
        },
    }


def choose_weight(curve: dict) -> float:
    """The largest w whose precision@10 is within tolerance of w = 0 and whose personal share beats it (else 0)."""
    plain = curve[0.0]
    fine = [
        w
        for w, values in curve.items()
        if values["precision@10"] >= (1 - PRECISION_TOLERANCE) * plain["precision@10"]
        and values["personal@10"] > plain["personal@10"]
    ]
    return max(fine, default=0.0)


def format_personal_request_report(report: dict) -> str:
    """Markdown: precision and personal share by weight for both halves, the chosen weight, the targets."""
    lines = [
        f"Personal requests: {report['requests']} requests x {report['users']['test']} test users "
        f"({report['users']['validation']} validation users); text encoder {report['encoder']}",
        "",
        "| w | validation precision@10 | validation personal@10 | test precision@10 | test personal@10 |",
        "|---|---|---|---|---|",
    ]
    for w, values in report["curves"]["validation"].items():
        test = report["curves"]["test"][w]
        marker = " (chosen)" if w == report["weight"] else ""
        lines.append(
            f"| {w:.1f}{marker} | {values['precision@10']:.4f} | {values['personal@10']:.4f} | "
            f"{test['precision@10']:.4f} | {test['personal@10']:.4f} |"
        )
    lines.append("")
    for name, t in report["targets"].items():
        lines.append(f"target {name}: {t['value']:.4f} vs {t['peer']:.4f}: {'pass' if t['pass'] else 'MISS'}")
    return "\n".join(lines)
