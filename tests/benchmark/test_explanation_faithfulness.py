"""Explanation faithfulness: the rate counts what removal does, on a stub and on the tiny exported model."""

import numpy as np

from serving_fixtures import MAX_HISTORY
from tfrec_llm.benchmark.explanation_faithfulness import explanation_faithfulness, format_faithfulness
from tfrec_llm.serving.recommendation import Recommendation
from tfrec_llm.serving.saved_model_recommender import SavedModelRecommender


class _StubRecommender:
    """History item j lowers every score by drops[j]; item vectors make the LEAST contributing item most similar."""

    def __init__(self, drops):
        self.drops = np.asarray(drops, float)
        self.seen = []

    def known_history(self, history):
        return list(history)

    def recommend(self, history, k):
        self.seen.append(list(history))
        return [Recommendation(f"r{i}", "", 1.0) for i in range(k)]

    def history_drops(self, history, item_ids):
        return np.repeat(self.drops[[int(h[1:]) for h in history]][:, None], len(item_ids), axis=1)

    def item_vectors(self, item_ids):
        least = int(np.argmin(self.drops))
        return np.array([[1.0, 0.0] if i.startswith("r") or int(i[1:]) == least else [0.0, 1.0] for i in item_ids])


def test_rates_count_whether_the_explaining_item_matters_more_than_a_random_one():
    stub = _StubRecommender([0.5, 0.1, 0.3, 0.0])
    report = explanation_faithfulness(stub, [["h0", "h1", "h2", "h3"], ["h3"], ["h1", "h3", "h2"]], k=2, max_history=3)
    assert report["histories"] == 2 and report["cases"] == 4  # ["h3"] alone has nothing to compare with
    assert stub.seen[0] == ["h1", "h2", "h3"]  # cut to the items the tower reads
    assert report["leave_one_out"]["rate"] == 1.0  # the largest drop beats any other item's
    assert report["most_similar"]["rate"] == 0.0  # the most similar item is the one that matters least
    assert "leave_one_out  faithful 4/4 = 1.0000" in format_faithfulness(report)


def test_leave_one_out_explanations_of_the_tiny_model_are_faithful(export_dir):
    rng = np.random.default_rng(1)
    topics = [[f"m{i}" for i in range(t, 48, 4)] for t in range(4)]
    histories = [list(rng.choice(topics[u % 4], 3, replace=False)) + [f"m{rng.integers(48)}"] for u in range(12)]
    report = explanation_faithfulness(SavedModelRecommender(export_dir), histories, k=5)
    assert report["cases"] >= 50 and report["histories"] == 12
    assert report["leave_one_out"]["rate"] >= 0.8
    assert MAX_HISTORY == 4  # every history above is read whole by the tower
