"""`text_tables`: the item token table, and a warning counting the item texts it cut."""

from tiny_fixtures import make_tiny_config, make_tiny_encoder, make_tiny_world

from tfrec_llm.training.experiment_data import prepare_experiment_data
from tfrec_llm.training.trainer import text_tables

SHORT_SEQUENCE_LENGTH = 5


def test_text_tables_warns_with_the_count_of_cut_item_texts(tmp_path, caplog):
    config = make_tiny_config(text={"sequence_length": SHORT_SEQUENCE_LENGTH})
    experiment = prepare_experiment_data(config, make_tiny_world())
    encoder = make_tiny_encoder()

    with caplog.at_level("WARNING"):
        texts, token_table, _ = text_tables(config, experiment, encoder, str(tmp_path))

    cut = sum(len(encoder.tokenizer(text)) + 2 > SHORT_SEQUENCE_LENGTH for text in texts)
    assert 0 < cut
    assert token_table.shape[1] == SHORT_SEQUENCE_LENGTH
    assert (
        f"{cut} of {len(texts)} item texts ({100 * cut / len(texts):.1f}%) were longer than "
        f"text.sequence_length={SHORT_SEQUENCE_LENGTH} tokens and were cut"
    ) in caplog.text
