"""The ``constraints`` command: a constraints file admitting only protected releases."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sitepatch.commands._outcome import Outcome

__all__ = ["run"]


def __dir__() -> list[str]:
    return __all__


def run(args: argparse.Namespace, *, hook: Callable[[str], None] | None = None) -> Outcome:  # noqa: ARG001
    """Run ``constraints``; see :func:`sitepatch.sweep_command.run_constraints`."""
    from sitepatch.sweep_command import run_constraints  # noqa: PLC0415 - the sweep machinery loads only when used

    document, lines, code = run_constraints(args)
    return Outcome(document, tuple(lines), code)
