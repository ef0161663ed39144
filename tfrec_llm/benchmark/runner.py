"""`run_benchmark`: baselines and the full model on one data set, in one report.

The data are loaded once. Four models then run on the same split with the
same budget (the config's epochs, batch size, learning rate and seed):

- "popularity": the most popular training items for everyone
  (`tfrec_llm.benchmark.popularity_baseline`, evaluated by the same code);
- "id_only": the two-tower model with item-id embeddings only
  (`model.use_text = false`): the baseline every ratio divides by;
- "text_only": item text only (`model.use_item_ids = false`);
- "full": the config as given.

Each model trains and evaluates into `<output_dir>/<name>/` (what `train`
writes there, `metrics.json` included). `<output_dir>` then gets:

- `report.json`: {"data", "config", "models": {name: metrics},
  "targets", "factorized_top_k", "timings", "notes"};
- `report.md`: the recall table (models x strata, with n and each model's
  ratio to id_only), the targets, the TFRS FactorizedTopK table and costs;
- PNG plots (`tfrec_llm.benchmark.plots`; skipped with a warning when
  matplotlib is not installed).

Cost measurement. By default every model runs in its own child process
started with multiprocessing's "spawn" method (a fresh interpreter; the
data reach it through multiprocessing's in-memory pipe, never a file).
Inside the child:
- `wall_seconds`: wall time of that model's `train` call (data split,
  text encoding, training, saving, evaluation);
- `rss_before_run_mb`: the child's peak resident memory once Python,
  TensorFlow and the data copy are loaded, before `train`;
- `peak_rss_mb`: the child's peak resident memory at the end: the whole
  process, so it includes the `rss_before_run_mb` floor;
  `peak_rss_mb - rss_before_run_mb` approximates what training and
  evaluation themselves added.
Peak memory is the kernel's high-water mark of the child's own address
space (`VmHWM` in /proc/self/status). Not `ru_maxrss`: on Linux that value
survives exec, so a spawned child would report at least the parent's peak.
Where /proc is missing (macOS) `ru_maxrss` is the fallback, with that caveat
(`memory_source` in each cost says which was used).
`process_seconds` (measured by the parent) adds process start-up and the
TensorFlow import. With `separate_processes=False` (used by fast tests)
models run in the calling process and memory is not measured (None): a
process's peak memory cannot be attributed to one of several runs.
"""

import json
import logging
import multiprocessing
import os
import resource
import sys
import time
from typing import Dict, List, Optional, Tuple

from tfrec_llm.evaluation.evaluation_report import format_report_markdown
from tfrec_llm.experiment_config import ExperimentConfig

logger = logging.getLogger(__name__)

POPULARITY = "popularity"
ID_ONLY = "id_only"
TEXT_ONLY = "text_only"
FULL = "full"
MODEL_NAMES = (POPULARITY, ID_ONLY, TEXT_ONLY, FULL)
BASELINE_MODEL = ID_ONLY
MODEL_DESCRIPTIONS = {
    POPULARITY: "most popular training items, the same list for everyone (no learning)",
    ID_ONLY: "two towers, item-id embeddings only (model.use_text=false); the ratios' baseline",
    TEXT_ONLY: "two towers, item text only (model.use_item_ids=false)",
    FULL: "two towers as configured (item ids and text)",
}
TABLE_METRICS = ("recall@10", "recall@50")

REPORT_JSON_FILE = "report.json"
REPORT_MD_FILE = "report.md"
RUN_COST_FILE = "benchmark_run.json"
METRICS_FILE = "metrics.json"
SPAWN_START_METHOD = "spawn"
BYTES_PER_MB = 1024 * 1024
KILOBYTE = 1024
PROC_STATUS_FILE = "/proc/self/status"
PEAK_RSS_FIELD = "VmHWM:"
# `ru_maxrss` is in kilobytes on Linux and in bytes on macOS.
MAX_RSS_UNIT_BYTES = 1 if sys.platform == "darwin" else KILOBYTE

# Targets of the issue.
COLD_TO_WARM_MIN_RATIO = 0.8
TAIL_MIN_RATIO_TO_ID_ONLY = 2.0
HEAD_MIN_RATIO_TO_ID_ONLY = 0.95  # "within 5%": at most 5% below id_only (above is fine)
SPARSE_MIN_RATIO_TO_ID_ONLY = 1.5
SPARSE_FALLBACK_STRATUM = "history_cut_5"
GRU4REC_PUBLISHED_RECALL_AT_10 = 0.110
GRU4REC_PROTOCOL = ("ml-100k", "leave_last_out")
TFRS_PUBLISHED_TOP_100 = {"TFRS basic retrieval": 0.233, "TFRS deep retrieval": 0.29}
TFRS_PROTOCOL = ("ml-100k", "random")
ML_100K_NAME_PART = "100k"
FACTORIZED_COLUMNS = ("top_10_accuracy", "top_50_accuracy", "top_100_accuracy")

PASSED, MISSED, NOT_MEASURABLE = "pass", "MISS", "n/a"
MISSING = "–"

MEMORY_NOTE = (
    "peak RSS: the resident-memory high-water mark (VmHWM) of the model's own child process (Python + "
    "TensorFlow + the data copy + training and evaluation); RSS before run: the same once TensorFlow and "
    "the data were loaded, before training. Their difference approximates what training and evaluation "
    "added. Wall times are sensitive to other load on the machine."
)
IN_PROCESS_MEMORY_NOTE = "memory not measured: the models ran in the benchmark's own process."


def model_configs(config: ExperimentConfig) -> Dict[str, ExperimentConfig]:
    """The config of each benchmark model: same data, split and budget, different towers."""
    return {
        POPULARITY: config,
        ID_ONLY: config.updated({"model": {"use_text": False, "use_item_ids": True}}),
        TEXT_ONLY: config.updated({"model": {"use_text": True, "use_item_ids": False}}),
        FULL: config,
    }


def run_model(name: str, config: ExperimentConfig, data, model_dir: str,
              separate_process: bool = True) -> Tuple[dict, dict]:
    """Trains and evaluates one benchmark model into `model_dir`; returns (metrics, cost).

    See the module docstring for what the cost numbers mean.
    """
    if name not in MODEL_NAMES:
        raise ValueError(f"Unknown benchmark model {name!r}; known: {list(MODEL_NAMES)}.")
    os.makedirs(model_dir, exist_ok=True)
    started = time.time()
    if separate_process:
        cost_path = os.path.join(model_dir, RUN_COST_FILE)
        if os.path.exists(cost_path):
            os.remove(cost_path)
        process = multiprocessing.get_context(SPAWN_START_METHOD).Process(
            target=_model_process_main, name=f"benchmark-{name}",
            args=(name, config.to_dict(), data, model_dir, logging.getLogger().getEffectiveLevel()))
        process.start()
        process.join()
        if process.exitcode != 0 or not os.path.exists(cost_path):
            raise RuntimeError(f"Benchmark model {name!r} failed in its child process (exit code "
                               f"{process.exitcode}); its traceback is printed above.")
        cost = _read_json(cost_path)
        metrics = _read_json(os.path.join(model_dir, METRICS_FILE))
    else:
        metrics, cost = _train_and_measure(name, config, data, model_dir)
        cost["peak_rss_mb"] = cost["rss_before_run_mb"] = cost["memory_source"] = None
    cost["process_seconds"] = time.time() - started
    for phase in ("data_seconds", "text_seconds", "train_seconds", "eval_seconds"):
        cost[phase] = metrics["training"].get(phase)
    return metrics, cost


def evaluate_targets(models: Dict[str, dict], data_name: str, split: str) -> Dict[str, dict]:
    """The issue's targets, computed from the models' reports (see `report.json["targets"]`).

    Each target holds `checks` (value, the required value = factor x a
    reference, `passed`, `margin` = value - required) and `passed`: True
    when every check passes, None when one cannot be measured (an empty
    stratum or a missing value).
    """
    sparse_stratum = "sparse_users"
    if not all(_stratum(models[m], sparse_stratum).get("n") for m in (FULL, ID_ONLY)):
        sparse_stratum = SPARSE_FALLBACK_STRATUM
    gru4rec_comparable = _is_ml_100k(data_name) and split == GRU4REC_PROTOCOL[1]
    full_recall_at_10 = _stratum(models[FULL], "overall").get("recall@10")
    return {
        "cold_start_items": _target(
            f"cold-start items: full Recall@50 >= {COLD_TO_WARM_MIN_RATIO} x full Recall@50 on warm items",
            [_check(models, FULL, "cold_items", "recall@50", FULL, "warm_items", COLD_TO_WARM_MIN_RATIO)]),
        "tail_and_head": _target(
            f"tail: full Recall@50 >= {TAIL_MIN_RATIO_TO_ID_ONLY} x id_only; head: full Recall@50 at most "
            f"{round((1 - HEAD_MIN_RATIO_TO_ID_ONLY) * 100)}% below id_only",
            [_check(models, FULL, "tail", "recall@50", ID_ONLY, "tail", TAIL_MIN_RATIO_TO_ID_ONLY),
             _check(models, FULL, "head", "recall@50", ID_ONLY, "head", HEAD_MIN_RATIO_TO_ID_ONLY)]),
        "sparse_users": _target(
            f"sparse users ({sparse_stratum}): full Recall@10 >= {SPARSE_MIN_RATIO_TO_ID_ONLY} x id_only",
            [_check(models, FULL, sparse_stratum, "recall@10", ID_ONLY, sparse_stratum,
                    SPARSE_MIN_RATIO_TO_ID_ONLY)]),
        "gru4rec_recall@10": _target(
            f"overall full Recall@10 vs GRU4Rec's published {GRU4REC_PUBLISHED_RECALL_AT_10} "
            f"(meaningful only on {GRU4REC_PROTOCOL[0]} with the {GRU4REC_PROTOCOL[1]} split)",
            [_checked_values(FULL, "overall", "recall@10", full_recall_at_10, "GRU4Rec (published)",
                             GRU4REC_PUBLISHED_RECALL_AT_10, 1.0)],
            comparable=gru4rec_comparable),
    }


def run_benchmark(config: ExperimentConfig, output_dir: str, data=None, separate_processes: bool = True) -> dict:
    """Runs the four models and writes the report; returns {"markdown", "report", paths}.

    Args:
        config: the full model's config; the baselines change only the towers.
        output_dir: where model directories, report.json, report.md and
            the plots go.
        data: an `InteractionData`; None loads `config.data` once.
        separate_processes: run each model in its own "spawn" child process
            (measures its memory); False runs them here (faster, no memory).

    Returns:
        {"markdown": report.md's text, "report": the report.json dict,
        "report_json", "report_md": paths, "plots": name -> PNG path,
        "model_dirs": name -> directory}.
    """
    config.validate()
    os.makedirs(output_dir, exist_ok=True)
    if data is None:
        from tfrec_llm.training.experiment_data import load_source  # pylint: disable=import-outside-toplevel
        data = load_source(config)
    models, timings, model_dirs = {}, {}, {}
    for position, (name, model_config) in enumerate(model_configs(config).items(), start=1):
        logger.info("Benchmark model %d/%d: %s (%s)", position, len(MODEL_NAMES), name, MODEL_DESCRIPTIONS[name])
        model_dirs[name] = os.path.join(output_dir, name)
        models[name], timings[name] = run_model(name, model_config, data, model_dirs[name], separate_processes)
        logger.info("Benchmark model %s done in %.1fs", name, timings[name]["process_seconds"])

    report = {
        "data": {"name": data.name, "source": config.data.source, "split": config.data.split,
                 "interactions": len(data.interactions), "items": len(data.catalog)},
        "config": config.to_dict(),
        "model_descriptions": dict(MODEL_DESCRIPTIONS),
        "models": models,
        "targets": evaluate_targets(models, data.name, config.data.split),
        "factorized_top_k": {
            "models": {name: metrics.get("factorized_top_k", {}) for name, metrics in models.items()},
            "published_top_100": dict(TFRS_PUBLISHED_TOP_100),
            "comparable_with_published": _is_ml_100k(data.name) and config.data.split == TFRS_PROTOCOL[1],
        },
        "timings": timings,
        "notes": {"memory": MEMORY_NOTE if separate_processes else IN_PROCESS_MEMORY_NOTE},
    }
    plots = _write_plots(models, output_dir)
    markdown = benchmark_markdown(report, plots)
    paths = {"report_json": os.path.join(output_dir, REPORT_JSON_FILE),
             "report_md": os.path.join(output_dir, REPORT_MD_FILE)}
    with open(paths["report_json"], "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    with open(paths["report_md"], "w", encoding="utf-8") as f:
        f.write(markdown)
    return {"markdown": markdown, "report": report, "plots": plots, "model_dirs": model_dirs, **paths}


def benchmark_markdown(report: dict, plots: Optional[Dict[str, str]] = None) -> str:
    """report.md: header, recall table with ratios, targets, FactorizedTopK, costs, plots."""
    data, config = report["data"], report["config"]
    train = config["train"]
    full_training = report["models"][FULL].get("training", {})
    encoder = full_training.get("text_encoder", config["text"]["encoder"])
    pretrained = "pretrained" if full_training.get("text_encoder_pretrained") else "NOT pretrained"
    seen = "excluded" if data["split"] != TFRS_PROTOCOL[1] else "not excluded (TFRS protocol)"
    lines = [
        f"# tfrec-llm benchmark: {data['name']} ({data['split']} split)",
        "",
        f"{data['interactions']} interactions, {data['items']} items. Every model: the same split, "
        f"{train['epochs']} epochs, batch {train['batch_size']}, learning rate {train['learning_rate']}, "
        f"seed {train['seed']}. Text encoder: {encoder} ({pretrained}), {config['text']['mode']} mode.",
        "",
    ]
    lines += [f"- **{name}**: {description}" for name, description in report["model_descriptions"].items()]
    lines += [
        "",
        f"## Recall by stratum (full catalog, items the user already had {seen})",
        "",
        f"Ratio columns: model / {BASELINE_MODEL} in the same stratum ({MISSING}: empty stratum or "
        f"{BASELINE_MODEL} at 0). history_cut_k: every test user re-scored with only its last k items.",
        "",
        format_report_markdown(report["models"], baseline=BASELINE_MODEL, metrics=TABLE_METRICS).rstrip("\n"),
        "",
        "## Targets",
        "",
        format_targets_markdown(report["targets"]),
        "## TFRS FactorizedTopK accuracy (no exclusion of seen items)",
        "",
        format_factorized_markdown(report["factorized_top_k"], data["name"], data["split"]),
        "## Cost",
        "",
        format_costs_markdown(report["timings"]),
        report["notes"]["memory"],
        "",
    ]
    if plots:
        lines += ["## Plots", ""]
        lines += [f"![{name}]({os.path.basename(path)})" for name, path in plots.items()]
        lines.append("")
    return "\n".join(lines)


def format_targets_markdown(targets: Dict[str, dict]) -> str:
    """One row per check: value, required value, result and margin (value - required)."""
    lines = [_row(["target", "result", "check", "value", "required", "margin"]), _row(["---"] * 6)]
    notes = []
    for name, target in targets.items():
        for check in target["checks"]:
            reference = (f"{check['factor']:g} x {check['reference']}"
                         if check["factor"] != 1.0 else check["reference"])
            lines.append(_row([
                name, _result(target["passed"]),
                f"{check['model']} {check['stratum']} {check['metric']} >= {reference}",
                _number(check["value"]), _number(check["required"]), _number(check["margin"], signed=True)]))
        notes.append(f"- {name}: {target['description']}"
                     + ("" if target["comparable"] else " — NOT comparable on this data/split"))
    return "\n".join(lines) + "\n\n" + "\n".join(notes) + "\n"


def format_factorized_markdown(factorized: dict, data_name: str, split: str) -> str:
    """Models x TFRS FactorizedTopK top-k accuracy, and the published numbers' protocol."""
    lines = [_row(["model", *FACTORIZED_COLUMNS]), _row(["---"] * (len(FACTORIZED_COLUMNS) + 1))]
    for name, values in factorized["models"].items():
        lines.append(_row([name, *(_number(values.get(column)) for column in FACTORIZED_COLUMNS)]))
    published = ", ".join(f"{name} ≈ {value}" for name, value in factorized["published_top_100"].items())
    verdict = ("this run uses that protocol" if factorized["comparable_with_published"]
               else f"this run ({data_name}, {split} split) is NOT comparable")
    return ("\n".join(lines) + f"\n\nPublished top-100 accuracy ({published}) comes from the TFRS tutorials' "
            f"protocol: {TFRS_PROTOCOL[0]}, a random 80/20 split of ratings (data.split=\"random\"); "
            f"{verdict}.\n")


def format_costs_markdown(timings: Dict[str, dict]) -> str:
    """Models x wall times (seconds) and peak memory (MB)."""
    columns = [("wall_seconds", "train+eval s"), ("process_seconds", "process s"), ("data_seconds", "data s"),
               ("text_seconds", "text s"), ("train_seconds", "fit s"), ("eval_seconds", "eval s"),
               ("peak_rss_mb", "peak RSS MB"), ("rss_before_run_mb", "RSS before run MB")]
    lines = [_row(["model", *(title for _, title in columns)]), _row(["---"] * (len(columns) + 1))]
    for name, cost in timings.items():
        lines.append(_row([name, *(_number(cost.get(key), decimals=1) for key, _ in columns)]))
    return "\n".join(lines) + "\n"


def _model_process_main(name, config_values, data, model_dir, log_level):
    """Entry point of a model's child process: train, then write the cost file."""
    logging.basicConfig(level=log_level, format="%(levelname)s %(name)s: %(message)s")
    import tfrec_llm  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    _, cost = _train_and_measure(name, ExperimentConfig.from_dict(config_values), data, model_dir)
    with open(os.path.join(model_dir, RUN_COST_FILE), "w", encoding="utf-8") as f:
        json.dump(cost, f, indent=2)


def _train_and_measure(name, config, data, model_dir):
    # pylint: disable=import-outside-toplevel
    if name == POPULARITY:
        from tfrec_llm.benchmark.popularity_baseline import train_popularity_baseline as train_function
    else:
        from tfrec_llm.training.trainer import train as train_function
    rss_before, memory_source = _peak_rss_mb()
    started = time.time()
    metrics = train_function(config, model_dir, data=data)
    wall_seconds = time.time() - started
    return metrics, {"wall_seconds": wall_seconds, "peak_rss_mb": _peak_rss_mb()[0],
                     "rss_before_run_mb": rss_before, "memory_source": memory_source}


def _peak_rss_mb() -> Tuple[float, str]:
    """(peak resident memory of this process in MB, where it was read)."""
    if os.path.exists(PROC_STATUS_FILE):
        with open(PROC_STATUS_FILE, encoding="utf-8") as f:
            for line in f:
                if line.startswith(PEAK_RSS_FIELD):
                    return int(line.split()[1]) * KILOBYTE / BYTES_PER_MB, "VmHWM"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * MAX_RSS_UNIT_BYTES / BYTES_PER_MB, "ru_maxrss"


def _write_plots(models, output_dir):
    try:
        from tfrec_llm.benchmark.plots import write_benchmark_plots  # pylint: disable=import-outside-toplevel
    except ImportError as error:
        logger.warning("No benchmark plots: matplotlib is missing (pip install 'tfrec-llm[plots]'): %s", error)
        return {}
    return write_benchmark_plots(models, output_dir)


def _stratum(report: dict, name: str) -> dict:
    return report.get("overall", {}) if name == "overall" else report.get("strata", {}).get(name, {})


def _check(models, model, stratum, metric, reference_model, reference_stratum, factor):
    value = _stratum(models[model], stratum).get(metric)
    reference_value = _stratum(models[reference_model], reference_stratum).get(metric)
    reference = f"{reference_model} {reference_stratum} {metric}"
    return _checked_values(model, stratum, metric, value, reference, reference_value, factor)


def _checked_values(model, stratum, metric, value, reference, reference_value, factor):
    required = None if reference_value is None else factor * reference_value
    passed = None if value is None or required is None else bool(value >= required)
    return {"model": model, "stratum": stratum, "metric": metric, "value": value, "reference": reference,
            "reference_value": reference_value, "factor": factor, "required": required, "passed": passed,
            "margin": None if passed is None else value - required}


def _target(description: str, checks: List[dict], comparable: bool = True) -> dict:
    outcomes = [check["passed"] for check in checks]
    passed = None if None in outcomes else all(outcomes)
    return {"description": description, "passed": passed, "comparable": comparable, "checks": checks}


def _is_ml_100k(data_name: str) -> bool:
    return ML_100K_NAME_PART in data_name


def _result(passed):
    return NOT_MEASURABLE if passed is None else (PASSED if passed else MISSED)


def _number(value, decimals=4, signed=False):
    if value is None:
        return MISSING
    return f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"


def _row(cells):
    return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"


def _read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)
