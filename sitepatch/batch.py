r"""Parse once, plan many: one parsed patch set planned against many targets, all in memory.

The release sweep plans every patch against hundreds of releases. Parsing a patch set costs more than
planning it against one release, so the patches are parsed once (:func:`sitepatch.parse.load_patches`) and
planned against each target in turn. A target need not exist on disk: :class:`MemoryReader` serves a
release's files from memory and :meth:`Distribution.from_record <sitepatch.dist.Distribution.from_record>`
builds its distributions from their RECORDs.

>>> from pathlib import Path
>>> from sitepatch.parse import parse_patch
>>> header = b"Subject: s\nPackage: demo\nVersions: >=1\n\n"
>>> diff = b"--- a/demo/m.py\n+++ b/demo/m.py\n@@ -1 +1 @@\n-a\n+b\n"
>>> patch = parse_patch(header + diff, path=Path("0001-x.diff"))
>>> targets = [memory_target({"demo/m.py": body}, {"demo": v}) for body, v in ((b"a\n", "1.0"), (b"b\n", "2.0"))]
>>> [plan.patches[0].status for _, plan in plan_many([patch], targets)]
['applied', 'already-applied']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import TypeVar

from sitepatch.dist import Distribution, Target, record_digest
from sitepatch.manifest import Manifest
from sitepatch.model import Patch
from sitepatch.plan import FileState, Plan, Reader, plan_run
from sitepatch.selection import select_patches

__all__ = ["MemoryReader", "memory_target", "plan_many"]


def __dir__() -> list[str]:
    return __all__


Key = TypeVar("Key")

MEMORY_ROOT = Path("/<memory>")
"""The root of a target that lives only in memory; it never exists on disk."""


class MemoryReader:
    """A :class:`~sitepatch.plan.Reader` over files held in memory, e.g. a release's files from its wheel.

    :param files: paths (relative to site-packages, POSIX) mapped to their bytes or :class:`FileState`.
    :param pristine: sitepatch's pristine copies, as a target's ``.sitepatch/pristine`` would hold them.
    """

    def __init__(self, files: Mapping[str, bytes | FileState], pristine: Mapping[str, bytes] | None = None) -> None:
        self._files = {p: d if isinstance(d, FileState) else FileState(d) for p, d in files.items()}
        self._pristine = dict(pristine or {})

    def read(self, path: str) -> FileState | None:
        """The file's bytes and mode, or ``None`` when it is not held."""
        return self._files.get(path)

    def pristine(self, path: str) -> bytes | None:
        """The pristine copy of ``path``, or ``None``."""
        return self._pristine.get(path)

    def unsafe(self, path: str) -> str | None:
        """Why ``path`` could not be written in a real target: absolute, or climbing out with ``..``.

        >>> MemoryReader({}).unsafe("../x.py")
        '../x.py: resolves outside the target'
        """
        pure = PurePosixPath(path)
        if pure.is_absolute() or ".." in pure.parts:
            return f"{path}: resolves outside the target"
        return None


def memory_target(
    files: Mapping[str, bytes],
    versions: Mapping[str, str],
    *,
    records: Mapping[str, Mapping[str, str]] | None = None,
) -> tuple[Target, MemoryReader]:
    """A target that exists only in memory, and its reader.

    :param files: the files the patches touch, relative to site-packages.
    :param versions: each distribution's name mapped to its version.
    :param records: each distribution's RECORD (path to ``sha256=`` hash); by default the distribution named
        by a file's first path component owns it, hashed from ``files`` (so every file counts as pristine).
    :raises packaging.version.InvalidVersion: when a version is not valid.
    """
    distributions = {}
    for name, version in versions.items():
        if records is not None and name in records:
            record = dict(records[name])
        else:
            top = name.replace("-", "_")
            record = {p: record_digest(d) for p, d in files.items() if p.split("/", 1)[0] == top}
        dist = Distribution.from_record(name, version, record)
        distributions[dist.name] = dist
    return Target(MEMORY_ROOT, distributions), MemoryReader(files)


def plan_many(
    patches: Sequence[Patch],
    targets: Iterable[tuple[Target, Reader]],
    *,
    manifest: Manifest | None = None,
    max_fuzz: int = 0,
    force: bool = False,
) -> Iterator[tuple[Target, Plan]]:
    """Plan one parsed patch set against each target in turn: select the patches for its versions, then plan.

    Nothing is written and nothing is read but through each target's reader.

    :param patches: the parsed patch set (:func:`sitepatch.parse.load_patches`), parsed once for all targets.
    :param targets: ``(target, reader)`` pairs, e.g. from :func:`memory_target` or ``Target.open`` with a
        :class:`~sitepatch.apply.DiskReader`.
    :param manifest: what sitepatch applied before (the same for every target), or ``None``.
    :param max_fuzz: how many outer context lines a hunk may ignore.
    :param force: plan files that are not pristine as they are.
    :returns: each target with its plan, lazily, in the order given.
    :raises sitepatch.errors.PatchSetError: when two variants of one patch are both selected for a target.
    """
    for target, reader in targets:
        decisions = select_patches(patches, target.versions)
        yield target, plan_run(decisions, target, reader, manifest, max_fuzz=max_fuzz, force=force)
