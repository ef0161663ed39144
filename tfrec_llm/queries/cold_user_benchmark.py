"""Cold users: test targets predicted from a taste profile and 0-3 interactions, measured.

Every test user of the model's own split plays a new user: the profile is
`attribute_profile` of the genres of their training interactions, the
interactions are their last 1..3 before the target. Scored (Recall@10 and
more, full catalog, pessimistic ties, the user's training items excluded as
in every evaluation here):
- `popularity`: training counts;
- `history_<n>`: the user tower over the last n interactions alone;
- `profile`: the profile embedded like a request, alone;
- `profile+history_<n>`: the blend (1 - w) * profile + w * user(last n)
  (`personal_blend.py`; n = 0 is the model's no-history prior), with w
  chosen on the validation targets (each user's last training event, its
  profile and history from the events before it), never on test.
Caveat: the model was trained on these users' other events (it has no
user ids: a user is only what its history says), so "cold" means only the
given profile and interactions reach the user tower.
"""

from typing import Dict, Sequence

import numpy as np

from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX
from tfrec_llm.evaluation.full_catalog_evaluator import FullCatalogEvaluator
from tfrec_llm.queries.held_out_users import HeldOutUsers, catalog_rows
from tfrec_llm.queries.personal_blend import blend_vectors
from tfrec_llm.queries.user_profiles import attribute_profiles
from tfrec_llm.training.model_evaluation import cut_histories

WEIGHTS = tuple(round(w, 1) for w in np.linspace(0.0, 1.0, 11))
HISTORY_SIZES = (0, 1, 2, 3)
TARGET_METRIC = "recall@10"
REPORTED = ("recall@10", "recall@50", "ndcg@10", "mrr")


def _split_inputs(users: HeldOutUsers, examples) -> dict:
    """Targets, exclusions, profiles and per-history-size user vectors of one example set."""
    examples = examples.subset(np.flatnonzero(examples.target >= FIRST_ITEM_INDEX))
    seen = [examples.seen_before(i) for i in range(len(examples))]
    profiles = attribute_profiles(users.item_attributes, seen, users.trained.assets.attribute_names)
    keep = np.flatnonzero([bool(p) for p in profiles])  # a user whose items carry no attribute has no profile
    examples = examples.subset(keep)
    return {
        "targets": (examples.target - FIRST_ITEM_INDEX).astype(np.int64),
        "exclusions": [catalog_rows(seen[i]) for i in keep],
        "activity": examples.user_activity,
        "profiles": users.text_vectors([profiles[i] for i in keep]),
        "users": {n: users.user_vectors(cut_histories(examples.history, n)) for n in HISTORY_SIZES},
        "full_history": users.user_vectors(examples.history),
        "skipped_without_profile": int(len(profiles) - len(keep)),
    }


def run_cold_user_benchmark(
    model_dir: str, data_source: str = None, weights: Sequence[float] = WEIGHTS, data=None
) -> dict:
    """{"rows": {method: metrics on test}, "weights": {n: chosen w}, "validation": {n: {w: recall@10}}, ...}.

    Args:
        model_dir: a trained model with text, over a catalog with attributes.
        data_source: its data, when config.json's source does not resolve here.
        weights: the grid of history weights w.
        data: an `InteractionData` to use instead of loading a source.
    """
    users = HeldOutUsers.load(model_dir, data_source, data)
    assets = users.trained.assets
    evaluator = FullCatalogEvaluator(assets.item_popularity[FIRST_ITEM_INDEX:], assets.cold_items[FIRST_ITEM_INDEX:])
    items = users.item_vectors

    def evaluate(inputs, vectors) -> Dict[str, float]:
        report = evaluator.evaluate(vectors, items, inputs["targets"], inputs["exclusions"], inputs["activity"])
        return {k: report["overall"][k] for k in REPORTED + ("n",)}

    validation = _split_inputs(users, users.experiment.validation_examples())
    test = _split_inputs(users, users.experiment.test_examples)
    curves, chosen = {}, {}
    for n in HISTORY_SIZES:
        curves[n] = {
            w: evaluate(validation, blend_vectors(validation["profiles"], validation["users"][n], w))[TARGET_METRIC]
            for w in weights
        }
        chosen[n] = max(weights, key=lambda w, n=n: (curves[n][w], -w))  # best on validation; ties: the smaller w
    popularity = assets.item_popularity[FIRST_ITEM_INDEX:].astype(np.float32)[:, None]
    rows = {
        "popularity": evaluator.evaluate(
            np.ones((len(test["targets"]), 1), np.float32),
            popularity,
            test["targets"],
            test["exclusions"],
            test["activity"],
        )["overall"]
    }
    rows["popularity"] = {k: rows["popularity"][k] for k in REPORTED + ("n",)}
    for n in HISTORY_SIZES[1:]:
        rows[f"history_{n}"] = evaluate(test, test["users"][n])
    rows["history_all"] = evaluate(test, test["full_history"])
    rows["profile"] = evaluate(test, test["profiles"])
    for n in HISTORY_SIZES:
        rows[f"profile+history_{n}"] = evaluate(test, blend_vectors(test["profiles"], test["users"][n], chosen[n]))
    test_curves = {
        n: {w: evaluate(test, blend_vectors(test["profiles"], test["users"][n], w))[TARGET_METRIC] for w in weights}
        for n in HISTORY_SIZES
    }
    return {
        "rows": rows,
        "weights": chosen,
        "validation": curves,
        "test_curves": test_curves,
        "encoder": users.trained.text_encoder.source,
        "skipped_without_profile": {
            "validation": validation["skipped_without_profile"],
            "test": test["skipped_without_profile"],
        },
        "targets": cold_user_targets(rows),
    }


def cold_user_targets(rows: dict) -> dict:
    """Issue 10's target: profile + 1 interaction beats popularity and 1 interaction alone on Recall@10."""
    blend = rows["profile+history_1"][TARGET_METRIC]
    return {
        f"profile+history_1 vs {peer}": {
            "value": blend,
            "peer": rows[peer][TARGET_METRIC],
            "pass": bool(blend > rows[peer][TARGET_METRIC]),
        }
        for peer in ("popularity", "history_1")
    }


def format_cold_user_report(report: dict) -> str:
    """Markdown: the methods on test, the chosen weights and the validation curves."""
    lines = [f"Cold users (text encoder {report['encoder']}); test targets", ""]
    lines += [
        "| method | history weight w | " + " | ".join(REPORTED) + " | n |",
        "|---|---|" + "---|" * (len(REPORTED) + 1),
    ]
    for name, metrics in report["rows"].items():
        n = int(name.rsplit("_", 1)[1]) if name.startswith("profile+") else None
        weight = f"{report['weights'][n]:.1f}" if n is not None else "-"
        cells = " | ".join(f"{metrics[k]:.4f}" for k in REPORTED)
        lines.append(f"| {name} | {weight} | {cells} | {metrics['n']} |")
    lines += ["", "Recall@10 by history weight w (validation -> chosen; test for reference):", ""]
    weights = list(next(iter(report["validation"].values())))
    lines += [
        "| interactions | split | " + " | ".join(f"{w:.1f}" for w in weights) + " |",
        "|---|---|" + "---|" * len(weights),
    ]
    for n in report["validation"]:
        for split, curves in (("validation", report["validation"]), ("test", report["test_curves"])):
            lines.append(f"| {n} | {split} | " + " | ".join(f"{curves[n][w]:.4f}" for w in weights) + " |")
    lines += [""] + [
        f"target {name}: {t['value']:.4f} vs {t['peer']:.4f}: {'pass' if t['pass'] else 'MISS'}"
        for name, t in report["targets"].items()
    ]
    return "\n".join(lines)
