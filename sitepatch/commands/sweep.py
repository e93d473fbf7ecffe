"""The ``sweep`` command: every release on the index planned against the patch set."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sitepatch.commands._outcome import Outcome

__all__ = ["run"]


def __dir__() -> list[str]:
    return __all__


def run(args: argparse.Namespace, *, hook: Callable[[str], None] | None = None) -> Outcome:  # noqa: ARG001
    """Run ``sweep``; see :func:`sitepatch.sweep_command.run_sweep`."""
    from sitepatch.sweep_command import run_sweep  # noqa: PLC0415 - the sweep machinery loads only when used

    document, lines, code = run_sweep(args)
    return Outcome(document, tuple(lines), code)
