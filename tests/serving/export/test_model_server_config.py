"""models.config: a ModelServerConfig text proto TF Serving reads."""

import os

from tfrec_llm.serving.export.model_server_config import read_model_server_config, write_model_server_config


def test_config_lists_models_under_the_server_path(tmp_path):
    path = write_model_server_config(str(tmp_path), ["retrieval", "ranking", "retrieval"], base_path="/models/")
    assert path == os.path.join(str(tmp_path), "models.config")
    config = read_model_server_config(str(tmp_path))
    assert [(c.name, c.base_path, c.model_platform) for c in config.model_config_list.config] == [
        ("ranking", "/models/ranking", "tensorflow"),
        ("retrieval", "/models/retrieval", "tensorflow"),
    ]
    write_model_server_config(str(tmp_path), ["item_encoder"])
    entry = read_model_server_config(str(tmp_path)).model_config_list.config[0]
    assert entry.base_path == os.path.join(os.path.abspath(str(tmp_path)), "item_encoder")
