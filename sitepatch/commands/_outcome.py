"""What every command returns, the exit codes, and the helpers every command shares."""

from __future__ import annotations

import os
import time

from sitepatch._record import field, frozen
from sitepatch.commands import EXIT_ENVIRONMENT, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK

TYPE_CHECKING = False  # status imports this module: no typing, argparse or pathlib at start-up
if TYPE_CHECKING:
    import argparse
    from pathlib import Path
    from typing import Any

    from sitepatch.dist import Target

__all__ = [
    "EXIT_ENVIRONMENT",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "Outcome",
    "distributions",
    "own_site_packages",
    "target_dir",
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


def target_dir(args: argparse.Namespace) -> str:
    """The site-packages directory the arguments name (``--site-packages``, ``--python``, or this interpreter)."""
    given: str | os.PathLike[str] | None = args.site_packages
    if given is not None:
        return os.fspath(given)
    if not args.python:
        return own_site_packages()
    from sitepatch.dist import site_packages_of  # noqa: PLC0415 - only for --python: runs that interpreter

    return str(site_packages_of(args.python))


def own_site_packages() -> str:
    """The running interpreter's site-packages (purelib; platlib when only that exists), asked in-process.

    The answer ``--python`` gets from another interpreter, without starting a second copy of this one.
    """
    import sysconfig  # noqa: PLC0415 - about a millisecond, only when no target is named

    purelib, platlib = sysconfig.get_path("purelib"), sysconfig.get_path("platlib")
    if purelib != platlib and os.path.isdir(platlib) and not os.path.isdir(purelib):
        return platlib
    return purelib


def target_root(args: argparse.Namespace) -> Path:
    """:func:`target_dir` as a :class:`~pathlib.Path`."""
    from pathlib import Path  # noqa: PLC0415 - status uses target_dir, without pathlib

    return Path(target_dir(args))


def distributions(target: Target) -> dict[str, str]:
    """Every installed distribution's name and version, sorted by name, for the JSON documents."""
    return {str(name): str(dist.version) for name, dist in sorted(target.distributions.items())}


def today() -> str:
    """Today's date (UTC) as ``YYYY-MM-DD``, for the ``Last-Update`` header."""
    return time.strftime("%Y-%m-%d", time.gmtime())
