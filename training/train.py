"""Runnable training entry point: `python training/train.py --data builtin --output-dir runs/x`.

The same as `tfrec-llm train ...`; kept as a script for job launchers
(e.g. one process per worker under `--strategy multiworker`).
"""

import sys

from tfrec_llm.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
