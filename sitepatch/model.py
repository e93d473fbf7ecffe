"""The immutable data model of a patch set: patches, file patches, hunks and lines.

Everything here is plain frozen data built once by :mod:`sitepatch.parse`; nothing in this module reads or
writes files.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from sitepatch._paths import path_problem
from sitepatch._record import field, frozen

if TYPE_CHECKING:
    from pathlib import Path

    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

__all__ = ["FileKind", "FilePatch", "Hunk", "Line", "LineKind", "Patch", "PatchHeader", "Requires", "path_problem"]


def __dir__() -> list[str]:
    return __all__


class LineKind(enum.Enum):
    """What a hunk line does."""

    CONTEXT = " "
    ADDED = "+"
    REMOVED = "-"


class FileKind(enum.Enum):
    """What a file patch does to its file."""

    MODIFY = "modify"
    CREATE = "create"
    DELETE = "delete"
    RENAME = "rename"
    COPY = "copy"


@frozen
class Line:
    """One line of a hunk."""

    kind: LineKind
    """Context, added or removed."""
    text: bytes
    """The line's bytes without its line ending."""
    eol: bytes
    """``b"\\n"``, ``b"\\r\\n"``, or ``b""`` where the diff says "No newline at end of file"."""
    diff_line_no: int
    """The 1-based line of the patch file this line comes from."""

    def __init__(self, kind: LineKind, text: bytes, eol: bytes, diff_line_no: int) -> None:
        # Written out: a large diff has a Line per diff line (79k in workload 1), and this is twice as fast
        # as the records' general __init__.
        _set = object.__setattr__
        _set(self, "kind", kind)
        _set(self, "text", text)
        _set(self, "eol", eol)
        _set(self, "diff_line_no", diff_line_no)

    def __str__(self) -> str:
        text = self.text.decode("utf-8", "surrogateescape")
        marker = "" if self.eol else "\n\\ No newline at end of file"
        return f"{self.kind.value}{text}{marker}"


@frozen
class Hunk:
    """One ``@@`` hunk of a file patch."""

    index: int
    """1-based position of the hunk within its file patch."""
    source_start: int
    source_length: int
    target_start: int
    target_length: int
    lines: tuple[Line, ...]
    diff_line_no: int
    """The patch-file line of the ``@@`` header."""
    section: str = ""
    """The text after the closing ``@@`` (usually the enclosing function)."""

    def source_lines(self) -> tuple[Line, ...]:
        """The pre-image: context and removed lines, in order."""
        return tuple(line for line in self.lines if line.kind is not LineKind.ADDED)

    def target_lines(self) -> tuple[Line, ...]:
        """The post-image: context and added lines, in order."""
        return tuple(line for line in self.lines if line.kind is not LineKind.REMOVED)

    @property
    def leading_context(self) -> int:
        """How many context lines open the hunk."""
        count = 0
        for line in self.lines:
            if line.kind is not LineKind.CONTEXT:
                break
            count += 1
        return count

    @property
    def trailing_context(self) -> int:
        """How many context lines close the hunk (all of them for a context-only hunk)."""
        count = 0
        for line in reversed(self.lines):
            if line.kind is not LineKind.CONTEXT:
                break
            count += 1
        return count

    def reversed(self) -> Hunk:
        """The same hunk with its pre- and post-image swapped (``patch -R``)."""
        swap = {LineKind.ADDED: LineKind.REMOVED, LineKind.REMOVED: LineKind.ADDED, LineKind.CONTEXT: LineKind.CONTEXT}
        return Hunk(
            index=self.index,
            source_start=self.target_start,
            source_length=self.target_length,
            target_start=self.source_start,
            target_length=self.source_length,
            lines=tuple(Line(swap[ln.kind], ln.text, ln.eol, ln.diff_line_no) for ln in self.lines),
            diff_line_no=self.diff_line_no,
            section=self.section,
        )


@frozen
class FilePatch:
    """The changes a patch makes to one file."""

    kind: FileKind
    source_path: str | None
    """The pre-image path relative to the target root (``None`` when the file is created)."""
    target_path: str | None
    """The post-image path relative to the target root (``None`` when the file is deleted)."""
    hunks: tuple[Hunk, ...]
    diff_line_no: int
    """The patch-file line where this file's section starts."""
    old_mode: int | None = None
    new_mode: int | None = None

    @property
    def path(self) -> str:
        """The path this file patch is known by: its post-image path, or its pre-image path when deleted."""
        path = self.target_path if self.target_path is not None else self.source_path
        if path is None:  # pragma: no cover - parse never builds such a file patch
            msg = "a file patch needs at least one path"
            raise AssertionError(msg)
        return path


@frozen
class PatchHeader:
    """The ``Key: value`` fields at the top of a patch file, in order."""

    fields: tuple[tuple[str, str], ...]

    def get(self, key: str) -> str | None:
        """The value of ``key`` (case-insensitive), or ``None``.

        >>> PatchHeader((("Subject", "Fix it"),)).get("subject")
        'Fix it'
        """
        wanted = key.lower()
        for name, value in self.fields:
            if name.lower() == wanted:
                return value
        return None

    def as_dict(self) -> dict[str, str]:
        """The fields as a plain dictionary, keys as written."""
        return dict(self.fields)


@frozen
class Requires:
    """One item of a ``Requires:`` header: a distribution that must be installed, and the versions allowed."""

    name: str
    """The distribution's name as written."""
    specifier: SpecifierSet
    shown: str
    """How messages show it: ``str()`` of :class:`packaging.requirements.Requirement`."""

    def __str__(self) -> str:
        return self.shown


@frozen
class Patch:
    """One patch file of the set: its header and its file patches."""

    path: Path
    """Where the patch file was read from."""
    name: str
    """The file name, e.g. ``0003-batches-model-twice.diff``."""
    number: str
    """The patch id shared by all variants of one patch, e.g. ``0003``."""
    variant: str
    """The variant suffix after ``+`` in the file name, or ``""``."""
    sha256: str
    """Hex sha256 of the patch file's bytes."""
    subject: str
    package: str
    """The canonical name (PEP 503) of the distribution that owns every file the patch touches."""
    versions: SpecifierSet
    requires: tuple[Requires, ...]
    applied_upstream: Version | None
    tests: tuple[str, ...]
    header: PatchHeader
    files: tuple[FilePatch, ...] = field(repr=False)
    header_lines: dict[str, int] = field(default_factory=dict, compare=False, hash=False, repr=False)
    """The patch-file line of each header key (lower-case), for error messages."""
    depends: tuple[str, ...] = ()
    """The patch ids (``Depends:``) that must be selected whenever this patch is."""
    affects: SpecifierSet | None = None
    """``Affects``: the ``Package`` versions that have the defect (``None``: not declared). The guard warns when
    an installed version in this set gets no variant of the patch."""

    @property
    def display(self) -> str:
        """How the patch is named in messages: its path relative to the working directory if possible."""
        return str(self.path)
