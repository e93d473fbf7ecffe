"""The exception hierarchy: one root, leaves that say where, what and what next.

Every error the library raises on purpose is a :class:`SitepatchError`. Leaves also subclass the builtin
they refine, so callers that only know Python's own exceptions still catch them sensibly.
"""

from __future__ import annotations

TYPE_CHECKING = False  # collections.abc is not imported at start-up (status); type checkers take the branch below
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "ApplyError",
    "InterruptedRunError",
    "LockBusyError",
    "ManifestError",
    "PatchParseError",
    "PatchSetError",
    "SitepatchError",
    "TargetError",
    "UnsafePathError",
    "WriteError",
]


def __dir__() -> list[str]:
    return __all__


class SitepatchError(Exception):
    """Root of every error sitepatch raises deliberately."""


class PatchParseError(SitepatchError, ValueError):
    """A patch file is malformed.

    :param file: the patch file, as shown to the user.
    :param line: the 1-based line of the patch file where the problem is (0 when it concerns the whole file).
    :param message: what is wrong, and what to do about it.
    """

    def __init__(self, file: str, line: int, message: str) -> None:
        self.file = file
        self.line = line
        self.message = message
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {message}")


class PatchSetError(SitepatchError, ValueError):
    """One or more problems across the patch set; raised once with all of them.

    :param problems: every problem found, each already a complete sentence with its location.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        if len(self.problems) == 1:
            text = self.problems[0]
        else:
            text = f"{len(self.problems)} problems in the patch set:\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(text)


class UnsafePathError(SitepatchError, ValueError):
    """A path in a patch would write outside the target or through a symlink."""


class TargetError(SitepatchError, OSError):
    """The target environment cannot be used (no site-packages, editable install, unreadable metadata)."""


class LockBusyError(TargetError):
    """Another sitepatch run holds the target's lock for longer than we are willing to wait."""


class ManifestError(SitepatchError, ValueError):
    """The manifest or journal in the target is unreadable or of an unknown schema version."""


class ApplyError(SitepatchError, RuntimeError):
    """Applying or reverting was refused; nothing was written.

    :param problems: each refused file or patch with the reason and what to do next.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class WriteError(SitepatchError, OSError):
    """Writing the target failed midway; everything written so far was rolled back.

    :param path: the file whose write failed.
    :param reason: the operating system's message.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: write failed: {reason}; every file was restored to its state before the run")


class InterruptedRunError(SitepatchError):
    """A signal (SIGINT, SIGTERM) arrived while writing; the run rolled back, or finished, before stopping.

    :param signum: the signal's number; the process exits with ``128 + signum`` (130, 143).
    :param done: what happened to the target.
    """

    def __init__(self, signum: int, done: str) -> None:
        self.signum = signum
        self.done = done
        super().__init__(f"interrupted by signal {signum} while writing; {done}")

    @property
    def exit_code(self) -> int:
        """The conventional exit status of a process stopped by the signal: ``128 + signum``."""
        return 128 + self.signum
