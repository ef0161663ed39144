"""Are the explanations true? Removing the explaining history item vs removing a random one.

For each history and each of its top-k recommendations (from the export,
as `recommend --explain` serves them), every history item is removed in
turn and the user tower re-reads the rest (`history_drops`). A case counts
as faithful when removing the explaining item lowers the recommended
item's score more than removing a random other history item (a different
item id, drawn once per case). Histories are cut to the `max_history` most
recent items first: older items are not read by the tower, and removing
them would change nothing, which would make any explanation look good.

Two explainers are scored on the same cases and the same random picks:
- `leave_one_out`: the largest drop (what `--explain` reports);
- `most_similar`: the history item whose embedding is closest in cosine
  to the recommended item's (what `--explain` reported before).

Example:
    report = explanation_faithfulness(SavedModelRecommender("exports"), histories, k=10)
    report["leave_one_out"]["rate"]
"""

import json
import os
from typing import Dict, List, Optional, Sequence

import numpy as np

from tfrec_llm.serving.export.export_info import ExportInfo
from tfrec_llm.serving.saved_model_recommender import SavedModelRecommender
from tfrec_llm.unit_vectors import unit_rows

TARGET_RATE = 0.8


def explanation_faithfulness(
    recommender: SavedModelRecommender,
    histories: Sequence[Sequence[str]],
    k: int = 10,
    seed: int = 0,
    max_history: Optional[int] = None,
) -> Dict[str, dict]:
    """{"leave_one_out": {...}, "most_similar": {...}, "cases", "histories"}; each with rate, faithful, cases.

    `max_history` defaults to the export's (what its user tower reads).
    """
    rng = np.random.default_rng(seed)
    if max_history is None:
        max_history = ExportInfo.read(recommender.retrieval_path).max_history
    wins = {"leave_one_out": [], "most_similar": []}
    used = 0
    for history in histories:
        history = recommender.known_history(history)[-max_history:]
        if len(set(history)) < 2:
            continue
        rows = recommender.recommend(history, k)
        if not rows:
            continue
        used += 1
        item_ids = [row.item_id for row in rows]
        drops = recommender.history_drops(history, item_ids)  # [H, R]
        recommended, watched = recommender.item_vectors(item_ids), recommender.item_vectors(history)
        similar = unit_rows(recommended) @ unit_rows(watched).T  # [R, H]
        ids = np.asarray(history)
        for r in range(len(rows)):
            for name, explainer in (("leave_one_out", int(np.argmax(drops[:, r]))), ("most_similar", None)):
                chosen = explainer if explainer is not None else int(np.argmax(similar[r]))
                others = np.flatnonzero(ids != ids[chosen])
                other = int(rng.choice(others))
                wins[name].append(bool(drops[chosen, r] > drops[other, r]))
    report = {name: _rate(values) for name, values in wins.items()}
    report.update(cases=len(wins["leave_one_out"]), histories=used, k=k, target_rate=TARGET_RATE)
    return report


def _rate(values: List[bool]) -> dict:
    faithful = int(np.sum(values))
    return {"faithful": faithful, "cases": len(values), "rate": faithful / len(values) if values else None}


def format_faithfulness(report: dict) -> str:
    lines = [f"{report['cases']} cases ({report['histories']} histories x top-{report['k']}):"]
    for name in ("leave_one_out", "most_similar"):
        part = report[name]
        rate = "-" if part["rate"] is None else f"{part['rate']:.4f}"
        lines.append(f"  {name:<14} faithful {part['faithful']}/{part['cases']} = {rate}")
    passed = report["leave_one_out"]["rate"] is not None and report["leave_one_out"]["rate"] >= TARGET_RATE
    lines.append(f"target: leave_one_out rate >= {TARGET_RATE}: {'PASS' if passed else 'MISS'}")
    return "\n".join(lines)


def write_report(report: dict, output_dir: str) -> str:
    os.makedirs(output_dir, exist_ok=True)
    path = os.path.join(output_dir, "explanation_faithfulness.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
    return path
