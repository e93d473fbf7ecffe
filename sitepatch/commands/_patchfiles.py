"""Finding a patch by name or number, and writing patch files: shared by the lifecycle commands."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sitepatch.apply import write_file
from sitepatch.errors import TargetError
from sitepatch.model import Patch

__all__ = ["find_patch", "write_patch_files"]


def __dir__() -> list[str]:
    return __all__


def find_patch(patches: Sequence[Patch], wanted: str) -> Patch:
    """The one patch whose file name, number or path is ``wanted``.

    :raises TargetError: when none or several match; the message lists the patches.
    """
    matches = [p for p in patches if wanted in (p.name, p.number, str(p.path))]
    if len(matches) != 1:
        known = ", ".join(p.name for p in patches)
        what = "matches several patches" if matches else "matches no patch"
        raise TargetError(f"{wanted!r} {what}; name the file (patches: {known})")
    return matches[0]


def write_patch_files(directory: Path, writes: Sequence[tuple[str, bytes]]) -> None:
    """Write each ``(file name, bytes)`` into ``directory`` (created if missing), atomically one by one."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in writes:
        write_file(directory / name, data, 0o644)
