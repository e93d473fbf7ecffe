#!/usr/bin/env python3
"""Apply this repository's patch set to an installed LiteLLM: ``python apply_patches.py --help``.

Works from a clone without installing sitepatch; it needs only ``unidiff`` and ``packaging``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from sitepatch.cli import main  # noqa: E402 - the path must be set first

if __name__ == "__main__":
    sys.exit(main(default_patches=HERE / "patches"))
