"""One epoch at scale, end to end in one process: world, train, evaluate, save, export.

`run_end_to_end("10M", out_dir)` does what `tfrec-llm train --export-dir`
does at that size, with the throughput benchmark's timed steps instead of
`model.fit` (so input wait is measured over the whole epoch): it builds the
built-in world of that size (`training_throughput.world_config`: 10M
interactions, 1M items, 400k users), prepares the examples, computes the
frozen text cache, trains one epoch of `frozen_text` (`throughput_models`,
fallback encoder `none`, no validation hold-out), writes the model
directory `train` writes (config, weights, assets, text encoder), evaluates
on the full catalog and exports the SavedModels (validated in fresh
processes). Every phase's wall time and the process's peak RSS (all phases
included) are reported.

Evaluation scores `eval_max_examples` test examples drawn at random with
`seed` (`train.eval_max_examples`; 0 = all): at 1M items each example costs
a 1M-score ranking, so all 2M test events would take hours here. The number
evaluated is in the report (`metrics["overall"]["n"]`).

`deadline` (a `time.time()`) stops training early, before the epoch ends;
the report then says how many steps ran and extrapolates the epoch time.

Example:
    report = run_end_to_end("100k", "/tmp/run", eval_max_examples=500)
    report["phases"]["train_seconds"], report["metrics"]["overall"]["recall@10"]
"""

import json
import os
import resource
import time

from tfrec_llm.benchmark.training_throughput import WARMUP_STEPS, parse_size, time_steps, world_config

MODEL = "frozen_text"


def run_end_to_end(
    size: str,
    output_dir: str,
    batch_size: int = 0,
    eval_max_examples: int = 5000,
    max_steps: int = 0,
    deadline: float = 0,
    seed: int = 0,
    export: bool = True,
    log=print,
) -> dict:
    """Runs the phases of the module docstring; writes `<output_dir>/model`, `export`, `scale_run.json`.

    Args:
        size: interactions of the built-in world, e.g. "10M".
        output_dir: a new or empty directory.
        batch_size: sequence rows per batch (0 = `train.batch_size`).
        eval_max_examples: test examples evaluated, a seeded random sample (0 = all).
        max_steps, deadline: stop training early (0 = the whole epoch).
        seed: world, shuffling and evaluation-sample seed.
        export: also export the SavedModels.
        log: progress lines.
    """
    # pylint: disable=import-outside-toplevel
    from tfrec_llm.benchmark import throughput_models
    from tfrec_llm.data.synthetic.builtin_world import generate_builtin_world
    from tfrec_llm.models.text.encoder_loading import save_text_encoder
    from tfrec_llm.serving.export.exporter import export_models
    from tfrec_llm.training.model_building import save_weights
    from tfrec_llm.training.model_evaluation import evaluate_model
    from tfrec_llm.training.trained_model import TEXT_ENCODER_DIR
    from tfrec_llm.training.trainer import write_config

    model_dir = os.path.join(output_dir, "model")
    os.makedirs(model_dir, exist_ok=True)
    phases = {}
    clock = _Clock(phases, log)
    data = clock.phase("world", lambda: generate_builtin_world(world_config(parse_size(size), seed)))
    setup = clock.phase(
        "data_and_text_cache", lambda: throughput_models.build(MODEL, None, model_dir, seed, batch_size, data)
    )
    parts = setup.parts
    timing = clock.phase(
        "train",
        lambda: time_steps(setup.step, setup.dataset, setup.count_examples, max_steps, deadline, log),
    )
    epoch_done = timing["steps"] + WARMUP_STEPS >= setup.steps_per_epoch

    def save():
        write_config(parts["config"], model_dir)
        save_weights(parts["model"], model_dir)
        parts["assets"].save(model_dir)
        save_text_encoder(parts["encoder"], os.path.join(model_dir, TEXT_ENCODER_DIR))

    clock.phase("save", save)
    experiment = parts["experiment"]
    metrics = clock.phase(
        "evaluate",
        lambda: evaluate_model(
            parts["model"],
            parts["assets"],
            experiment.test_examples,
            experiment.split.excludes_seen_items,
            eval_max_examples,
            seed,
        ),
    )
    if export:
        clock.phase("export", lambda: export_models(model_dir, os.path.join(output_dir, "export")))
    total = timing["wait"] + timing["compute"]
    report = {
        "size": size,
        "model": MODEL,
        "items": len(data.catalog),
        "users": len(data.user_features.user_ids),
        "interactions": len(data.interactions),
        "batch_rows": parts["config"].train.batch_size,
        "negatives": setup.negatives,
        "steps_per_epoch": setup.steps_per_epoch,
        "steps_run": timing["steps"] + WARMUP_STEPS,
        "epoch_completed": epoch_done,
        "examples_per_second": timing["examples"] / total,
        "input_wait_share": timing["wait"] / total,
        "epoch_seconds_estimate": total / timing["steps"] * setup.steps_per_epoch,
        "test_examples": len(experiment.test_examples),
        "evaluated_examples": metrics["overall"]["n"],
        "recall@10": metrics["overall"]["recall@10"],
        "phases": phases,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "metrics": metrics,
    }
    with open(os.path.join(output_dir, "scale_run.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    return report


class _Clock:
    """Times named phases into `phases[<name>_seconds]` and logs each with the peak RSS so far."""

    def __init__(self, phases: dict, log):
        self.phases, self.log = phases, log

    def phase(self, name: str, run):
        started = time.perf_counter()
        result = run()
        self.phases[f"{name}_seconds"] = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        self.log(f"{name}: {self.phases[f'{name}_seconds']:.0f} s, peak RSS so far {peak:.2f} GiB")
        return result
