"""Tests for finding hf:// checkpoints: the cache without the network, a bounded probe of the Hub.

No test touches the network: the Hub's HTTP session is replaced by stand-ins.
"""

import threading
import time

import pytest

from tfrec_llm.models.text import hub_checkpoint
from tfrec_llm.models.text.hub_checkpoint import cached_checkpoint_dir, hub_repo_id, hub_unreachable_reason

REPO = "sentence-transformers/all-MiniLM-L6-v2"


class _Session:
    """Stands in for huggingface_hub's HTTP session; `head` does what the test says."""

    def __init__(self, head):
        self.head = head


@pytest.fixture(name="online")
def _online(monkeypatch):
    """The Hub is not switched off (the suite sets HF_HUB_OFFLINE); returns a setter for the session's `head`."""
    monkeypatch.setattr(hub_checkpoint.hub_constants, "HF_HUB_OFFLINE", False)
    return lambda head: monkeypatch.setattr(hub_checkpoint, "get_session", lambda: _Session(head))


def test_hub_repo_id_reads_hf_specs_only():
    assert hub_repo_id("hf://" + REPO) == REPO
    assert hub_repo_id("bert_tiny_en_uncased") is None
    assert hub_repo_id(None) is None


def test_a_hub_that_answers_is_reachable(online):
    asked = []
    online(lambda url, timeout: asked.append((url, timeout)))
    assert hub_unreachable_reason(REPO, timeout=3) is None
    ((url, timeout),) = asked
    assert url.endswith(f"/{REPO}/resolve/main/config.json") and timeout == 3


def test_a_failing_connection_is_reported_at_once(online):
    def refuse(url, timeout):
        raise OSError("[Errno -2] Name or service not known")

    online(refuse)
    started = time.monotonic()
    reason = hub_unreachable_reason(REPO, timeout=5)
    assert time.monotonic() - started < 1
    assert reason.endswith("cannot be reached ([Errno -2] Name or service not known)")


def test_a_hub_that_never_answers_is_given_up_after_the_timeout(online):
    released = threading.Event()
    online(lambda url, timeout: released.wait(30))  # a resolver or server that hangs, whatever its timeout
    started = time.monotonic()
    try:
        reason = hub_unreachable_reason(REPO, timeout=0.3)
    finally:
        released.set()
    assert 0.3 <= time.monotonic() - started < 3
    assert reason.endswith("did not answer within 0.3 s")


def test_offline_mode_asks_nothing(monkeypatch):
    monkeypatch.setattr(hub_checkpoint.hub_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hub_checkpoint, "get_session", lambda: pytest.fail("the Hub was asked in offline mode"))
    assert "HF_HUB_OFFLINE" in hub_unreachable_reason(REPO)


def test_the_cache_is_read_without_the_network(tmp_path, monkeypatch):
    monkeypatch.setattr(hub_checkpoint.hub_constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(hub_checkpoint, "get_session", lambda: pytest.fail("the cache lookup used the network"))
    assert cached_checkpoint_dir(REPO) is None
    snapshot = tmp_path / "models--sentence-transformers--all-MiniLM-L6-v2" / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (tmp_path / "models--sentence-transformers--all-MiniLM-L6-v2" / "refs").mkdir()
    (tmp_path / "models--sentence-transformers--all-MiniLM-L6-v2" / "refs" / "main").write_text("a" * 40)
    assert cached_checkpoint_dir(REPO) == str(snapshot)
