#!/usr/bin/env python3
"""Apply this repository's patch set to an installed LiteLLM: ``python apply_patches.py --help``.

Works from a clone without installing sitepatch; it needs only ``unidiff`` and ``packaging``.
"""

from __future__ import annotations

import os
import sys

# os.path, not pathlib: `status` runs at every container start, and pathlib (with re) costs more than it does.
HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)

from sitepatch.cli import main  # noqa: E402 - the path must be set first

if __name__ == "__main__":
    sys.exit(main(default_patches=os.path.join(HERE, "patches")))
