"""Tests for the configuration dataclasses and their JSON loading."""

import json

import pytest

from tfrec_llm.experiment_config import COLUMN_ROLES, ConfigError, DataConfig, ExperimentConfig


def test_defaults_are_valid_and_documented_values():
    config = ExperimentConfig()
    assert config.validate() is config
    assert config.text.mode == "frozen"
    assert config.data.split == "time_cut"
    assert config.model.ranking_hidden_units == [64]


def test_to_dict_from_dict_round_trip():
    config = ExperimentConfig.from_dict(
        {
            "data": {"split": "random", "split_seed": 7, "items": "movies.csv"},
            "text": {"mode": "lora", "lora_rank": 8, "text_fields": ["title", "genres"]},
            "model": {"ranking_hidden_units": [32, 16], "use_item_ids": False},
            "train": {"epochs": 5, "learning_rate": 1e-4},
        }
    )
    values = config.to_dict()
    assert values["text"]["text_fields"] == ["title", "genres"]
    assert values["train"]["epochs"] == 5
    assert ExperimentConfig.from_dict(values) == config
    assert ExperimentConfig.from_dict(json.loads(json.dumps(values))) == config


def test_missing_keys_keep_their_defaults():
    config = ExperimentConfig.from_dict({"train": {"epochs": 9}})
    assert config.train.epochs == 9
    assert config.train.batch_size == ExperimentConfig().train.batch_size
    assert config.model == ExperimentConfig().model


def test_json_file_round_trip(tmp_path):
    path = tmp_path / "config.json"
    config = ExperimentConfig.from_dict({"text": {"encoder": "/models/minilm", "mode": "finetune"}})
    config.to_json_file(str(path))
    assert ExperimentConfig.from_json_file(str(path)) == config


def test_from_json_file_reads_a_partial_file(tmp_path):
    path = tmp_path / "partial.json"
    path.write_text('{"data": {"source": "ml-100k", "max_history": 5}}')
    config = ExperimentConfig.from_json_file(str(path))
    assert (config.data.source, config.data.max_history) == ("ml-100k", 5)


def test_from_json_file_errors_say_which_file_and_where(tmp_path):
    with pytest.raises(ConfigError, match="Config file not found: .*missing.json"):
        ExperimentConfig.from_json_file(str(tmp_path / "missing.json"))
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "train": {"epochs": 3,}\n}')
    with pytest.raises(ConfigError, match=r"broken.json: invalid JSON at line 2"):
        ExperimentConfig.from_json_file(str(broken))


def test_unknown_section_is_named():
    with pytest.raises(ConfigError, match=r"Unknown config sections \['trian'\]"):
        ExperimentConfig.from_dict({"trian": {"epochs": 3}})


def test_unknown_key_is_named_with_its_section():
    with pytest.raises(ConfigError, match=r"Unknown keys in config section 'train': \['epoch'\]"):
        ExperimentConfig.from_dict({"train": {"epoch": 3}})


@pytest.mark.parametrize(
    "values, message",
    [
        ({"train": {"epochs": "3"}}, r"train\.epochs must be int, got str \('3'\)"),
        ({"train": {"epochs": True}}, r"train\.epochs must be int, got bool"),
        ({"train": {"epochs": 2.5}}, r"train\.epochs must be int, got float"),
        ({"model": {"use_text": "yes"}}, r"model\.use_text must be bool, got str"),
        ({"model": {"ranking_hidden_units": 64}}, r"model\.ranking_hidden_units must be list, got int"),
        ({"model": {"ranking_hidden_units": ["64"]}}, r"model\.ranking_hidden_units\[0\] must be int, got str"),
        ({"text": {"text_fields": "title"}}, r"text\.text_fields must be list, got str"),
        ({"text": {"encoder": 5}}, r"text\.encoder must be str, got int"),
        ({"data": {"items": ["a.csv"]}}, r"data\.items must be str, got list"),
        ({"train": {"epochs": None}}, r"train\.epochs must be int, got NoneType"),
        ({"data": {"split_seed": None}}, r"data\.split_seed must be int, got NoneType"),
        ({"data": "builtin"}, r"Config section 'data' must be an object"),
        (
            {"model": {"attention_feed_forward_multiplier": 1.5}},
            r"model\.attention_feed_forward_multiplier must be int",
        ),
        ({"model": {"attention_dropout": "0.5"}}, r"model\.attention_dropout must be float, got str"),
    ],
)
def test_wrong_types_name_the_key(values, message):
    with pytest.raises(ConfigError, match=message):
        ExperimentConfig.from_dict(values)


def test_optional_keys_accept_null_and_floats_accept_ints():
    config = ExperimentConfig.from_dict(
        {
            "text": {"encoder": None, "text_fields": None},
            "train": {"learning_rate": 1},
            "data": {"time_cut_quantile": 1},
        }
    )
    assert config.text.encoder is None
    assert config.train.learning_rate == 1


def test_attention_encoder_keys_default_to_the_old_encoder_and_round_trip_through_json(tmp_path):
    model = ExperimentConfig().model
    assert (model.attention_dropout, model.attention_feed_forward_multiplier) == (None, 1)
    config = ExperimentConfig.from_dict(
        {"model": {"user_tower": "attention", "attention_dropout": 0.5, "attention_feed_forward_multiplier": 4}}
    )
    config.to_json_file(str(tmp_path / "config.json"))
    restored = ExperimentConfig.from_json_file(str(tmp_path / "config.json"))
    assert restored == config
    assert (restored.model.attention_dropout, restored.model.attention_feed_forward_multiplier) == (0.5, 4)


def test_a_config_must_be_an_object():
    with pytest.raises(ConfigError, match="must be a JSON object, got list"):
        ExperimentConfig.from_dict([{"train": {}}])


@pytest.mark.parametrize(
    "values, message",
    [
        ({"text": {"mode": "bert"}}, r"text\.mode must be one of \['frozen', 'finetune', 'lora'\], got 'bert'"),
        ({"text": {"sequence_length": 2}}, r"text\.sequence_length must be >= 3"),
        ({"text": {"lora_rank": 0}}, r"text\.lora_rank must be > 0"),
        ({"data": {"split": "by_day"}}, r"data\.split must be one of"),
        ({"data": {"time_cut_quantile": 1.5}}, r"data\.time_cut_quantile must be in \[0\.0, 1\.0\], got 1\.5"),
        ({"data": {"max_history": 0}}, r"data\.max_history must be > 0"),
        ({"model": {"use_text": False, "use_item_ids": False}}, "cannot both be false"),
        ({"model": {"ranking_weight": -0.1}}, r"model\.ranking_weight must be >= 0"),
        ({"model": {"item_id_dropout": 2.0}}, r"model\.item_id_dropout must be in"),
        ({"model": {"attention_dropout": 0.95}}, r"model\.attention_dropout must be in \[0\.0, 0\.9\], got 0\.95"),
        ({"model": {"attention_dropout": -0.1}}, r"model\.attention_dropout must be in"),
        ({"model": {"attention_feed_forward_multiplier": 0}}, r"model\.attention_feed_forward_multiplier must be > 0"),
        (
            {"model": {"empty_history_targets": True, "training_targets": "last_position"}},
            r"model\.empty_history_targets needs model\.training_targets \"every_position\"",
        ),
        (
            {"model": {"empty_history_answer": "mean"}},
            r"model\.empty_history_answer must be one of \['model', 'popularity', 'validation'\], got 'mean'",
        ),
        ({"model": {"id_init": "pca"}}, r"model\.id_init must be one of \['auto', 'random', 'text'\], got 'pca'"),
        ({"model": {"id_init": "text", "use_text": False}}, r"model\.id_init \"text\" needs model\.use_text"),
        (
            {"model": {"id_text_prior_weight": 0.5, "use_text": False}},
            r"model\.id_text_prior_weight > 0 needs model\.use_text and model\.use_item_ids",
        ),
        ({"model": {"id_text_prior_weight": -1.0}}, r"model\.id_text_prior_weight must be >= 0"),
        ({"train": {"epochs": 0}}, r"train\.epochs must be > 0, got 0"),
        ({"train": {"strategy": "gpu"}}, r"train\.strategy must be one of"),
        ({"train": {"checkpoint_every_steps": -1}}, r"train\.checkpoint_every_steps and train\.eval_max_examples"),
    ],
)
def test_invalid_values_are_rejected_with_the_key(values, message):
    with pytest.raises(ConfigError, match=message):
        ExperimentConfig.from_dict(values)


def test_updated_applies_overrides_and_validates():
    config = ExperimentConfig().updated({"train": {"epochs": 1}, "text": {"mode": "finetune"}})
    assert (config.train.epochs, config.text.mode) == (1, "finetune")
    assert ExperimentConfig().train.epochs == 3  # the original is untouched
    with pytest.raises(ConfigError, match="Unknown config section 'optimizer'"):
        ExperimentConfig().updated({"optimizer": {"name": "sgd"}})
    with pytest.raises(ConfigError, match=r"train\.epochs must be > 0"):
        ExperimentConfig().updated({"train": {"epochs": -1}})


def test_data_columns_survive_a_json_round_trip_and_parse_from_the_flag_syntax(tmp_path):
    columns = {"user_id": "visitor", "timestamp": "ts", "text": ["title", "tags"]}
    config = ExperimentConfig.from_dict({"data": {"source": "events.csv", "columns": columns}})
    path = tmp_path / "config.json"
    config.to_json_file(str(path))

    assert ExperimentConfig.from_json_file(str(path)).data.columns == columns
    assert DataConfig.parse_columns("user_id=visitor, timestamp=ts,text=title+tags") == columns
    assert ExperimentConfig().data.columns == {}


def test_data_column_roles_are_the_loaders_roles():
    from tfrec_llm.data.loaders import tabular_columns  # pylint: disable=import-outside-toplevel

    assert COLUMN_ROLES == tabular_columns.COLUMN_ROLES


@pytest.mark.parametrize(
    "columns, message",
    [
        ({"usr_id": "visitor"}, r"data\.columns: unknown column role 'usr_id'; roles are \['user_id'"),
        ({"label": ""}, r"data\.columns\.label must be a column name, got ''"),
        ({"label": ["stars"]}, r"data\.columns\.label must be a column name, got \['stars'\]"),
        ({"text": []}, r"data\.columns\.text must be a column name or a list of them, got \[\]"),
        (["user_id"], r"data\.columns must be dict"),
    ],
)
def test_bad_data_columns_name_the_key(columns, message):
    with pytest.raises(ConfigError, match=message):
        ExperimentConfig.from_dict({"data": {"columns": columns}})


@pytest.mark.parametrize(
    "text, message",
    [
        ("user_id", r"--columns: expected role=column, got 'user_id'"),
        ("label=", r"--columns: expected role=column, got 'label='"),
        ("label=a,label=b", r"--columns: role 'label' is given twice"),
    ],
)
def test_bad_columns_flag_text_is_a_config_error(text, message):
    with pytest.raises(ConfigError, match=message):
        DataConfig.parse_columns(text)


@pytest.mark.parametrize(
    "values, num_items, expected",
    [
        ({}, 1_682, "full_catalog"),  # ml-100k: the full catalog wins on validation
        ({}, 5_000, "full_catalog"),
        ({}, 5_001, "in_batch"),
        ({}, 9_742, "in_batch"),  # ml-latest-small: in-batch + logQ wins on validation
        ({}, 1_000_000, "in_batch"),  # a [targets, items] logit matrix per step would not fit
        ({"model": {"full_catalog_max_items": 2_000_000}}, 1_000_000, "full_catalog"),
        ({"text": {"mode": "finetune"}}, 100, "in_batch"),
        ({"model": {"negatives": "full_catalog"}}, 1_000_000, "full_catalog"),
    ],
)
def test_auto_negatives_switch_to_in_batch_beyond_a_catalog_size(values, num_items, expected):
    assert ExperimentConfig.from_dict(values).negatives_for(num_items) == expected


@pytest.mark.parametrize("key, value", [("id_hash_buckets", -1), ("full_catalog_max_items", 0)])
def test_bad_scale_settings_name_the_key(key, value):
    with pytest.raises(ConfigError, match=f"model.{key}"):
        ExperimentConfig.from_dict({"model": {key: value}})
