"""Full-catalog evaluation: ranks, strata, list metrics and reports (NumPy only)."""

from tfrec_llm.evaluation.evaluation_report import format_report_markdown, report_to_json
from tfrec_llm.evaluation.full_catalog_evaluator import FullCatalogEvaluator
from tfrec_llm.evaluation.list_metrics import gini
from tfrec_llm.evaluation.ranking_metrics import (
    mean_reciprocal_rank,
    ndcg_at_k,
    recall_at_k,
    target_ranks,
    top_k_items,
    wilson_interval,
)

__all__ = [
    "FullCatalogEvaluator",
    "format_report_markdown",
    "gini",
    "mean_reciprocal_rank",
    "ndcg_at_k",
    "recall_at_k",
    "report_to_json",
    "target_ranks",
    "top_k_items",
    "wilson_interval",
]
