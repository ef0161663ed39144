"""`<export_dir>/models.config`: a TF Serving ModelServerConfig listing the models.

Start TF Serving with `--model_config_file=<export_dir>/models.config`
(add `--model_config_file_poll_wait_seconds=60` to pick up new models).
Base paths are where the *server* sees the export directory (e.g.
`/models` when it is mounted there in the `tensorflow/serving` image).
"""

import os
from typing import Iterable, Optional

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

MODELS_CONFIG_FILE = "models.config"
MODEL_PLATFORM = "tensorflow"


def write_model_server_config(export_dir: str, model_names: Iterable[str], base_path: Optional[str] = None) -> str:
    """Writes the config (atomically) and returns its path; `base_path` defaults to the absolute export dir."""
    root = base_path if base_path else os.path.abspath(export_dir)
    config = model_server_config_pb2.ModelServerConfig()
    for name in sorted(set(model_names)):
        entry = config.model_config_list.config.add()
        entry.name = name
        entry.base_path = f"{root.rstrip('/')}/{name}"
        entry.model_platform = MODEL_PLATFORM
    path = os.path.join(export_dir, MODELS_CONFIG_FILE)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(text_format.MessageToString(config))
    os.replace(path + ".tmp", path)
    return path


def read_model_server_config(export_dir: str) -> model_server_config_pb2.ModelServerConfig:
    with open(os.path.join(export_dir, MODELS_CONFIG_FILE), encoding="utf-8") as f:
        return text_format.Parse(f.read(), model_server_config_pb2.ModelServerConfig())
