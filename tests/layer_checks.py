"""Shared layer checks in KerasHub's `TestCase` style: one line per layer in each test file.

Imported as `from layer_checks import ...` (a unique module name, like `tiny_fixtures`).
"""

import json


def run_config_round_trip(layer):
    """`from_config(get_config())` rebuilds a layer with the same, JSON-serialisable config."""
    config = layer.get_config()
    json.dumps(config)
    restored = type(layer).from_config(config)
    assert restored.get_config() == config
    return restored
