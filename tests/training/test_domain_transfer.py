"""Carrying weights into a new domain's model: both paths of a two-path user tower carry over."""

import numpy as np
import tf_keras
from tiny_fixtures import make_built_model, make_tiny_assets, make_tiny_config, make_tiny_encoder

from tfrec_llm.training.domain_transfer import all_layers, part_layers, transfer_weights


def test_both_paths_of_a_two_path_model_carry_over_and_belong_to_their_parts(tmp_path):
    config = make_tiny_config(model={"fusion": "paths"})
    encoder = make_tiny_encoder()
    _, assets = make_tiny_assets(config, encoder, tmp_path)
    tf_keras.utils.set_random_seed(1)
    source = make_built_model(config, assets, encoder)
    tf_keras.utils.set_random_seed(2)
    target = make_built_model(config, assets, encoder)
    paths = target.user_tower.path_towers
    assert len(paths) == 2
    transfer_weights(source, target, assets.scenario_values, assets.scenario_values)
    for old, new in zip(source.user_tower.path_towers, paths):
        for a, b in zip(
            old.encoder.get_weights() + old.output_mlp.get_weights(),
            new.encoder.get_weights() + new.output_mlp.get_weights(),
        ):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(old.scenario_embedding.get_weights()[0], new.scenario_embedding.get_weights()[0])
    scenario_layers = part_layers(target, "scenario")
    assert all(path.scenario_embedding in scenario_layers for path in paths)
    layers = all_layers(target)
    assert all(path.encoder in layers and path.output_mlp in layers for path in paths)
