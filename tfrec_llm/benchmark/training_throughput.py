"""Training throughput: the plain TFRS two-tower against our model, per training example.

Each cell (world size x model) runs in its own child process, so its peak
RSS (`ru_maxrss`: world generation, text cache and training included) is its
own. The built-in world of `num_interactions` events has
`num_interactions // 10` items and `num_interactions // 25` users
(`world_config`), so 10M interactions means 1M items.

Models:
- `tfrs_plain`: the TFRS tutorial two-tower: StringLookup + Embedding of the
  user id and of the item id, `tfrs.tasks.Retrieval` with in-batch negatives
  (no training-time top-K metrics), one (user, item) training event per
  example, `PLAIN_BATCH_SIZE` events per batch;
- `frozen_text`: our model as `train` builds it (LSTM user tower trained at
  every position, gate fusion of id and frozen BERT vectors, negatives by
  the "auto" rule), fed by `training.resume.epoch_stream`;
- `finetune_text`: the same with `text.mode=finetune` (the fallback BERT
  runs on the distinct items of every batch; in-batch negatives);
- `frozen_text_in_batch`, `id_only_full_catalog` (not in the default run):
  frozen text with the plain model's in-batch negatives, and no text with the
  full-catalog softmax, which split `frozen_text`'s cost between the text
  tower and the softmax (`throughput_models.MODEL_SETTINGS`); `id_only`:
  `frozen_text` without the text tower, negatives by "auto" (what text adds
  at any size).

An example is one training target (one event), for every model. Each step
is timed in two parts: waiting for `next(iterator)` (the input pipeline,
prefetching behind the step) and the step itself (`model.train_step`,
synchronised by reading its loss). The first `WARMUP_STEPS` (tracing) are
not counted. Epoch time is the counted steps' time scaled to the epoch's
steps: measured when the whole epoch ran, extrapolated (flagged) when
`max_steps` cut it short. One-off costs (world, examples, text cache) are
reported apart as `setup_seconds`.

Example:
    rows = run_training_benchmark(["100k"], ["tfrs_plain", "frozen_text"], max_steps={"100k": 50})
    print(format_table(rows))
"""

import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Sequence

SIZES = ("100k", "1M", "10M")
MODELS = (
    "tfrs_plain",
    "frozen_text",
    "finetune_text",
)  # the default run; also frozen_text_in_batch, id_only_full_catalog, id_only
BASELINE_MODEL = "tfrs_plain"
WARMUP_STEPS = 3
LOG_EVERY_STEPS = 100
ITEMS_PER_INTERACTION = 10  # items = interactions / 10
EVENTS_PER_USER = 25  # users = interactions / 25


@dataclasses.dataclass
class CellResult:
    """One (size, model) measurement; seconds are wall-clock seconds."""

    size: str
    model: str
    examples_per_second: float
    epoch_seconds: float
    epoch_extrapolated: bool
    input_wait_share: float
    peak_rss_gib: float
    steps_timed: int
    steps_per_epoch: int
    examples_per_epoch: int
    setup_seconds: float
    negatives: str


def parse_size(size: str) -> int:
    """Interactions of a size name: "100k" -> 100000, "1M" -> 1000000, "5000" -> 5000."""
    scale = {"k": 1_000, "M": 1_000_000}.get(size[-1:], 1)
    digits = size[:-1] if scale > 1 else size
    if not digits.isdigit() or int(digits) <= 0:
        raise ValueError(f"Bad size {size!r}: a positive count, optionally with k or M (e.g. 100k, 1M).")
    return int(digits) * scale


def world_config(num_interactions: int, seed: int = 0):
    """The built-in world of `num_interactions` events (items and users scale with it)."""
    from tfrec_llm.data.synthetic.world_config import BuiltinWorldConfig  # pylint: disable=import-outside-toplevel

    return BuiltinWorldConfig(
        num_items=max(100, num_interactions // ITEMS_PER_INTERACTION),
        num_users=max(10, num_interactions // EVENTS_PER_USER),
        num_interactions=num_interactions,
        seed=seed,
    )


def time_steps(step, dataset, count_examples, max_steps: int = 0, deadline: float = 0, log=None) -> dict:
    """Runs `step(batch)` over `dataset`; times input wait and step apart (see module docstring).

    Args:
        step: one training step; returns a dict holding "loss".
        dataset: a `tf.data.Dataset` of batches (one epoch).
        count_examples: batch -> number of training examples in it.
        max_steps: stop after this many counted steps (0 = the whole epoch).
        deadline: stop at this `time.time()` (0 = none).
        log: called with a progress line every `LOG_EVERY_STEPS` counted steps (None = silent).
    """
    wait = compute = 0.0
    examples = steps = 0
    iterator = iter(dataset)
    for index in range(10**12):
        started = time.perf_counter()
        try:
            batch = next(iterator)
        except StopIteration:
            break
        fetched = time.perf_counter()
        float(step(batch)["loss"])  # reading the loss waits for the step
        done = time.perf_counter()
        if index < WARMUP_STEPS:
            continue
        wait += fetched - started
        compute += done - fetched
        examples += int(count_examples(batch))
        steps += 1
        if log is not None and steps % LOG_EVERY_STEPS == 0:
            log(
                f"step {steps}: {examples / (wait + compute):,.0f} examples/s, input wait {wait / (wait + compute):.1%}"
            )
        if (max_steps and steps >= max_steps) or (deadline and time.time() >= deadline):
            break
    return {"wait": wait, "compute": compute, "examples": examples, "steps": steps}


def measure_cell(size: str, model_name: str, max_steps: int = 0, seed: int = 0) -> CellResult:
    """Measures one cell in this process (see `run_training_benchmark` for isolated cells)."""
    from tfrec_llm.benchmark import throughput_models  # pylint: disable=import-outside-toplevel

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as cache_dir:
        setup = throughput_models.build(model_name, world_config(parse_size(size), seed), cache_dir, seed)
        setup_seconds = time.perf_counter() - started
        timing = time_steps(setup.step, setup.dataset, setup.count_examples, max_steps)
    if timing["steps"] == 0:
        raise ValueError(f"{size}/{model_name}: the epoch has no more than {WARMUP_STEPS} warm-up steps.")
    total = timing["wait"] + timing["compute"]
    per_step = total / timing["steps"]
    return CellResult(
        size=size,
        model=model_name,
        examples_per_second=timing["examples"] / total,
        epoch_seconds=per_step * setup.steps_per_epoch,
        epoch_extrapolated=timing["steps"] + WARMUP_STEPS < setup.steps_per_epoch,
        input_wait_share=timing["wait"] / total,
        peak_rss_gib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        steps_timed=timing["steps"],
        steps_per_epoch=setup.steps_per_epoch,
        examples_per_epoch=setup.examples_per_epoch,
        setup_seconds=setup_seconds,
        negatives=setup.negatives,
    )


def run_training_benchmark(
    sizes: Sequence[str], models: Sequence[str] = MODELS, max_steps: Dict[str, int] = None, log=print
) -> List[dict]:
    """Every (size, model) cell in a child process; rows with `ratio_to_plain` added where measurable."""
    rows = []
    for size in sizes:
        for model_name in models:
            steps = (max_steps or {}).get(size, 0)
            command = [sys.executable, "-m", __name__, size, model_name, str(steps)]
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"{size}/{model_name} failed:\n{done.stderr[-3000:]}")
            row = json.loads(done.stdout.strip().splitlines()[-1])
            row["wall_seconds"] = time.perf_counter() - started
            rows.append(row)
            log(json.dumps(row))
    return add_ratios(rows)


def add_ratios(rows: List[dict]) -> List[dict]:
    """`ratio_to_plain`: a row's time per example over the plain TFRS model's at the same size."""
    plain = {r["size"]: r["examples_per_second"] for r in rows if r["model"] == BASELINE_MODEL}
    for row in rows:
        row["ratio_to_plain"] = plain[row["size"]] / row["examples_per_second"] if row["size"] in plain else None
    return rows


def format_table(rows: List[dict]) -> str:
    """A Markdown table of the rows."""
    lines = [
        "| size | model | negatives | examples/s | epoch s | input wait | peak RSS GiB | × plain (time/example) |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        epoch = f"{r['epoch_seconds']:.0f}" + (" (extrapolated)" if r["epoch_extrapolated"] else "")
        ratio = "-" if r["ratio_to_plain"] is None else f"{r['ratio_to_plain']:.2f}"
        lines.append(
            f"| {r['size']} | {r['model']} | {r['negatives']} | {r['examples_per_second']:,.0f} | {epoch} "
            f"| {100 * r['input_wait_share']:.1f}% | {r['peak_rss_gib']:.2f} | {ratio} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    import tfrec_llm  # noqa: F401  (selects legacy Keras before TensorFlow loads)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    result = measure_cell(sys.argv[1], sys.argv[2], int(sys.argv[3]))
    print(json.dumps(dataclasses.asdict(result)))
