"""Writes one model version safely: stage, describe, validate, then publish.

1. `tf.saved_model.save` into a hidden staging directory beside the
   versions (TF Serving ignores it);
2. `assets.extra/`: warm-up requests, `export_info.json`,
   `required_ops.txt` and, for models with an item table, `item_catalog.tsv`;
3. banned-op check and (optionally) validation in a fresh process;
4. an atomic rename to `<model_name>/<version>/`: a watching server never
   sees half a model, and an existing version is never overwritten.
On any failure the staging directory is removed and nothing is published.
"""

import logging
import shutil
from typing import Optional

import tensorflow as tf

from tfrec_llm.serving.export.export_info import ExportInfo
from tfrec_llm.serving.export.export_layout import publish_version, staging_dir, version_path
from tfrec_llm.serving.export.export_validation import validate_saved_model
from tfrec_llm.serving.catalog.item_catalog_file import write_item_catalog
from tfrec_llm.serving.export.saved_model_ops import check_banned_ops, write_required_ops
from tfrec_llm.serving.catalog.serving_catalog import ServingCatalog
from tfrec_llm.serving.export.warmup_request import write_warmup_requests

logger = logging.getLogger(__name__)


def write_model_version(
    module: tf.Module,
    export_dir: str,
    version: int,
    info: ExportInfo,
    catalog: Optional[ServingCatalog] = None,
    validate: bool = True,
) -> str:
    """Publishes `module` as `<export_dir>/<module.model_name>/<version>/`; returns that path."""
    name = module.model_name
    target = version_path(export_dir, name, version)
    if tf.io.gfile.exists(target):
        raise FileExistsError(f"{target} already exists; exported versions are never overwritten.")
    staged = staging_dir(export_dir, name, version)
    try:
        tf.saved_model.save(module, staged, signatures=module.signatures())
        write_warmup_requests(staged, name, module.warmup_requests())
        info.write(staged)
        if catalog is not None:
            write_item_catalog(staged, catalog.item_ids, catalog.item_titles)
        check_banned_ops(name, write_required_ops(staged))
        if validate:
            validate_saved_model(staged, module)
        path = publish_version(staged, export_dir, name, version)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    logger.debug(
        "Exported %s version %d to %s (%s)",
        name,
        version,
        path,
        "validated in a fresh TensorFlow process" if validate else "NOT validated",
    )
    return path
