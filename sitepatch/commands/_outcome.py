"""What every command returns, the exit codes, and the helpers every command shares."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sitepatch._record import field, frozen
from sitepatch.commands import EXIT_ENVIRONMENT, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from sitepatch.dist import site_packages_of

if TYPE_CHECKING:
    from sitepatch.dist import Target

__all__ = [
    "EXIT_ENVIRONMENT",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "Outcome",
    "distributions",
    "target_root",
    "today",
]


def __dir__() -> list[str]:
    return __all__


@frozen
class Outcome:
    """What a command did: a JSON-ready document, the human lines, and the exit code."""

    document: dict[str, Any]
    lines: tuple[str, ...]
    code: int
    errors: tuple[str, ...] = field(default=())


def target_root(args: argparse.Namespace) -> Path:
    """The site-packages directory the arguments name (``--site-packages``, ``--python``, or this interpreter)."""
    if args.site_packages is not None:
        return Path(args.site_packages)
    return site_packages_of(args.python or sys.executable)


def distributions(target: Target) -> dict[str, str]:
    """Every installed distribution's name and version, sorted by name, for the JSON documents."""
    return {str(name): str(dist.version) for name, dist in sorted(target.distributions.items())}


def today() -> str:
    """Today's date (UTC) as ``YYYY-MM-DD``, for the ``Last-Update`` header."""
    return time.strftime("%Y-%m-%d", time.gmtime())
