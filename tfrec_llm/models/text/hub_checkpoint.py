"""Finds an `hf://<org>/<repo>` checkpoint without waiting on a network that is not there.

KerasHub downloads `hf://` presets through `huggingface_hub`, which retries
an unreachable Hub with back-off for about 20 s before it gives up (measured
here: 23 s, DNS failing at once). So, before KerasHub is asked:
- `cached_checkpoint_dir` looks in the Hugging Face cache only (no network):
  a checkpoint downloaded once (or copied into `~/.cache/huggingface`) loads
  offline;
- `hub_unreachable_reason` asks the Hub once, and gives up after
  `PROBE_TIMEOUT_SECONDS`, name resolution included (it runs in a thread).
Both honour `HF_HOME` / `HF_HUB_CACHE` / `HF_ENDPOINT` / `HF_HUB_OFFLINE`.

Example:
    directory = cached_checkpoint_dir("sentence-transformers/all-MiniLM-L6-v2")
    if directory is None:
        reason = hub_unreachable_reason("sentence-transformers/all-MiniLM-L6-v2")  # None: go ahead
"""

import os
import threading
from typing import Optional
from urllib.parse import urlsplit

import huggingface_hub
from huggingface_hub import constants as hub_constants
from huggingface_hub.utils import get_session

HF_SCHEME = "hf://"
PROBE_TIMEOUT_SECONDS = 5.0
PROBED_FILE = "config.json"


def hub_repo_id(spec: str) -> Optional[str]:
    """`org/repo` of an `hf://org/repo` spec, None for any other spec."""
    if isinstance(spec, str) and spec.startswith(HF_SCHEME):
        return spec[len(HF_SCHEME) :]
    return None


def cached_checkpoint_dir(repo_id: str) -> Optional[str]:
    """The cached snapshot directory of `repo_id` (its `config.json` is there), or None; never uses the network."""
    path = huggingface_hub.try_to_load_from_cache(repo_id, PROBED_FILE)
    return os.path.dirname(path) if isinstance(path, str) else None


def hub_unreachable_reason(repo_id: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> Optional[str]:
    """None when the Hub answers a HEAD request for `repo_id` within `timeout` seconds, else why not."""
    if hub_constants.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE is set, so the Hugging Face Hub is not asked"
    url = huggingface_hub.hf_hub_url(repo_id, PROBED_FILE)
    failures = []

    def ask():
        try:
            get_session().head(url, timeout=timeout)
        except Exception as error:  # pylint: disable=broad-except  (httpx, requests and OS errors alike)
            failures.append(error)

    probe = threading.Thread(target=ask, name="hugging-face-hub-probe", daemon=True)
    probe.start()
    probe.join(timeout)
    host = urlsplit(url).netloc
    if probe.is_alive():
        return f"{host} did not answer within {timeout:g} s"
    if failures:
        return f"{host} cannot be reached ({failures[0]})"
    return None
