"""TF Serving's directory layout: `<export_dir>/<model_name>/<version>/`.

Versions are positive integers; TF Serving serves the highest one and
ignores non-numeric entries, such as the `.staging-*` directories a
version is written to before `publish_version` renames it into place.
"""

import os
import tempfile
from typing import List

STAGING_PREFIX = ".staging-"


def model_base_path(export_dir: str, model_name: str) -> str:
    return os.path.join(export_dir, model_name)


def model_versions(export_dir: str, model_name: str) -> List[int]:
    """Sorted published versions of a model ([] if none)."""
    base = model_base_path(export_dir, model_name)
    if not os.path.isdir(base):
        return []
    return sorted(
        int(entry) for entry in os.listdir(base) if entry.isdigit() and os.path.isdir(os.path.join(base, entry))
    )


def next_version(export_dir: str, model_name: str) -> int:
    versions = model_versions(export_dir, model_name)
    return versions[-1] + 1 if versions else 1


def version_path(export_dir: str, model_name: str, version: int) -> str:
    return os.path.join(model_base_path(export_dir, model_name), str(version))


def latest_version_path(export_dir: str, model_name: str) -> str:
    """Path of the highest version; `FileNotFoundError` if the model was never exported."""
    versions = model_versions(export_dir, model_name)
    if not versions:
        raise FileNotFoundError(
            f"No exported versions of {model_name!r} under {export_dir!r}: "
            "run `tfrec-llm export --model-dir D --export-dir E` first."
        )
    return version_path(export_dir, model_name, versions[-1])


def staging_dir(export_dir: str, model_name: str, version: int) -> str:
    """A fresh hidden directory beside the versions (same filesystem, so the final rename is atomic)."""
    base = model_base_path(export_dir, model_name)
    os.makedirs(base, exist_ok=True)
    return tempfile.mkdtemp(dir=base, prefix=f"{STAGING_PREFIX}{version}-")


def publish_version(staged: str, export_dir: str, model_name: str, version: int) -> str:
    """Renames a staged SavedModel to its version directory; never replaces an existing version."""
    target = version_path(export_dir, model_name, version)
    if os.path.exists(target):
        raise FileExistsError(f"{target} already exists; exported versions are never overwritten.")
    os.rename(staged, target)
    return target
