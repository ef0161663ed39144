"""The interleaved throughput benchmark times every model in one process, in alternating blocks."""

from tfrec_llm.benchmark import interleaved_throughput


def test_interleaved_rows_time_each_model_and_compare_with_the_plain_one():
    lines = []
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
    assert lines and lines[0].startswith("setup")
    assert "| 20000 | frozen_text |" in interleaved_throughput.format_table(rows)
