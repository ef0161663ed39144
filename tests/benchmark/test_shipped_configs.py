"""The README's benchmark configs (`benchmarks/configs/`) load and combine as the benchmark combines them."""

import os

from tfrec_llm.benchmark.benchmark_models import model_configs
from tfrec_llm.experiment_config import ExperimentConfig, read_config_json

CONFIGS = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "configs")


def test_ml_100k_configs_size_the_full_model_and_the_peers_as_validation_chose():
    full = ExperimentConfig.from_json_file(os.path.join(CONFIGS, "ml-100k-full.json"))
    peers = read_config_json(os.path.join(CONFIGS, "ml-100k-peers.json"))
    configs = model_configs(full, peers)
    assert configs["full"].model.fusion == "paths" and configs["full"].model.path_loss_share == 1.0
    assert configs["full"].model.embedding_dim == 128
    for name in ("id_only", "id_only_attention"):
        assert not configs[name].model.use_text
        assert configs[name].model.embedding_dim == configs[name].model.lstm_units == 128
        assert configs[name].model.temperature == 0.2  # the peers' validation chose it; the full model's chose 0.1
        assert configs[name].train.batch_size == 64  # each peer's 3-seed validation chose 64; the full model's 128
    assert configs["full"].model.temperature == 0.1
    assert configs["full"].train.batch_size == configs["text_only"].train.batch_size == 128
    assert configs["id_only_attention"].model.user_tower == "attention"
    # the attention peer's 3-seed validation chose averaged weights (0.95); every other model's chose none
    assert configs["id_only_attention"].train.weight_average_momentum == 0.95
    assert {configs[name].train.weight_average_momentum for name in ("id_only", "text_only", "full")} == {0.0}
    # and its 3-seed validation chose a learning rate of 4e-3 over 2e-3 (1e-3 lost on seed 0); the others keep 2e-3
    assert configs["id_only_attention"].train.learning_rate == 0.004
    assert {configs[name].train.learning_rate for name in ("id_only", "text_only", "full")} == {0.002}
    for name in ("id_only", "id_only_attention", "text_only", "full"):
        assert configs[name].negatives_for(1_682) == "full_catalog"  # in-batch + logQ lost on validation here


def test_ml_latest_small_config_trains_every_model_with_logq_corrected_in_batch_negatives():
    configs = model_configs(ExperimentConfig.from_json_file(os.path.join(CONFIGS, "ml-latest-small-full.json")))
    assert configs["full"].model.fusion == "paths"
    for name in ("id_only", "id_only_attention", "text_only", "full"):
        # each model's 3-seed (attention: seed-0) validation chose them over the 9,742-item softmax
        assert configs[name].negatives_for(9_742) == "in_batch"
        assert configs[name].model.logq_correction
