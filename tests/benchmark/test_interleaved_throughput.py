"""The interleaved throughput benchmark times every model in one process, in alternating blocks."""

import tf_keras

from tfrec_llm.benchmark import interleaved_throughput
from tfrec_llm.training.lazy_adam import LazyAdam
from tfrec_llm.training.weight_averaging import uses_weight_averaging


def test_interleaved_rows_time_each_model_and_compare_with_the_plain_one(monkeypatch):
    lines, copies = [], {}
    build_copies = interleaved_throughput.optimizer_copies
    monkeypatch.setattr(
        interleaved_throughput, "optimizer_copies", lambda parts: copies.update(build_copies(parts)) or copies
    )
    rows = interleaved_throughput.run_interleaved("20000", rounds=2, block=1, log=lines.append)
    by_model = {row["model"]: row for row in rows}
    assert list(by_model) == ["tfrs_plain", "frozen_text", "frozen_text_keras_adam", "frozen_text_averaged"]
    assert all(row["steps_timed"] == 2 and row["examples_per_second"] > 0 for row in rows)
    assert by_model["tfrs_plain"]["ratio_to_plain"] == 1.0
    plain_rate = by_model["tfrs_plain"]["examples_per_second"]
    ours = by_model["frozen_text"]
    assert ours["ratio_to_plain"] == plain_rate / ours["examples_per_second"]
    for copy in ("frozen_text_keras_adam", "frozen_text_averaged"):  # the same model, batches and examples
        assert by_model[copy]["examples_per_step"] == by_model["frozen_text"]["examples_per_step"]
    keras_adam, averaged = copies["frozen_text_keras_adam"], copies["frozen_text_averaged"]
    assert type(keras_adam.optimizer) is tf_keras.optimizers.Adam and not uses_weight_averaging(keras_adam)
    assert isinstance(averaged.optimizer, LazyAdam) and uses_weight_averaging(averaged)
    assert averaged.optimizer.ema_momentum == interleaved_throughput.AVERAGING_MOMENTUM
    assert lines and lines[0].startswith("setup")
    assert "| 20000 | frozen_text |" in interleaved_throughput.format_table(rows)
