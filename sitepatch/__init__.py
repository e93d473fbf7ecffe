"""sitepatch: apply a reviewed, version-matched set of unified diffs to an installed Python distribution."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"


def __dir__() -> list[str]:
    return __all__
