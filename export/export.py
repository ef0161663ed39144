"""Exports a trained model directory as TF Serving SavedModels.

    python export/export.py --model-dir runs/ml-100k --export-dir exports
    docker run -p 8501:8501 -v "$PWD/exports:/models" tensorflow/serving \
        --model_config_file=/models/models.config     # with --config-base-path /models

A thin wrapper over `tfrec_llm.serving.export.exporter.export_models`;
see export/README.md for the models, their signatures and serving.
"""

import argparse
import logging
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

import tfrec_llm  # noqa: E402,F401  (selects legacy Keras before TensorFlow loads)
from tfrec_llm.serving.export.exporter import DEFAULT_MAX_K, MODEL_NAMES, export_models  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, help="directory written by `tfrec-llm train`")
    parser.add_argument("--export-dir", required=True, help="TF Serving model root")
    parser.add_argument("--max-k", type=int, default=DEFAULT_MAX_K, help="most items retrieval returns")
    parser.add_argument("--version", type=int, help="version number (default: next free one per model)")
    parser.add_argument("--models", help=f"comma-separated subset of {','.join(MODEL_NAMES)}")
    parser.add_argument("--config-base-path", help="export dir as the server sees it, e.g. /models")
    parser.add_argument("--no-validate", action="store_true", help="skip the fresh-process validation")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    names = [n.strip() for n in args.models.split(",") if n.strip()] if args.models else None
    try:
        paths = export_models(
            args.model_dir,
            args.export_dir,
            version=args.version,
            max_k=args.max_k,
            validate=not args.no_validate,
            model_names=names,
            config_base_path=args.config_base_path,
        )
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        print(f"export: error: {error}", file=sys.stderr)
        return 2
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
