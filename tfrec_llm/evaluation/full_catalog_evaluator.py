"""Full-catalog evaluation of a retrieval model, overall and per stratum.

Every test example's target is ranked against the WHOLE catalog (no sampled
negatives), with the items the user already had excluded. The report's shape
is documented in `tfrec_llm.evaluation.evaluation_report`; the tie rule in
`tfrec_llm.evaluation.ranking_metrics`; the strata in
`tfrec_llm.evaluation.strata`; the list metrics in
`tfrec_llm.evaluation.list_metrics`.
"""

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from tfrec_llm.evaluation import list_metrics, ranking_metrics, strata

CONFIDENCE_INTERVAL_K = 50
"""Cut-off of the recall whose 95% Wilson interval every stratum reports."""

POPULARITY_BUCKET_K = 50
"""Cut-off of the recall reported per popularity bucket."""

MAX_SCORES_PER_CHUNK = 1 << 24
"""Most scores (examples x items) one chunk holds: 64 MB of float32, about six
such arrays alive while a chunk is ranked, whatever the catalog size."""


def chunk_rows(num_items: int, max_rows: int, max_scores: Optional[int] = None) -> int:
    """Examples scored at a time: at most `max_rows`, and at most `max_scores // num_items` (>= 1).

    `max_scores` defaults to `MAX_SCORES_PER_CHUNK`.

    Example:
        chunk_rows(1_000_000, 1024)  # -> 16: a 1M-item catalog scores 16 examples at a time
    """
    max_scores = MAX_SCORES_PER_CHUNK if max_scores is None else max_scores
    return max(1, min(int(max_rows), int(max_scores) // max(1, int(num_items))))


class FullCatalogEvaluator:
    """Ranks held-out items in the full catalog and reports metrics by stratum.

    Scores are `user_embeddings @ item_embeddings.T`, computed at most
    `chunk_size` examples and at most `max_chunk_scores` scores at a time
    (`chunk_rows`), so memory stays bounded whatever the catalog size (a
    1M-item catalog scores 16 examples at a time).

    Args:
        item_popularity: `[num_items]` training interaction counts per item.
        cold_item_mask: `[num_items]` bool, items training never saw (their
            popularity must be 0).
        item_features_for_diversity: optional `[num_items, d]` item vectors
            (e.g. text embeddings or attributes) for intra-list diversity;
            without them that metric is None.
        ks: cut-offs for recall@k and NDCG@k.
        list_k: length of the top lists used by the list metrics.
        chunk_size: most test examples scored at a time.
        max_chunk_scores: most scores (examples x items) in one chunk
            (default `MAX_SCORES_PER_CHUNK`).
        head_share: share of training interactions held by head items.
        num_popularity_buckets: number of equal-size popularity buckets.

    Examples:
        >>> evaluator = FullCatalogEvaluator(
        ...     item_popularity=np.array([5, 3, 1, 0]),
        ...     cold_item_mask=np.array([False, False, False, True]),
        ...     ks=(1, 2), list_k=2, num_popularity_buckets=2)
        >>> report = evaluator.evaluate(
        ...     user_embeddings=np.ones((2, 1)),
        ...     item_embeddings=np.array([[5.0], [3.0], [1.0], [0.0]]),
        ...     target_items=np.array([0, 2]),
        ...     exclude_items=[np.array([], dtype=int), np.array([0])],
        ...     user_activity=np.array([2, 30]))
        >>> report["overall"]["recall@2"], report["overall"]["mrr"]
        (1.0, 0.75)
    """

    def __init__(
        self,
        item_popularity: np.ndarray,
        cold_item_mask: np.ndarray,
        item_features_for_diversity: Optional[np.ndarray] = None,
        ks: Sequence[int] = (10, 50, 100),
        list_k: int = 10,
        chunk_size: int = 1024,
        head_share: float = strata.DEFAULT_HEAD_SHARE,
        num_popularity_buckets: int = 10,
        max_chunk_scores: Optional[int] = None,
    ):
        self.item_popularity = np.asarray(item_popularity)
        self.item_strata = strata.item_strata(self.item_popularity, cold_item_mask, head_share)
        self.num_items = len(self.item_popularity)
        if self.num_items == 0:
            raise ValueError("The catalog is empty (item_popularity has no items).")
        if item_features_for_diversity is not None:
            item_features_for_diversity = np.asarray(item_features_for_diversity)
            if item_features_for_diversity.ndim != 2 or len(item_features_for_diversity) != self.num_items:
                raise ValueError(
                    "item_features_for_diversity must have shape "
                    f"[{self.num_items}, d], got {item_features_for_diversity.shape}."
                )
        self.item_features_for_diversity = item_features_for_diversity
        if len(ks) == 0:
            raise ValueError("ks must hold at least one cut-off.")
        max_chunk_scores = MAX_SCORES_PER_CHUNK if max_chunk_scores is None else max_chunk_scores
        checked = [("list_k", list_k), ("chunk_size", chunk_size), ("max_chunk_scores", max_chunk_scores)]
        for name, value in checked + [("ks", k) for k in ks]:
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must hold positive integers, got {value}.")
        self.ks = tuple(int(k) for k in ks)
        self.list_k = int(list_k)
        self.chunk_size = chunk_rows(self.num_items, chunk_size, max_chunk_scores)
        self.head_share = head_share
        self.item_buckets = strata.popularity_buckets(self.item_popularity, num_popularity_buckets)
        self.num_popularity_buckets = int(num_popularity_buckets)

    def evaluate(
        self,
        user_embeddings: np.ndarray,
        item_embeddings: np.ndarray,
        target_items: np.ndarray,
        exclude_items: Optional[List[np.ndarray]],
        user_activity: np.ndarray,
        scenarios: Optional[np.ndarray] = None,
        extra_strata: Optional[Dict[str, np.ndarray]] = None,
    ) -> dict:
        """Scores every example against the catalog and returns the report (`evaluate_with_ranks`'s first part)."""
        return self.evaluate_with_ranks(
            user_embeddings, item_embeddings, target_items, exclude_items, user_activity, scenarios, extra_strata
        )[0]

    def evaluate_with_ranks(
        self,
        user_embeddings: np.ndarray,
        item_embeddings: np.ndarray,
        target_items: np.ndarray,
        exclude_items: Optional[List[np.ndarray]],
        user_activity: np.ndarray,
        scenarios: Optional[np.ndarray] = None,
        extra_strata: Optional[Dict[str, np.ndarray]] = None,
    ) -> Tuple[dict, np.ndarray, Dict[str, np.ndarray]]:
        """Scores every example against the catalog: (report, int [n] target ranks, stratum -> bool [n]).

        Args:
            user_embeddings: `[n, d]`, one row per test example.
            item_embeddings: `[num_items, d]`. A popularity baseline passes
                d=1 with users all ones and items their popularity.
            target_items: `[n]` int catalog index of each held-out item.
            exclude_items: per example, catalog indices to exclude (items the
                user already had), or None; the target is never excluded.
            user_activity: `[n]` training interactions of each example's user.
            scenarios: optional `[n]` str scenario of each example.
            extra_strata: optional name -> `[n]` bool mask of extra example
                strata (e.g. history-length strata computed by the caller).

        Returns:
            The JSON-ready report dict (see `evaluation_report`), each
            example's target rank, and the example strata the report's
            "strata" summarise.
        """
        user_embeddings, item_embeddings = self._check_embeddings(user_embeddings, item_embeddings)
        num_examples = len(user_embeddings)
        target_items = np.asarray(target_items)
        self._check_example_array(target_items, num_examples, "target_items")
        if (
            not np.issubdtype(target_items.dtype, np.integer)
            or ((target_items < 0) | (target_items >= self.num_items)).any()
        ):
            raise ValueError(f"target_items must be integer catalog indices in [0, {self.num_items}).")
        user_activity = np.asarray(user_activity)
        self._check_example_array(user_activity, num_examples, "user_activity")
        if exclude_items is not None and len(exclude_items) != num_examples:
            raise ValueError(f"exclude_items has {len(exclude_items)} entries for {num_examples} examples.")
        example_strata = self._example_strata(target_items, user_activity, scenarios, extra_strata, num_examples)
        ranks, top_lists = self._rank_in_chunks(user_embeddings, item_embeddings, target_items, exclude_items)
        report = {
            "overall": self._summarize(ranks),
            "strata": {name: self._summarize(ranks[mask]) for name, mask in example_strata.items()},
            "popularity_buckets": self._bucket_summaries(ranks, target_items),
            "lists": self._list_summary(top_lists),
            "n": {
                "examples": int(num_examples),
                "items": int(self.num_items),
                "head_items": int(self.item_strata[strata.HEAD].sum()),
                "tail_items": int(self.item_strata[strata.TAIL].sum()),
                "cold_items": int(self.item_strata[strata.COLD_ITEMS].sum()),
            },
        }
        return report, ranks, example_strata

    def _rank_in_chunks(self, user_embeddings, item_embeddings, target_items, exclude_items):
        ranks = np.empty(len(user_embeddings), dtype=np.int64)
        top_lists = np.empty((len(user_embeddings), self.list_k), dtype=np.int64)
        for start in range(0, len(user_embeddings), self.chunk_size):
            stop = start + self.chunk_size
            scores = user_embeddings[start:stop] @ item_embeddings.T
            chunk_exclusions = None if exclude_items is None else exclude_items[start:stop]
            masked = ranking_metrics.mask_excluded_items(scores, target_items[start:stop], chunk_exclusions)
            ranks[start:stop] = ranking_metrics.ranks_in_masked_scores(masked, target_items[start:stop])
            top_lists[start:stop] = ranking_metrics.top_k_items(masked, self.list_k)
        return ranks, top_lists

    def _summarize(self, ranks: np.ndarray) -> dict:
        summary = {}
        for k in self.ks:
            summary[f"recall@{k}"] = ranking_metrics.recall_at_k(ranks, k)
        for k in self.ks:
            summary[f"ndcg@{k}"] = ranking_metrics.ndcg_at_k(ranks, k)
        summary["mrr"] = ranking_metrics.mean_reciprocal_rank(ranks)
        summary["n"] = int(len(ranks))
        interval = ranking_metrics.wilson_interval(int(np.count_nonzero(ranks <= CONFIDENCE_INTERVAL_K)), len(ranks))
        summary[f"ci95_recall@{CONFIDENCE_INTERVAL_K}"] = None if interval is None else list(interval)
        return summary

    def _example_strata(self, target_items, user_activity, scenarios, extra_strata, num_examples):
        example_strata = {name: item_mask[target_items] for name, item_mask in self.item_strata.items()}
        example_strata.update(strata.user_activity_strata(user_activity))
        if scenarios is not None:
            scenarios = np.asarray(scenarios)
            self._check_example_array(scenarios, num_examples, "scenarios")
            example_strata.update(strata.scenario_strata(scenarios))
        for name, mask in (extra_strata or {}).items():
            mask = np.asarray(mask)
            if name in example_strata:
                raise ValueError(f"extra_strata name {name!r} clashes with a built-in stratum.")
            if mask.dtype != bool:
                raise ValueError(f"extra_strata[{name!r}] must be a bool mask, got {mask.dtype}.")
            self._check_example_array(mask, num_examples, f"extra_strata[{name!r}]")
            example_strata[name] = mask
        return example_strata

    def _bucket_summaries(self, ranks, target_items):
        target_buckets = self.item_buckets[target_items]
        summaries = []
        for bucket in range(self.num_popularity_buckets):
            bucket_items = self.item_buckets == bucket
            bucket_popularity = self.item_popularity[bucket_items]
            summaries.append(
                {
                    "bucket": bucket,
                    "items": int(bucket_items.sum()),
                    "min_popularity": _plain_number(bucket_popularity.min()) if bucket_popularity.size else None,
                    "max_popularity": _plain_number(bucket_popularity.max()) if bucket_popularity.size else None,
                    "n": int(np.count_nonzero(target_buckets == bucket)),
                    f"recall@{POPULARITY_BUCKET_K}": ranking_metrics.recall_at_k(
                        ranks[target_buckets == bucket], POPULARITY_BUCKET_K
                    ),
                }
            )
        return summaries

    def _list_summary(self, top_lists):
        k = self.list_k
        diversity = None
        if self.item_features_for_diversity is not None:
            diversity = list_metrics.intra_list_diversity(top_lists, self.item_features_for_diversity)
        tail_or_cold = self.item_strata[strata.TAIL] | self.item_strata[strata.COLD_ITEMS]
        return {
            f"coverage@{k}": list_metrics.catalog_coverage(top_lists, self.num_items),
            f"tail_share@{k}": list_metrics.tail_share(top_lists, tail_or_cold),
            f"exposure_gini@{k}": list_metrics.exposure_gini(top_lists, self.num_items),
            f"intra_list_diversity@{k}": diversity,
            f"novelty@{k}": list_metrics.novelty(top_lists, self.item_popularity),
        }

    def _check_embeddings(self, user_embeddings, item_embeddings):
        user_embeddings = np.asarray(user_embeddings)
        item_embeddings = np.asarray(item_embeddings)
        if user_embeddings.ndim != 2 or item_embeddings.ndim != 2:
            raise ValueError(
                "user_embeddings and item_embeddings must be 2-D, got shapes "
                f"{user_embeddings.shape} and {item_embeddings.shape}."
            )
        if len(item_embeddings) != self.num_items:
            raise ValueError(
                f"item_embeddings has {len(item_embeddings)} rows but the catalog has {self.num_items} items."
            )
        if user_embeddings.shape[1] != item_embeddings.shape[1]:
            raise ValueError(
                f"Embedding sizes differ: users {user_embeddings.shape[1]}, items {item_embeddings.shape[1]}."
            )
        if len(user_embeddings) == 0:
            raise ValueError("There are no test examples to evaluate.")
        return user_embeddings, item_embeddings

    @staticmethod
    def _check_example_array(values, num_examples, name):
        if values.shape != (num_examples,):
            raise ValueError(f"{name} must have shape ({num_examples},), got {values.shape}.")


def _plain_number(value):
    """A NumPy scalar as a JSON-ready int or float."""
    return value.item()
