"""The ``evidence`` command: install releases and run the regression tests unpatched and patched."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sitepatch.commands._outcome import Outcome

__all__ = ["run"]


def __dir__() -> list[str]:
    return __all__


def run(args: argparse.Namespace, *, hook: Callable[[str], None] | None = None) -> Outcome:  # noqa: ARG001
    """Run ``evidence``; see :func:`sitepatch.sweep_command.run_evidence`."""
    from sitepatch.sweep_command import run_evidence  # noqa: PLC0415 - the sweep machinery loads only when used

    document, lines, code = run_evidence(args)
    return Outcome(document, tuple(lines), code)
