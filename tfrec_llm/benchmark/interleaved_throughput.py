"""Training throughput measured in one process, the models' steps interleaved.

`training_throughput` runs each model in its own process, one after
another: right for peak memory, but on a shared machine the load can change
between cells, and the ratio to the plain model carries that change. Here
the models share one world and one process, and their timed steps alternate
in blocks (plain, ours, ours with Keras' Adam, plain, ...), so a change of
load falls on every model alike. Peak memory is not per model here.

Models: `tfrs_plain`, `frozen_text` (as `train` builds it: `LazyAdam`),
`frozen_text_keras_adam` (the same model and batches, Keras' Adam on every
table: what `frozen_text` was before `LazyAdam`) and `frozen_text_averaged`
(the same again, `LazyAdam` with `train.weight_average_momentum`
`AVERAGING_MOMENTUM`: Keras' moving average of every weight, each step).

Example:
    rows = run_interleaved("100k", rounds=8, block=5)
    print(format_table(rows))
"""

import dataclasses
import tempfile
import time
from typing import List

import numpy as np

BLOCK_STEPS = 5
ROUNDS = 8
AVERAGING_MOMENTUM = 0.99


def run_interleaved(size: str, rounds: int = ROUNDS, block: int = BLOCK_STEPS, seed: int = 0, log=print) -> List[dict]:
    """Rows {model, examples_per_second, ratio_to_plain, median_step_seconds, examples_per_step, steps_timed}.

    Args:
        size: world size ("100k", "1M", "10M", or a count), as `bench_training.py --sizes`.
        rounds, block: each round times `block` steps of every model in turn.
        seed: world and model seed.
        log: progress lines (setup times).
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from tfrec_llm.benchmark import throughput_models  # pylint: disable=import-outside-toplevel
    from tfrec_llm.benchmark.training_throughput import WARMUP_STEPS, parse_size, world_config  # pylint: disable=import-outside-toplevel
    from tfrec_llm.data.synthetic.builtin_world import generate_builtin_world  # pylint: disable=import-outside-toplevel

    started = time.perf_counter()
    data = generate_builtin_world(world_config(parse_size(size), seed))
    with tempfile.TemporaryDirectory() as cache_dir:
        plain = throughput_models.build("tfrs_plain", None, cache_dir, seed, data=data)
        ours = throughput_models.build("frozen_text", None, cache_dir, seed, data=data)
    copies = optimizer_copies(ours.parts)
    log(f"setup {time.perf_counter() - started:.0f} s")
    models = {
        "tfrs_plain": (plain.step, iter(plain.dataset.repeat()), plain.count_examples),
        "frozen_text": (ours.step, iter(ours.dataset.repeat()), ours.count_examples),
        **{
            name: (tf.function(model.train_step), iter(ours.dataset.repeat()), ours.count_examples)
            for name, model in copies.items()
        },
    }
    for step, batches, _ in models.values():
        for _ in range(WARMUP_STEPS):
            float(step(next(batches))["loss"])
    seconds = {name: [] for name in models}
    examples = dict.fromkeys(models, 0)
    for _ in range(rounds):
        for name, (step, batches, count) in models.items():
            for _ in range(block):
                batch = next(batches)
                tick = time.perf_counter()
                float(step(batch)["loss"])  # reading the loss waits for the step
                seconds[name].append(time.perf_counter() - tick)
                examples[name] += int(count(batch))
    rate = {name: examples[name] / sum(seconds[name]) for name in models}
    return [
        {
            "size": size,
            "model": name,
            "examples_per_second": rate[name],
            "ratio_to_plain": rate["tfrs_plain"] / rate[name],
            "median_step_seconds": float(np.median(seconds[name])),
            "examples_per_step": examples[name] / len(seconds[name]),
            "steps_timed": len(seconds[name]),
        }
        for name in models
    ]


def optimizer_copies(parts: dict) -> dict:
    """{"frozen_text_keras_adam", "frozen_text_averaged"}: the `frozen_text` model built again, other optimizers.

    `parts` is `throughput_models.build("frozen_text", ...).parts` (same config and assets).
    """
    import tf_keras  # pylint: disable=import-outside-toplevel

    from tfrec_llm.training import trainer  # pylint: disable=import-outside-toplevel
    from tfrec_llm.training.model_building import build_model, make_optimizer  # pylint: disable=import-outside-toplevel

    config = parts["config"]
    averaging = dataclasses.replace(config.train, weight_average_momentum=AVERAGING_MOMENTUM)
    optimizers = {
        "frozen_text_keras_adam": tf_keras.optimizers.Adam(config.train.learning_rate),
        "frozen_text_averaged": make_optimizer(dataclasses.replace(config, train=averaging)),
    }
    copies = {}
    for name, optimizer in optimizers.items():
        model = build_model(config, parts["assets"], parts["encoder"])
        trainer.build_variables(model, parts["assets"], config)
        model.compile(optimizer=optimizer)
        copies[name] = model
    return copies


def format_table(rows: List[dict]) -> str:
    """A Markdown table of `run_interleaved` rows."""
    lines = [
        "| size | model | examples/s | median step s | examples/step | steps | × plain (time/example) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['size']} | {r['model']} | {r['examples_per_second']:,.0f} | {r['median_step_seconds']:.3f} "
            f"| {r['examples_per_step']:,.0f} | {r['steps_timed']} | {r['ratio_to_plain']:.2f} |"
        )
    return "\n".join(lines)
