"""Version directories: numeric, incrementing, staged then renamed, never overwritten."""

import os

import pytest

from tfrec_llm.serving.export.export_layout import (
    latest_version_path,
    model_versions,
    next_version,
    publish_version,
    staging_dir,
)


def test_versions_ignore_non_numeric_entries(tmp_path):
    base = tmp_path / "retrieval"
    for entry in ("1", "3", "10", ".staging-4-x", "notes"):
        (base / entry).mkdir(parents=True)
    (base / "7").write_text("a file, not a version")
    assert model_versions(str(tmp_path), "retrieval") == [1, 3, 10]
    assert next_version(str(tmp_path), "retrieval") == 11
    assert latest_version_path(str(tmp_path), "retrieval") == str(base / "10")
    assert next_version(str(tmp_path), "ranking") == 1


def test_publish_renames_staging_and_refuses_existing_versions(tmp_path):
    staged = staging_dir(str(tmp_path), "ranking", 1)
    assert os.path.basename(staged).startswith(".staging-1-")
    open(os.path.join(staged, "saved_model.pb"), "w").close()
    target = publish_version(staged, str(tmp_path), "ranking", 1)
    assert os.path.exists(os.path.join(target, "saved_model.pb")) and not os.path.exists(staged)
    again = staging_dir(str(tmp_path), "ranking", 1)
    with pytest.raises(FileExistsError, match="never overwritten"):
        publish_version(again, str(tmp_path), "ranking", 1)


def test_latest_version_of_a_missing_model_explains(tmp_path):
    with pytest.raises(FileNotFoundError, match="No exported versions of 'retrieval'.*tfrec-llm export"):
        latest_version_path(str(tmp_path), "retrieval")
