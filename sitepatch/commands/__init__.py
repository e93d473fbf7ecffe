"""One module per command, each imported only when its command runs.

:mod:`sitepatch.cli` parses the arguments and imports the module of the chosen command; every module has a
``run(args, *, hook)`` that returns an :class:`~sitepatch.commands._outcome.Outcome`. ``status`` runs at every
container start and as the health check, so its module imports neither unidiff nor packaging's requirement
parser; the lifecycle commands (``new``, ``refresh``, ``import``, ``export``, ``upstream-status``) bring their
own heavier modules.
"""

from __future__ import annotations

__all__ = ["EXIT_ENVIRONMENT", "EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_NOT_PATCHED", "EXIT_OK"]


def __dir__() -> list[str]:
    return __all__


EXIT_OK = 0
"""Every selected patch applied or already applied (``status``: everything recorded is in place)."""
EXIT_FAILED = 1
"""A patch failed, a file was refused, or (``--strict``) the install would stay uncovered; nothing was written."""
EXIT_ENVIRONMENT = 2
"""A usage or environment error (no such site-packages, an unreadable manifest, a busy lock)."""
EXIT_NOT_PATCHED = 3
"""``status`` only: no manifest, so nothing is patched here (never applied, or reverted)."""
EXIT_INTERRUPTED = 130
"""Interrupted (SIGINT)."""
