"""Compare the target with the manifest: what is still applied, what was lost, and how to revert.

Pure functions over a :class:`~sitepatch.plan.Reader`; :mod:`sitepatch.apply` does the writing for revert.
``status`` (every container start) imports this module: it imports neither the planner nor ``packaging``.
"""

from __future__ import annotations

from sitepatch._installed import canonicalize_name
from sitepatch._record import frozen
from sitepatch.disk import FileState, file_digest, fingerprint

TYPE_CHECKING = False  # typing is not imported at start-up; type checkers take the branch below
if TYPE_CHECKING:
    from collections.abc import Mapping

    from sitepatch.dist import Target
    from sitepatch.manifest import FileRecord, Manifest
    from sitepatch.plan import Reader

__all__ = ["FileStatus", "PatchStatus", "RevertPlan", "StatusReport", "plan_revert", "status_of"]


def __dir__() -> list[str]:
    return __all__


IN_PLACE = "applied"
LOST = "lost"
MODIFIED = "modified"
VERSION_CHANGED = "version-changed"
ALREADY = "already-applied"


@frozen
class FileStatus:
    """One recorded file compared with the disk."""

    path: str
    status: str
    """``applied`` (post-image on disk), ``lost`` (back to its pristine image) or ``modified`` (neither)."""
    distribution: str


@frozen
class PatchStatus:
    """One recorded patch compared with the disk."""

    name: str
    status: str
    """``applied``, ``already-applied``, ``lost``, ``modified`` or ``version-changed``."""
    reason: str
    files: tuple[FileStatus, ...]


@frozen
class StatusReport:
    """The whole comparison; ``ok`` only when everything recorded is in place."""

    root: str
    """The target directory."""
    has_manifest: bool
    patches: tuple[PatchStatus, ...]
    files: tuple[FileStatus, ...]
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when a manifest exists and every recorded patch is in place."""
        return (
            self.has_manifest
            and not self.problems
            and all(p.status in (IN_PLACE, ALREADY) for p in self.patches)
            and all(f.status == IN_PLACE for f in self.files)
        )


def _file_status(record: FileRecord, reader: Reader) -> FileStatus:
    seen = fingerprint(reader.read(record.path))
    if record.is_post(*seen):
        status = IN_PLACE
    elif record.is_pre(*seen):
        status = LOST
    else:
        status = MODIFIED
    return FileStatus(record.path, status, record.distribution)


def status_of(manifest: Manifest | None, root: str, versions: Mapping[str, str], reader: Reader) -> StatusReport:
    """Compare every file and patch the manifest records with what is on disk.

    :param root: the target directory, for the report.
    :param versions: the installed distributions' versions (normal form) by canonical name; those of the
        recorded distributions are enough.
    """
    if manifest is None:
        return StatusReport(
            root,
            has_manifest=False,
            patches=(),
            files=(),
            problems=("no sitepatch manifest: nothing was applied here",),
        )
    files = {r.path: _file_status(r, reader) for r in manifest.files}
    patches = []
    for record in manifest.patches:
        mine = tuple(files[path] for path, _ in record.files if path in files)
        version = versions.get(canonicalize_name(record.package))
        if version is None:
            status, reason = VERSION_CHANGED, f"{record.package} is no longer installed"
        elif version != record.package_version:
            status = VERSION_CHANGED
            reason = f"{record.package} is now {version}, the patch was applied to {record.package_version}"
        elif record.status == ALREADY and not mine:
            status, reason = ALREADY, "the change was already present"
        elif any(f.status == MODIFIED for f in mine):
            status = MODIFIED
            reason = "changed since: " + ", ".join(f.path for f in mine if f.status == MODIFIED)
        elif any(f.status == LOST for f in mine):
            status = LOST
            reason = "back to pristine (reinstalled?): " + ", ".join(f.path for f in mine if f.status == LOST)
        else:
            status, reason = IN_PLACE, ""
        patches.append(PatchStatus(record.name, status, reason, mine))
    return StatusReport(root, has_manifest=True, patches=tuple(patches), files=tuple(files.values()))


@frozen
class RevertPlan:
    """The writes that put every recorded file back to its pristine image."""

    changes: tuple[tuple[str, FileState | None, FileState | None], ...]
    """``(path, before, after)``; ``after`` ``None`` deletes a file the patch set created."""
    problems: tuple[str, ...]
    warnings: tuple[str, ...]
    unchanged: tuple[str, ...]
    """Files already back to pristine."""


def plan_revert(manifest: Manifest, reader: Reader, *, force: bool = False, target: Target | None = None) -> RevertPlan:
    """Plan restoring every file the manifest records; refuse files changed since, unless ``force``.

    :param target: the installed distributions; records made against another release than the installed
        one are left alone (never ``force``d): their pristine copies belong to the old release.
    """
    changes: list[tuple[str, FileState | None, FileState | None]] = []
    problems = []
    warnings: list[str] = []
    unchanged = []
    if target is not None:
        from sitepatch.plan import split_stale  # noqa: PLC0415 - revert only: status must not import the planner

        current, stale = split_stale(manifest, target)
        warnings.extend(f"{note}; left as installed" for note in stale)
        manifest = current or manifest
    for record in manifest.files:
        unsafe = reader.unsafe(record.path)
        if unsafe:
            problems.append(f"the manifest records {unsafe}; refusing to write it")
            continue
        state = reader.read(record.path)
        if record.is_pre(*fingerprint(state)):
            unchanged.append(record.path)
            continue
        if not record.is_post(*fingerprint(state)):
            message = f"{record.path}: changed since sitepatch patched it (neither its patched nor its pristine image)"
            if not force:
                problems.append(f"{message}; reinstall {record.distribution}, or pass --force to overwrite it")
                continue
            warnings.append(f"{message}; --force: overwriting it with the pristine image")
        if record.pre_sha256 is None:
            changes.append((record.path, state, None))
            continue
        kept = reader.pristine(record.path)
        if kept is None or file_digest(kept) != record.pre_sha256:
            problems.append(
                f"{record.path}: the pristine copy in .sitepatch/pristine is missing or damaged; "
                f"reinstall {record.distribution} instead"
            )
            continue
        mode = record.pre_mode if record.pre_mode is not None else 0o644
        changes.append((record.path, state, FileState(kept, mode)))
    return RevertPlan(tuple(changes), tuple(problems), tuple(warnings), tuple(unchanged))
