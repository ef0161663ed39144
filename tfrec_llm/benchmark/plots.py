"""PNG plots of a benchmark: one figure per question, one line or bar group per model.

- `popularity_buckets.png`: Recall@50 per item-popularity bucket (bucket 0 =
  most popular items), from each report's "popularity_buckets";
- `user_strata.png`: Recall@10 for sparse/medium/heavy users (strata of the
  test examples) and, beside them, for every example re-scored with its
  history cut to its last 1, 3 and 5 items (`history_cuts`, not strata);
- `loss_curves.png`: the training loss per epoch (metrics["training"]["loss"];
  models without training, like the popularity baseline, are left out).

Figures are drawn on matplotlib's Agg canvas directly (no pyplot, no global
backend switch), so plotting works without a display and in any process.
Strata without examples (metric None) are drawn as gaps. A model keeps its
colour in every plot; a skipped model (a report without metrics) is left out.
"""

import os
from typing import Dict

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

POPULARITY_BUCKETS_FILE = "popularity_buckets.png"
USER_STRATA_FILE = "user_strata.png"
LOSS_CURVES_FILE = "loss_curves.png"

BUCKET_METRIC = "recall@50"
USER_STRATA_METRIC = "recall@10"
USER_STRATA = ("sparse_users", "medium_users", "heavy_users")
HISTORY_CUTS = ("last_1", "last_3", "last_5")
FIGURE_SIZE = (8.0, 4.5)
DPI = 100
BAR_GROUP_WIDTH = 0.8


def plot_popularity_buckets(reports: Dict[str, dict], path: str) -> str:
    """Recall@50 per popularity bucket, one line per model; returns `path`."""
    figure, axes = _new_figure()
    for i, (name, report) in _measured(reports):
        buckets = report["popularity_buckets"]
        axes.plot(
            [b["bucket"] for b in buckets],
            [_value(b.get(BUCKET_METRIC)) for b in buckets],
            marker="o",
            label=name,
            color=_model_color(i),
        )
    axes.set_xlabel("item popularity bucket (0 = most popular items)")
    axes.set_ylabel(BUCKET_METRIC)
    axes.set_title(f"{BUCKET_METRIC} by item popularity")
    return _save(figure, axes, path)


def plot_user_strata(reports: Dict[str, dict], path: str) -> str:
    """Recall@10 by user activity (strata) and with histories cut (all examples), grouped bars; returns `path`."""
    figure, axes = _new_figure()
    labels = [*USER_STRATA, *(f"all users, {cut}" for cut in HISTORY_CUTS)]
    positions = np.arange(len(labels))
    measured = _measured(reports)
    width = BAR_GROUP_WIDTH / max(len(measured), 1)
    for slot, (i, (name, report)) in enumerate(measured):
        values = [report["strata"].get(stratum, {}).get(USER_STRATA_METRIC) for stratum in USER_STRATA]
        values += [report.get("history_cuts", {}).get(cut, {}).get(USER_STRATA_METRIC) for cut in HISTORY_CUTS]
        axes.bar(
            positions + (slot - (len(measured) - 1) / 2) * width,
            [_value(v) for v in values],
            width,
            label=name,
            color=_model_color(i),
        )
    axes.set_xticks(positions)
    axes.set_xticklabels(labels, rotation=20)
    axes.set_ylabel(USER_STRATA_METRIC)
    axes.set_title(f"{USER_STRATA_METRIC} by user activity and history length")
    return _save(figure, axes, path)


def plot_loss_curves(reports: Dict[str, dict], path: str) -> str:
    """Training loss per epoch, one line per trained model; returns `path`."""
    figure, axes = _new_figure()
    for i, (name, report) in _measured(reports):
        loss = report.get("training", {}).get("loss", [])
        if loss:
            axes.plot(np.arange(1, len(loss) + 1), loss, marker="o", label=name, color=_model_color(i))
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("epoch")
    axes.set_ylabel("training loss")
    axes.set_title("Training loss")
    return _save(figure, axes, path)


def write_benchmark_plots(reports: Dict[str, dict], output_dir: str) -> Dict[str, str]:
    """All three plots into `output_dir`; returns plot name -> path."""
    return {
        "popularity_buckets": plot_popularity_buckets(reports, os.path.join(output_dir, POPULARITY_BUCKETS_FILE)),
        "user_strata": plot_user_strata(reports, os.path.join(output_dir, USER_STRATA_FILE)),
        "loss_curves": plot_loss_curves(reports, os.path.join(output_dir, LOSS_CURVES_FILE)),
    }


def _new_figure():
    figure = Figure(figsize=FIGURE_SIZE, dpi=DPI)
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _save(figure, axes, path):
    if axes.get_legend_handles_labels()[0]:
        axes.legend()
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, format="png")
    return path


def _measured(reports):
    """(position, (name, report)) of the reports with metrics; positions count skipped ones too (colours)."""
    return [(i, item) for i, item in enumerate(reports.items()) if "overall" in item[1]]


def _model_color(position):
    """The same colour for a model in every plot (even where a model is left out)."""
    return f"C{position}"


def _value(metric):
    return np.nan if metric is None else metric
