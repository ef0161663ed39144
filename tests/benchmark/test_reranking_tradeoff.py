"""Re-ranking trade-off: list metrics of hand-made candidate lists and the target rule."""

import numpy as np
import pytest

from tfrec_llm.benchmark.reranking_tradeoff import CandidateLists, format_tradeoff, target_point, tradeoff_rows

# 6 items: 0-2 popular (the head: 120 of 120 interactions) and alike, 3-5 never seen in training (tail) and alike.
VECTORS = np.array([[1, 0.0], [1, 0.1], [1, 0.2], [0, 1.0], [0.1, 1], [0.2, 1]], np.float32)
POPULARITY = np.array([50, 40, 30, 0, 0, 0])


def _lists():
    items = np.array([[0, 1, 2, 3, 4, 5], [1, 0, 2, 4, 3, -1]])
    scores = np.array([[6, 5, 4, 3, 2, 1], [6, 5, 4, 3, 2, -np.inf]], np.float32)
    return CandidateLists(items, scores, np.array([1, 4]), VECTORS, POPULARITY, POPULARITY == 0, VECTORS)


def test_plain_lists_come_first_and_the_boost_buys_tail_share():
    rows = tradeoff_rows(_lists(), diversities=(0.0, 1.0), tail_boosts=(0.0, 0.9), k=2)
    assert [(r["diversity"], r["tail_boost"]) for r in rows] == [(0, 0), (1.0, 0.0), (0.0, 0.9), (1.0, 0.9)]
    plain, diverse, boosted = rows[0], rows[1], rows[2]
    assert plain["recall@2"] == 0.5 and plain["ndcg@2"] == pytest.approx(1 / np.log2(3) / 2)  # item 1 at rank 2
    assert plain["tail_share@2"] == 0.0 and plain["coverage@2"] == pytest.approx(2 / 6)
    assert diverse["tail_share@2"] == 0.5  # MMR takes the best, then the unlike tail item
    assert diverse["intra_list_diversity@2"] > plain["intra_list_diversity@2"]
    # relevance + 0.9 * tailness (1 = tail): list 1 -> tail items 3 (1.3), 4 (1.1) over popular 0 (1.0);
    # list 2 -> 4 (its target, 1.15) then popular 1 (1.0 > tail 3's 0 + 0.9).
    assert boosted["tail_share@2"] == 0.75 and boosted["recall@2"] == 0.5
    assert "| 0.00 | 0.00 | 0.5000 |" in format_tradeoff(rows)


def test_target_needs_recall_within_5_percent_and_1_5x_exposure():
    base = {"recall@10": 0.2, "tail_share@10": 0.1, "coverage@10": 0.5}
    kept = dict(base, **{"recall@10": 0.191, "tail_share@10": 0.16})
    lost = dict(base, **{"recall@10": 0.189, "tail_share@10": 0.3})
    assert target_point([base, kept, lost])["passed"] and target_point([base, kept, lost])["row"] is kept
    assert not target_point([base, lost])["passed"]
    assert not target_point([base, dict(base, **{"tail_share@10": 0.14})])["passed"]
