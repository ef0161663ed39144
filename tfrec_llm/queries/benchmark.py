"""How well natural-language requests find their items: the model against simpler scorers.

`run_text_query_benchmark(model_dir, queries_path)` scores every catalog
item for each request of a `TextQuerySet` file with:
- `chance`: a random ranking (its expected precision is the share of
  relevant items);
- `tfidf`: exact-word search (`TfidfScorer`) over the item texts;
- `text_encoder`: the BERT encoder alone, cosine of mean-pooled vectors
  (request vs item text), no recommender training;
- `model`: the trained item tower's text path (`TextQueryRetriever`), what
  `tfrec-llm recommend --query` serves: the request against the items'
  served (id + text) embeddings;
- `model_text_path`: a diagnostic, the same request vector against the
  items' text-path vectors alone (L2-normalised), i.e. how much of the
  request's meaning the trained text projection keeps, apart from the
  id part of warm items' embeddings;
- `model+text_encoder`: what `recommend --query` and the `text_retrieval`
  export's `serving_default` serve: `model` + alpha * z(`text_encoder`)
  (per-row standardisation; `personal_blend.fused_scores`) with the
  equal-spread rule, blind to relevance: each request's alpha is the std of
  its own `model` scores (`fusion_weight` reports their median).
and reports `text_query_metrics` for each. Relevance comes from the
catalog's attributes (genres, topics), never from the model.
"""

import numpy as np

from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX
from tfrec_llm.queries.metrics import PRECISION_KS, text_query_metrics
from tfrec_llm.queries.personal_blend import EQUAL_SPREAD, equal_spread_weight, fused_cosine_scores
from tfrec_llm.queries.query_set import TextQuerySet
from tfrec_llm.queries.tfidf_scorer import TfidfScorer
from tfrec_llm.queries.retriever import TextQueryRetriever
from tfrec_llm.training.trained_model import TrainedModel
from tfrec_llm.unit_vectors import unit_rows

SCORERS = ("chance", "tfidf", "text_encoder", "model", "model_text_path", "model+text_encoder")
PER_QUERY_METRIC = "precision@10"
TEXT_PATH_BATCH = 1024


def run_text_query_benchmark(model_dir: str, queries_path: str, seed: int = 0) -> dict:
    """{"models": {scorer: metrics}, "queries": [per-request precision@10 of each scorer], "encoder": ...}."""
    trained = TrainedModel.load(model_dir)
    assets = trained.assets
    if not trained.config.model.use_text or assets.item_attributes is None:
        raise ValueError(
            f"{model_dir}: text requests need a model that reads item text and a catalog with "
            "attributes (they define which items are relevant)."
        )
    queries = TextQuerySet.read(queries_path, assets.attribute_names)
    relevant = queries.relevance(assets.item_attributes[FIRST_ITEM_INDEX:], assets.attribute_names)
    empty = [q for q, row in zip(queries.queries, relevant) if not row.any()]
    if empty:
        raise ValueError(f"{queries_path}: no catalog item is relevant to {empty[:3]}.")
    retriever = TextQueryRetriever.from_trained_model(trained)
    request_vectors = retriever.query_vectors(queries.queries)
    scores = {
        "chance": np.random.default_rng(seed).random(relevant.shape),
        "tfidf": TfidfScorer(assets.item_texts).scores(queries.queries),
        "text_encoder": _encoder_cosines(trained, queries.queries),
        "model": request_vectors @ retriever.catalog.item_vectors.T,
        "model_text_path": request_vectors @ _text_path_vectors(trained, len(assets.item_ids)).T,
    }
    fusion_weight = equal_spread_weight(scores["model"])  # the median of the per-request alphas
    scores["model+text_encoder"] = fused_cosine_scores(scores["model"], scores["text_encoder"], EQUAL_SPREAD)
    ks = tuple(k for k in PRECISION_KS if k <= relevant.shape[1])
    models = {name: text_query_metrics(scores[name], relevant, ks) for name in SCORERS}
    per_query = []
    for row, query in enumerate(queries.queries):
        entry = {"query": query, "attributes": queries.attributes[row], "relevant": int(relevant[row].sum())}
        for name in SCORERS:
            entry[name] = text_query_metrics(scores[name][row : row + 1], relevant[row : row + 1], ks)[PER_QUERY_METRIC]
        per_query.append(entry)
    return {
        "models": models,
        "queries": per_query,
        "encoder": trained.text_encoder.source,
        "pretrained": bool(trained.text_encoder.pretrained),
        "num_items": int(relevant.shape[1]),
        "fusion_weight": fusion_weight,
    }


def _encoder_cosines(trained, queries) -> np.ndarray:
    """Cosines of mean-pooled BERT vectors: the frozen cache where there is one, else one pass over the catalog."""
    encoder, assets = trained.text_encoder, trained.assets
    if assets.text_features is not None:
        item_vectors = assets.text_features[FIRST_ITEM_INDEX:]
    else:  # fine-tuned BERT: its current weights, over the token table the model reads
        item_vectors = encoder.encode(assets.token_ids[FIRST_ITEM_INDEX:])
    request_vectors = encoder.encode(encoder.tokenize(queries, assets.token_ids.shape[1]))
    return unit_rows(request_vectors) @ unit_rows(item_vectors).T


def _text_path_vectors(trained, num_items: int) -> np.ndarray:
    """L2-normalised text-path vectors [N, d] of the catalog items, in batches."""
    tower = trained.model.item_tower
    indices = np.arange(FIRST_ITEM_INDEX, FIRST_ITEM_INDEX + num_items, dtype=np.int32)
    parts = [
        tower.text_vectors(indices[start : start + TEXT_PATH_BATCH]).numpy()
        for start in range(0, num_items, TEXT_PATH_BATCH)
    ]
    vectors = np.concatenate(parts).astype(np.float32)
    if tower.paths:  # fusion "paths": the text half, beside a zero id half (as requests are embedded)
        vectors = np.concatenate([np.zeros_like(vectors), vectors], axis=1)
    return unit_rows(vectors)


def format_text_query_report(report: dict) -> str:
    """A markdown table of the scorers and the per-request precision@10."""
    keys = [k for k in report["models"]["model"] if k.startswith("precision@")]
    encoder = f"{report['encoder']} ({'pretrained' if report['pretrained'] else 'NOT pretrained'})"
    lines = [
        f"Natural-language requests: {report['models']['model']['n']} requests over "
        f"{report['num_items']} items; text encoder {encoder}",
        "",
        "| scorer | " + " | ".join(keys) + " | MRR |",
        "|---|" + "---|" * (len(keys) + 1),
    ]
    for name, metrics in report["models"].items():
        lines.append(f"| {name} | " + " | ".join(f"{metrics[k]:.3f}" for k in keys) + f" | {metrics['mrr']:.3f} |")
    lines += [
        "",
        "| request | attributes | relevant | " + " | ".join(SCORERS) + " |",
        "|---|---|---|" + "---|" * len(SCORERS),
    ]
    for entry in report["queries"]:
        cells = " | ".join(f"{entry[name]:.1f}" for name in SCORERS)  # precision@10: tenths
        lines.append(f"| {entry['query']} | {', '.join(entry['attributes'])} | {entry['relevant']} | {cells} |")
    return "\n".join(lines)
