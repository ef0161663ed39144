"""The training-throughput benchmark: input wait vs step time, sizes, ratios, one real cell."""

import time

import pytest

import tfrec_llm  # noqa: F401
import tensorflow as tf

from tfrec_llm.benchmark import training_throughput as throughput


def _sleeping_step(seconds):
    def step(batch):
        time.sleep(seconds)
        return {"loss": tf.reduce_sum(batch)}

    return step


def _slow_input(seconds, batches):
    def produce(x):
        time.sleep(seconds)
        return x

    return tf.data.Dataset.range(batches).map(lambda x: tf.py_function(produce, [x], tf.int64)).batch(1)


def test_a_slow_input_pipeline_shows_as_input_wait():
    timing = throughput.time_steps(_sleeping_step(0.001), _slow_input(0.03, 10), lambda b: 1)
    assert timing["steps"] == 10 - throughput.WARMUP_STEPS
    assert timing["wait"] / (timing["wait"] + timing["compute"]) > 0.7


def test_a_prefetched_pipeline_behind_a_slow_step_shows_no_wait():
    dataset = tf.data.Dataset.range(10).batch(1).prefetch(4)
    timing = throughput.time_steps(_sleeping_step(0.03), dataset, lambda b: 5)
    assert timing["examples"] == 5 * timing["steps"]
    assert timing["wait"] / (timing["wait"] + timing["compute"]) < 0.2


def test_max_steps_cuts_the_epoch():
    dataset = tf.data.Dataset.range(20).batch(1)
    timing = throughput.time_steps(_sleeping_step(0), dataset, lambda b: 1, max_steps=4)
    assert timing["steps"] == 4


def test_a_deadline_stops_the_epoch_and_progress_is_logged(monkeypatch):
    monkeypatch.setattr(throughput, "LOG_EVERY_STEPS", 2)
    lines = []
    dataset = tf.data.Dataset.range(20).batch(1)
    timing = throughput.time_steps(_sleeping_step(0), dataset, lambda b: 1, log=lines.append)
    assert timing["steps"] == 20 - throughput.WARMUP_STEPS and len(lines) == timing["steps"] // 2
    assert lines[0].startswith("step 2: ") and "input wait" in lines[0]
    passed = throughput.time_steps(_sleeping_step(0), dataset, lambda b: 1, deadline=time.time())
    assert passed["steps"] == 1


@pytest.mark.parametrize("size, count", [("100k", 100_000), ("1M", 1_000_000), ("5000", 5000)])
def test_sizes_parse(size, count):
    assert throughput.parse_size(size) == count


@pytest.mark.parametrize("size", ["", "k", "-5k", "1.5M", "10G"])
def test_bad_sizes_are_refused(size):
    with pytest.raises(ValueError, match="Bad size"):
        throughput.parse_size(size)


def test_world_scales_items_and_users_with_interactions():
    config = throughput.world_config(10_000_000)
    assert (config.num_items, config.num_users, config.num_interactions) == (1_000_000, 400_000, 10_000_000)


def test_ratio_is_time_per_example_against_the_plain_model_of_the_same_size():
    rows = throughput.add_ratios(
        [
            {"size": "1M", "model": "tfrs_plain", "examples_per_second": 1000.0},
            {"size": "1M", "model": "frozen_text", "examples_per_second": 500.0},
            {"size": "10M", "model": "frozen_text", "examples_per_second": 400.0},
        ]
    )
    assert [r["ratio_to_plain"] for r in rows] == [1.0, 2.0, None]


@pytest.mark.slow
@pytest.mark.parametrize(
    "model_name, negatives",
    [
        ("tfrs_plain", "in_batch"),
        ("frozen_text", "full_catalog"),
        ("frozen_text_in_batch", "in_batch"),
        ("id_only_full_catalog", "full_catalog"),
        ("id_only", "full_catalog"),  # 4,000 items: "auto" keeps the full-catalog softmax
    ],
)
def test_one_small_cell_measures_a_real_model(model_name, negatives):
    result = throughput.measure_cell("40k", model_name, max_steps=2)  # >= 5 steps of either model
    assert result.steps_timed == 2
    assert result.negatives == negatives
    assert result.examples_per_second > 0 and result.peak_rss_gib > 0
    assert 0 <= result.input_wait_share < 1
    assert result.epoch_extrapolated == (result.steps_per_epoch > 2 + throughput.WARMUP_STEPS)


def test_the_cost_separating_cells_change_only_negatives_or_text():
    from tfrec_llm.benchmark.throughput_models import MODEL_SETTINGS, build

    assert MODEL_SETTINGS["frozen_text_in_batch"] == {"text": {"mode": "frozen"}, "model": {"negatives": "in_batch"}}
    assert MODEL_SETTINGS["id_only_full_catalog"]["model"] == {"use_text": False, "negatives": "full_catalog"}
    keras_adam = {**MODEL_SETTINGS["frozen_text"], "train": {"lazy_adam_min_rows": 0}}
    assert MODEL_SETTINGS["frozen_text_keras_adam"] == keras_adam
    with pytest.raises(ValueError, match="id_only_full_catalog"):
        build("no_such_model", throughput.world_config(1000), "/nonexistent")


def test_a_cell_s_train_settings_reach_the_optimizer(tmp_path):
    from tfrec_llm.benchmark.throughput_models import build

    setup = build("frozen_text_keras_adam", throughput.world_config(2000), str(tmp_path))
    assert setup.parts["config"].train.lazy_adam_min_rows == 0
    assert setup.parts["model"].optimizer.min_rows == 0  # Keras' Adam on every table
