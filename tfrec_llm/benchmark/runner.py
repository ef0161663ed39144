"""`run_benchmark`: peers and the full model on one data set, in one report.

The data are loaded once. The models of `tfrec_llm.benchmark.benchmark_models`
(popularity, EASE, the id-only models, text_only, full) then run on the same
split, are scored by the same full-catalog evaluator (`evaluate_model`) and,
when trained, get the same budget (the config's epochs, batch size, learning
rate and seed). EASE is skipped, and reported as skipped with the reason,
when its dense item-item matrices would not fit (`EaseTooLarge`).

Each model trains and evaluates into `<output_dir>/<name>/` (what `train`
writes there, `metrics.json` included). The first text model's encoded
item texts (`text_cache.npz`) are copied to the next text models, which
use them only for the same texts and encoder (`share_text_cache`): the
catalog is encoded once per run. `<output_dir>` then gets:

- `report.json`: {"data", "config", "peer_config", "model_descriptions", "models": {name:
  metrics, or {"skipped": reason}}, "best_by_stratum", "published_reference",
  "targets", "factorized_top_k", "timings", "notes"};
- `report.md` (`tfrec_llm.benchmark.report`): the models with Recall@10/50,
  NDCG@10, MRR and seconds per epoch (plus the published reference rows on
  ml-100k leave-last-out), the best model per stratum and its ratio to the
  second, every model per stratum, the history cuts, the targets
  (`tfrec_llm.benchmark.targets`), TFRS FactorizedTopK and costs;
- PNG plots (`tfrec_llm.benchmark.plots`; skipped with a warning when
  matplotlib is not installed).

Cost measurement. By default every model runs in its own child process
started with multiprocessing's "spawn" method (a fresh interpreter; the
data reach it through multiprocessing's in-memory pipe, never a file).
Inside the child:
- `wall_seconds`: wall time of that model's `train` call (data split,
  text encoding, training, saving, evaluation);
- `cpu_seconds`: the CPU time (user + system, every thread) of the same
  call: unlike wall time, barely changed by other load on the machine;
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
TensorFlow import. `seconds_per_epoch` is `train_seconds` over the epochs
the model ran (None for popularity and EASE, which have no epochs). With
`separate_processes=False` (used by fast tests) models run in the calling
process and memory is not measured (None): a process's peak memory cannot
be attributed to one of several runs.
"""

import json
import logging
import multiprocessing
import os
import resource
import shutil
import sys
import time
from typing import Dict, Optional, Tuple

from tfrec_llm.benchmark.benchmark_models import (
    EASE,
    MODEL_NAMES,
    POPULARITY,
    check_peer_config,
    model_configs,
    peer_descriptions,
)
from tfrec_llm.benchmark.report import benchmark_markdown, best_by_stratum, write_report_files
from tfrec_llm.benchmark.target_intervals import add_best_intervals, add_margin_intervals, load_run_ranks
from tfrec_llm.benchmark.targets import (
    ML_100K_NAME_PART,
    PUBLISHED_ML_100K_LEAVE_LAST_OUT_RECALL_AT_10,
    TFRS_PROTOCOL,
    TFRS_PUBLISHED_TOP_100,
    evaluate_targets,
    is_published_protocol,
)
from tfrec_llm.experiment_config import ExperimentConfig

logger = logging.getLogger(__name__)

REPORT_JSON_FILE = "report.json"
REPORT_MD_FILE = "report.md"
RUN_COST_FILE = "benchmark_run.json"
METRICS_FILE = "metrics.json"
TEXT_CACHE_FILE = "text_cache.npz"  # written by `trainer.text_tables`, checked by its key
SPAWN_START_METHOD = "spawn"
BYTES_PER_MB = 1024 * 1024
KILOBYTE = 1024
PROC_STATUS_FILE = "/proc/self/status"
PEAK_RSS_FIELD = "VmHWM:"
# `ru_maxrss` is in kilobytes on Linux and in bytes on macOS.
MAX_RSS_UNIT_BYTES = 1 if sys.platform == "darwin" else KILOBYTE

MEMORY_NOTE = (
    "peak RSS: the resident-memory high-water mark (VmHWM) of the model's own child process (Python + "
    "TensorFlow + the data copy + training and evaluation); RSS before run: the same once TensorFlow and "
    "the data were loaded, before training. Their difference approximates what training and evaluation "
    "added. Wall times are sensitive to other load on the machine; cpu_seconds (CPU time of the model's "
    "train call, all threads) much less."
)
IN_PROCESS_MEMORY_NOTE = "memory not measured: the models ran in the benchmark's own process."


def run_model(
    name: str, config: ExperimentConfig, data, model_dir: str, separate_process: bool = True
) -> Tuple[dict, dict]:
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
            target=_model_process_main,
            name=f"benchmark-{name}",
            args=(name, config.to_dict(), data, model_dir, logging.getLogger().getEffectiveLevel()),
        )
        process.start()
        process.join()
        if process.exitcode != 0 or not os.path.exists(cost_path):
            raise RuntimeError(
                f"Benchmark model {name!r} failed in its child process (exit code "
                f"{process.exitcode}); its traceback is printed above."
            )
        cost = _read_json(cost_path)
        metrics = _read_json(os.path.join(model_dir, METRICS_FILE))
    else:
        metrics, cost = _train_and_measure(name, config, data, model_dir)
        cost["peak_rss_mb"] = cost["rss_before_run_mb"] = cost["memory_source"] = None
    cost["process_seconds"] = time.time() - started
    training = metrics["training"]
    for phase in ("data_seconds", "text_seconds", "train_seconds", "eval_seconds"):
        cost[phase] = training.get(phase)
    cost["epochs"] = training.get("epochs_run") or len(training.get("loss", [])) or None
    cost["seconds_per_epoch"] = (
        training["train_seconds"] / cost["epochs"]
        if cost["epochs"] and training.get("train_seconds") is not None
        else None
    )
    return metrics, cost


def share_text_cache(previous_cache: Optional[str], config: ExperimentConfig, model_dir: str) -> Optional[str]:
    """Offers `model_dir` the text cache of an earlier model; returns the cache the next model is offered.

    Every text model of a run encodes the same catalog texts with the same
    encoder: the first one's `text_cache.npz` is copied into the next ones'
    directories (unless they hold one), and `trainer.text_tables` uses it
    only when its key (texts, token shape and the encoder's fingerprint:
    source, configs, vocabulary and weights) matches, so a model never
    gets another encoder's vectors; otherwise it encodes and overwrites it.
    """
    if not config.model.use_text or config.text.mode != "frozen":
        return previous_cache
    own_cache = os.path.join(model_dir, TEXT_CACHE_FILE)
    if previous_cache is not None and os.path.exists(previous_cache) and not os.path.exists(own_cache):
        os.makedirs(model_dir, exist_ok=True)
        shutil.copyfile(previous_cache, own_cache)
    return own_cache


def ease_skip_reason(num_items: int) -> Optional[str]:
    """Why EASE is skipped on a catalog of `num_items` items, or None when it fits."""
    # pylint: disable=import-outside-toplevel
    from tfrec_llm.benchmark.ease_baseline import EaseTooLarge, check_ease_fits

    try:
        check_ease_fits(num_items)
    except EaseTooLarge as error:
        return str(error)
    return None


def report_data_section(config: ExperimentConfig, data) -> dict:
    """report.json's "data": name, source(s), split and sizes; joined scenarios list every NAME=SOURCE."""
    sources = config.data.scenario_sources
    return {
        "name": data.name,
        "source": ", ".join(f"{name}={source}" for name, source in sources.items()) if sources else config.data.source,
        "split": config.data.split,
        "interactions": len(data.interactions),
        "items": len(data.catalog),
    }


def run_benchmark(
    config: ExperimentConfig,
    output_dir: str,
    data=None,
    separate_processes: bool = True,
    peer_config: Optional[dict] = None,
) -> dict:
    """Runs every benchmark model and writes the report; returns {"markdown", "report", paths}.

    Args:
        config: the full model's config; the other models change only the towers.
        output_dir: where model directories, report.json, report.md and
            the plots go.
        data: an `InteractionData`; None loads `config.data` once.
        separate_processes: run each model in its own "spawn" child process
            (measures its memory); False runs them here (faster, no memory).
        peer_config: {"model": {...}, "train": {"learning_rate": ...}} settings
            of the id-only peers only, for all or per peer name
            (`benchmark_models.model_configs`); recorded in the report.

    Returns:
        {"markdown": report.md's text, "report": the report.json dict,
        "report_json", "report_md": paths, "plots": name -> PNG path,
        "model_dirs": name -> directory}.

    Example:
        run_benchmark(ExperimentConfig().updated({"data": {"source": "ml-100k",
                      "split": "leave_last_out"}}), "runs/bench")
    """
    config.validate()
    peer_config = check_peer_config(peer_config)
    configs = model_configs(config, peer_config)
    for model_config in configs.values():  # a bad peer setting fails here, before any training
        model_config.validate()
    os.makedirs(output_dir, exist_ok=True)
    if data is None:
        from tfrec_llm.training.experiment_data import load_source  # pylint: disable=import-outside-toplevel

        data = load_source(config)
    models, timings, model_dirs = {}, {}, {}
    text_cache = None  # the item texts encoded by the run's first text model, offered to the next ones
    descriptions = peer_descriptions(peer_config)
    for position, (name, model_config) in enumerate(configs.items(), start=1):
        logger.info("Benchmark model %d/%d: %s (%s)", position, len(MODEL_NAMES), name, descriptions[name])
        skip_reason = ease_skip_reason(len(data.catalog)) if name == EASE else None
        if skip_reason:
            logger.warning("Benchmark model %s: %s", name, skip_reason)
            models[name], timings[name] = {"skipped": skip_reason}, {"skipped": skip_reason}
            continue
        model_dirs[name] = os.path.join(output_dir, name)
        text_cache = share_text_cache(text_cache, model_config, model_dirs[name])
        models[name], timings[name] = run_model(name, model_config, data, model_dirs[name], separate_processes)
        logger.info("Benchmark model %s done in %.1fs", name, timings[name]["process_seconds"])

    published = is_published_protocol(data.name, config.data.split)
    targets, best = evaluate_targets(models, data.name, config.data.split), best_by_stratum(models)
    run_ranks = [load_run_ranks(output_dir, model_dirs)]
    add_margin_intervals(targets, run_ranks)
    add_best_intervals(best, run_ranks)
    report = {
        "data": report_data_section(config, data),
        "config": config.to_dict(),
        "peer_config": peer_config,
        "model_descriptions": descriptions,
        "models": models,
        "best_by_stratum": best,
        "published_reference": dict(PUBLISHED_ML_100K_LEAVE_LAST_OUT_RECALL_AT_10) if published else None,
        "targets": targets,
        "factorized_top_k": {
            "models": {name: metrics.get("factorized_top_k", {}) for name, metrics in models.items()},
            "published_top_100": dict(TFRS_PUBLISHED_TOP_100),
            "comparable_with_published": ML_100K_NAME_PART in data.name and config.data.split == TFRS_PROTOCOL[1],
        },
        "timings": timings,
        "notes": {"memory": MEMORY_NOTE if separate_processes else IN_PROCESS_MEMORY_NOTE},
    }
    plots = _write_plots(models, output_dir)
    markdown = benchmark_markdown(report, plots)
    paths = write_report_files(output_dir, report, markdown, REPORT_JSON_FILE, REPORT_MD_FILE)
    return {"markdown": markdown, "report": report, "plots": plots, "model_dirs": model_dirs, **paths}


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
    elif name == EASE:
        from tfrec_llm.benchmark.ease_baseline import train_ease_baseline as train_function
    else:
        from tfrec_llm.training.trainer import train as train_function
    rss_before, memory_source = _peak_rss_mb()
    started, cpu_started = time.time(), time.process_time()
    metrics = train_function(config, model_dir, data=data)
    wall_seconds = time.time() - started
    return metrics, {
        "wall_seconds": wall_seconds,
        "cpu_seconds": time.process_time() - cpu_started,
        "peak_rss_mb": _peak_rss_mb()[0],
        "rss_before_run_mb": rss_before,
        "memory_source": memory_source,
    }


def _peak_rss_mb() -> Tuple[float, str]:
    """(peak resident memory of this process in MB, where it was read)."""
    if os.path.exists(PROC_STATUS_FILE):
        with open(PROC_STATUS_FILE, encoding="utf-8") as f:
            for line in f:
                if line.startswith(PEAK_RSS_FIELD):
                    return int(line.split()[1]) * KILOBYTE / BYTES_PER_MB, "VmHWM"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * MAX_RSS_UNIT_BYTES / BYTES_PER_MB, "ru_maxrss"


def _write_plots(models: Dict[str, dict], output_dir: str) -> Dict[str, str]:
    try:
        from tfrec_llm.benchmark.plots import write_benchmark_plots  # pylint: disable=import-outside-toplevel
    except ImportError as error:
        logger.warning("No benchmark plots: matplotlib is missing (pip install 'tfrec-llm[plots]'): %s", error)
        return {}
    return write_benchmark_plots(models, output_dir)


def _read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)
