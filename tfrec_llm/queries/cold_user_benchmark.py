"""Cold users: test targets predicted from a taste profile and 0-3 interactions, measured.

Every test user of the model's own split plays a new user: the profile is
`attribute_profile` of the genres of their training interactions, the
interactions are their last 1..3 before the target. Scored (Recall@10 and
more, full catalog, pessimistic ties, the user's training items excluded as
in every evaluation here):
- `popularity`: training counts;
- `history_<n>`: the user tower over the last n interactions alone (n = 0:
  an empty history, what a user without history is served);
- `profile`: the profile embedded like a request, alone;
- `bert_profile`: the profile alone, scored by the frozen text encoder's own
  cosine with each item's text (BERT before the item tower's projection);
  `bert_profile+popularity`: z(that cosine) + beta * z(log(1 + count));
- `profile+history_<n>`: the blend (1 - w) * profile + w * user(last n)
  (`personal_blend.py`; n = 0 is the model's no-history prior), with w
  chosen on the validation targets (each user's last training event, its
  profile and history from the events before it), never on test, on a
  grid of 0.1 steps refined to 0.02 steps over [0.8, 1];
- `profile+history_<n>+bert`: that blend plus alpha * z(BERT cosine of the
  profile and each item, standardised per row) (`fused_scores`), alpha
  chosen on validation given the chosen w (alpha = 0 is the blend);
- `profile+history_<n>+bert+popularity`: the blend (its own w) plus
  alpha * z(BERT cosine) plus beta * the popularity prior
  (`with_popularity`): w and beta chosen together on validation (alpha =
  0), then alpha given them; with beta = 0 it is the row before. The blend
  `recommend --profile` serves.
Caveat: the model was trained on these users' other events (it has no
user ids: a user is only what its history says), so "cold" means only the
given profile and interactions reach the user tower.
"""

from typing import Dict, Optional, Sequence

import numpy as np

from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX
from tfrec_llm.evaluation.full_catalog_evaluator import FullCatalogEvaluator
from tfrec_llm.evaluation.paired_bootstrap import UserResamples, interval, share_at_least
from tfrec_llm.evaluation.ranking_metrics import per_example_values
from tfrec_llm.queries.held_out_users import HeldOutUsers, catalog_rows
from tfrec_llm.queries.personal_blend import (
    POPULARITY_PRIOR_WEIGHTS,
    SIMILARITY_WEIGHTS,
    blend_vectors,
    fused_query_vectors,
    standardized_rows,
)
from tfrec_llm.queries.user_profiles import attribute_profiles
from tfrec_llm.serving.catalog.item_popularity import popularity_prior
from tfrec_llm.training.model_evaluation import cut_histories
from tfrec_llm.unit_vectors import unit_rows

WEIGHTS = tuple(round(w, 1) for w in np.linspace(0.0, 0.7, 8)) + tuple(round(w, 2) for w in np.linspace(0.8, 1.0, 11))
BERT_POPULARITY_WEIGHTS = (0.25, 0.5, 1.0, 2.0, 4.0)
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
        "user_ids": examples.user_ids,
        "profiles": users.text_vectors([profiles[i] for i in keep]),
        "bert_profiles": unit_rows(users.text_features([profiles[i] for i in keep])),
        "users": {n: users.user_vectors(cut_histories(examples.history, n)) for n in HISTORY_SIZES},
        "full_history": users.user_vectors(examples.history),
        "skipped_without_profile": int(len(profiles) - len(keep)),
    }


def run_cold_user_benchmark(
    model_dir: str,
    data_source: str = None,
    weights: Sequence[float] = WEIGHTS,
    data=None,
    similarity_weights: Sequence[float] = SIMILARITY_WEIGHTS,
    prior_weights: Sequence[float] = POPULARITY_PRIOR_WEIGHTS,
) -> dict:
    """{"rows": {method: metrics on test}, "weights": {n: chosen w}, "similarity_weights": {n: chosen
    alpha}, "validation": {n: {w: recall@10}}, "similarity_validation": {n: {alpha: recall@10}}, ...}.

    Args:
        model_dir: a trained model with text, over a catalog with attributes.
        data_source: its data, when config.json's source does not resolve here.
        weights: the grid of history weights w.
        data: an `InteractionData` to use instead of loading a source.
        similarity_weights: the grid of BERT similarity weights alpha (0 included).
        prior_weights: the grid of popularity prior weights beta (0 included).
    """
    users = HeldOutUsers.load(model_dir, data_source, data)
    assets = users.trained.assets
    evaluator = FullCatalogEvaluator(assets.item_popularity[FIRST_ITEM_INDEX:], assets.cold_items[FIRST_ITEM_INDEX:])
    items = users.item_vectors

    item_features = unit_rows(users.item_text_features)
    log_popularity = standardized_rows(np.log1p(assets.item_popularity[FIRST_ITEM_INDEX:])[None, :])[0][:, None]

    rows, row_ranks = {}, {}  # test rows: method -> metrics, and each example's target rank

    def evaluate(inputs, vectors, item_table=items, row=None) -> Dict[str, float]:
        """The metrics of `vectors`; with `row`, also kept as that test row (metrics and ranks)."""
        report, ranks, _ = evaluator.evaluate_with_ranks(
            vectors, item_table, inputs["targets"], inputs["exclusions"], inputs["activity"]
        )
        metrics = {k: report["overall"][k] for k in REPORTED + ("n",)}
        if row is not None:
            rows[row], row_ranks[row] = metrics, ranks
        return metrics

    prior = popularity_prior(assets.item_popularity[FIRST_ITEM_INDEX:])[:, None]

    def fused(inputs, n, w, alpha, beta=0.0, row=None) -> Dict[str, float]:  # query . v + alpha z(cos) + beta prior
        blend = blend_vectors(inputs["profiles"], inputs["users"][n], w)
        queries, table = fused_query_vectors(blend, items, inputs["bert_profiles"], item_features, alpha)
        queries = np.concatenate([queries, np.full((len(queries), 1), beta, np.float32)], axis=1)
        return evaluate(inputs, queries, np.concatenate([table, prior], axis=1).astype(np.float32), row)

    def bert_popularity(inputs, beta, row=None) -> Dict[str, float]:  # z(cos) + beta * z(log popularity)
        cosines = inputs["bert_profiles"] @ item_features.T
        spread = cosines.std(axis=1, keepdims=True)
        queries = np.concatenate([inputs["bert_profiles"] / spread, np.full((len(spread), 1), beta)], axis=1)
        table = np.concatenate([item_features, log_popularity], axis=1)
        return evaluate(inputs, queries.astype(np.float32), table, row)

    validation = _split_inputs(users, users.experiment.validation_examples())
    test = _split_inputs(users, users.experiment.test_examples)
    curves, chosen = {}, {}
    for n in HISTORY_SIZES:
        curves[n] = {
            w: evaluate(validation, blend_vectors(validation["profiles"], validation["users"][n], w))[TARGET_METRIC]
            for w in weights
        }
        chosen[n] = max(weights, key=lambda w, n=n: (curves[n][w], -w))  # best on validation; ties: the smaller w
    similarity_curves, alphas = {}, {}
    for n in HISTORY_SIZES:
        similarity_curves[n] = {a: fused(validation, n, chosen[n], a)[TARGET_METRIC] for a in similarity_weights}
        alphas[n] = max(similarity_weights, key=lambda a, n=n: (similarity_curves[n][a], -a))  # ties: the smaller
    prior_curves, served = {}, {}  # served[n] = (w, alpha, beta) of the profile + popularity blend
    for n in HISTORY_SIZES:
        grid = {(w, b): fused(validation, n, w, 0.0, b)[TARGET_METRIC] for w in weights for b in prior_weights}
        w, b = max(grid, key=lambda wb, grid=grid: (grid[wb], -wb[1], -wb[0]))  # ties: the smaller beta, then w
        prior_curves[n] = {beta: max(r for (_, bb), r in grid.items() if bb == beta) for beta in prior_weights}
        at = {a: fused(validation, n, w, a, b)[TARGET_METRIC] for a in similarity_weights}
        served[n] = (w, max(similarity_weights, key=lambda a, at=at: (at[a], -a)), b)
    betas = {b: bert_popularity(validation, b)[TARGET_METRIC] for b in BERT_POPULARITY_WEIGHTS}
    beta = max(BERT_POPULARITY_WEIGHTS, key=lambda b: (betas[b], -b))
    popularity = assets.item_popularity[FIRST_ITEM_INDEX:].astype(np.float32)[:, None]
    evaluate(test, np.ones((len(test["targets"]), 1), np.float32), popularity, row="popularity")
    for n in HISTORY_SIZES:
        evaluate(test, test["users"][n], row=f"history_{n}")
    evaluate(test, test["full_history"], row="history_all")
    evaluate(test, test["profiles"], row="profile")
    evaluate(test, test["bert_profiles"], item_features, row="bert_profile")
    bert_popularity(test, beta, row="bert_profile+popularity")
    for n in HISTORY_SIZES:
        blend = blend_vectors(test["profiles"], test["users"][n], chosen[n])
        evaluate(test, blend, row=f"profile+history_{n}")
        fused(test, n, chosen[n], alphas[n], row=f"profile+history_{n}+bert")
        fused(test, n, *served[n], row=f"profile+history_{n}+bert+popularity")
    test_curves = {
        n: {w: evaluate(test, blend_vectors(test["profiles"], test["users"][n], w))[TARGET_METRIC] for w in weights}
        for n in HISTORY_SIZES
    }
    return {
        "rows": rows,
        "weights": chosen,
        "similarity_weights": alphas,
        "popularity_weight": beta,
        "served_weights": {n: dict(zip(("w", "alpha", "beta"), served[n])) for n in HISTORY_SIZES},
        "prior_validation": prior_curves,
        "validation": curves,
        "similarity_validation": similarity_curves,
        "popularity_validation": betas,
        "test_curves": test_curves,
        "encoder": users.trained.text_encoder.source,
        "skipped_without_profile": {
            "validation": validation["skipped_without_profile"],
            "test": test["skipped_without_profile"],
        },
        "targets": cold_user_targets(rows, row_ranks, test["user_ids"]),
    }


SERVED_BLEND = "profile+history_1+bert+popularity"


def cold_user_targets(rows: dict, row_ranks: Optional[dict] = None, user_ids=None) -> dict:
    """Issue 10's target: profile + 1 interaction beats popularity and 1 interaction alone on Recall@10
    (the served blend, `SERVED_BLEND`: the plain blend where alpha = beta = 0 won).

    With the rows' per-example ranks and the examples' `user_ids`, each
    comparison also gets the paired bootstrap over the test users
    (`paired_bootstrap`) of the gap (blend - peer): `gap_ci95` and
    `pass_share`, the share of draws on which the blend is strictly ahead.
    """
    blend = rows[SERVED_BLEND][TARGET_METRIC]
    resamples = None if row_ranks is None else UserResamples(user_ids)  # one set of draws for every row

    def drawn(row):
        return resamples.means(per_example_values(row_ranks[row], TARGET_METRIC), np.ones(len(user_ids), bool))

    targets = {}
    for peer in ("popularity", "history_1"):
        target = {"value": blend, "peer": rows[peer][TARGET_METRIC], "pass": bool(blend > rows[peer][TARGET_METRIC])}
        if resamples is not None:
            gaps = drawn(SERVED_BLEND) - drawn(peer)
            target["gap_ci95"] = list(interval(gaps))
            target["pass_share"] = share_at_least(gaps, strictly=True)
        targets[f"{SERVED_BLEND} vs {peer}"] = target
    return targets


def format_cold_user_report(report: dict) -> str:
    """Markdown: the methods on test, the chosen weights and the validation curves."""
    lines = [f"Cold users (text encoder {report['encoder']}); test targets", ""]
    lines += [
        "| method | weights (validation) | " + " | ".join(REPORTED) + " | n |",
        "|---|---|" + "---|" * (len(REPORTED) + 1),
    ]
    for name, metrics in report["rows"].items():
        cells = " | ".join(f"{metrics[k]:.4f}" for k in REPORTED)
        lines.append(f"| {name} | {_row_weights(report, name)} | {cells} | {metrics['n']} |")
    lines += ["", "Recall@10 by history weight w (validation -> chosen; test for reference):", ""]
    weights = list(next(iter(report["validation"].values())))
    lines += [
        "| interactions | split | " + " | ".join(f"{w:g}" for w in weights) + " |",
        "|---|---|" + "---|" * len(weights),
    ]
    for n in report["validation"]:
        for split, curves in (("validation", report["validation"]), ("test", report["test_curves"])):
            lines.append(f"| {n} | {split} | " + " | ".join(f"{curves[n][w]:.4f}" for w in weights) + " |")
    alphas = list(next(iter(report["similarity_validation"].values())))
    lines += ["", "Validation Recall@10 by BERT similarity weight alpha (at the chosen w):", ""]
    lines += ["| interactions | " + " | ".join(f"{a:g}" for a in alphas) + " |", "|---|" + "---|" * len(alphas)]
    for n, curve in report["similarity_validation"].items():
        lines.append(f"| {n} | " + " | ".join(f"{curve[a]:.4f}" for a in alphas) + " |")
    betas = list(next(iter(report["prior_validation"].values())))
    lines += ["", "Validation Recall@10 by popularity prior weight beta (alpha = 0, the best w at each beta):", ""]
    lines += ["| interactions | " + " | ".join(f"{b:g}" for b in betas) + " |", "|---|" + "---|" * len(betas)]
    for n, curve in report["prior_validation"].items():
        lines.append(f"| {n} | " + " | ".join(f"{curve[b]:.4f}" for b in betas) + " |")
    lines += [""] + [
        f"target {name}: {t['value']:.4f} vs {t['peer']:.4f}: {'pass' if t['pass'] else 'MISS'}" + _sureness(t)
        for name, t in report["targets"].items()
    ]
    return "\n".join(lines)


def _sureness(target: dict) -> str:
    if "gap_ci95" not in target:
        return ""
    low, high = target["gap_ci95"]
    return f" (gap 95% interval [{low:+.4f}, {high:+.4f}], ahead on {target['pass_share']:.0%} of draws of the users)"


def _row_weights(report: dict, name: str) -> str:
    """The validation-chosen weights of a row ("-" for rows without any)."""
    if name == "bert_profile+popularity":
        return f"beta={report['popularity_weight']:g}"
    if not name.startswith("profile+"):
        return "-"
    n = int(name.split("_", 1)[1].split("+")[0])
    if name.endswith("+popularity"):
        return ", ".join(f"{key}={value:g}" for key, value in report["served_weights"][n].items())
    text = f"w={report['weights'][n]:g}"
    return text + f", alpha={report['similarity_weights'][n]:g}" if name.endswith("+bert") else text
