"""``python -m sitepatch``."""

from __future__ import annotations

import sys

from sitepatch.cli import main

if __name__ == "__main__":
    sys.exit(main())
