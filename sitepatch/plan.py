"""Plan a run in memory: every hunk placed, every file's new bytes computed, nothing written.

``plan_run`` takes the selected patches, a :class:`Reader` of the target and the current manifest, and returns
a frozen :class:`Plan`. ``--dry-run``, ``check`` and the tests use it without touching the disk; only
:mod:`sitepatch.apply` turns a plan into writes.

Planning always starts from the *pristine* files: the installed file when it matches RECORD, or the pristine
copy sitepatch kept when the file carries sitepatch's own post-image. Then every selected patch is applied in
order on the in-memory result of the previous one. So running again with one more patch adds it on top, a
patch removed from the set is undone, and a run with nothing new writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sitepatch._record import field, frozen, mutable, replace
from sitepatch.disk import FileState, fingerprint
from sitepatch.dist import Distribution, Target, file_digest, record_digest
from sitepatch.locate import Ambiguous, Image, Placement, locate, nearest
from sitepatch.manifest import FileRecord, Manifest
from sitepatch.model import FileKind, FilePatch, Hunk, Line, LineKind, Patch
from sitepatch.selection import Decision

__all__ = [
    "FileChange",
    "FileResult",
    "FileState",
    "HunkResult",
    "PatchResult",
    "Plan",
    "Reader",
    "apply_file_patch",
    "fingerprint",
    "plan_run",
    "split_stale",
]


def __dir__() -> list[str]:
    return __all__


APPLIED = "applied"
ALREADY = "already-applied"
SKIPPED = "skipped"
FAILED = "failed"
AMBIGUOUS = "ambiguous"


class Reader(Protocol):
    """Read access to the target, injected so that planning needs no real disk."""

    def read(self, path: str) -> FileState | None:
        """The file at ``path`` (relative to the target root), or ``None`` when it does not exist."""

    def pristine(self, path: str) -> bytes | None:
        """The pristine copy sitepatch kept of ``path``, or ``None``."""

    def unsafe(self, path: str) -> str | None:
        """Why writing ``path`` would be unsafe (a symlink on the way, outside the root), or ``None``."""


@frozen
class HunkResult:
    """The verdict on one hunk."""

    index: int
    status: str
    """``applied``, ``already-applied``, ``failed`` or ``ambiguous``."""
    line: int | None
    """1-based line of the file where the hunk's pre-image starts (``None`` when not found)."""
    offset: int
    fuzz: int
    diff_line_no: int
    """The patch-file line of the hunk's ``@@`` header."""
    expected_line: int
    """1-based line where the hunk expected to be (its header line plus earlier hunks' offset)."""
    candidates: tuple[int, ...] = ()
    """For ``ambiguous``: every 1-based line where the hunk matches."""
    expected: tuple[str, ...] = ()
    """For ``failed``: the hunk's pre-image lines."""
    actual: tuple[str, ...] = ()
    """For ``failed``: the file's lines at the nearest partial match."""
    nearest_line: int | None = None


@frozen
class FileResult:
    """The verdict on one file of a patch."""

    path: str
    kind: str
    status: str
    hunks: tuple[HunkResult, ...]
    reason: str = ""


@frozen
class PatchResult:
    """The verdict on one patch: ``applied``, ``already-applied``, ``skipped`` or ``failed``."""

    patch: Patch
    status: str
    reason: str
    files: tuple[FileResult, ...] = ()

    @property
    def name(self) -> str:
        """The patch file's name."""
        return self.patch.name


@frozen
class FileChange:
    """One file the run will change on disk."""

    path: str
    distribution: str
    before: FileState | None
    """What is on disk now (``None``: absent)."""
    after: FileState | None
    """What the run writes (``None``: delete it)."""
    pristine: FileState | None
    """The pristine image the plan started from (``None``: the file did not exist)."""
    patches: tuple[str, ...]


@frozen
class Plan:
    """Everything one run would do."""

    target: Target
    patches: tuple[PatchResult, ...]
    changes: tuple[FileChange, ...]
    records: tuple[FileRecord, ...]
    """The manifest's file records after this run."""
    dropped: tuple[str, ...] = ()
    """Patches the manifest records that are no longer selected; the plan undoes them."""
    problems: tuple[str, ...] = ()
    """Refusals that are not a patch's fault (foreign modification, editable install); nothing is written."""
    warnings: tuple[str, ...] = field(default=())
    images: tuple[tuple[str, FileState | None], ...] = field(default=(), compare=False, repr=False)
    """Every file the plan read, as it is after the whole plan (``None``: absent); for refresh and new."""

    @property
    def ok(self) -> bool:
        """True when every selected patch applies or is already applied and nothing was refused."""
        return not self.problems and all(p.status != FAILED for p in self.patches)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _file_eol(image: Image) -> bytes | None:
    # Every CRLF ends a line, so counting in the bytes is counting lines by their ending.
    crlf = image.data.count(b"\r\n")
    lf = image.data.count(b"\n") - crlf
    if not crlf and not lf:
        return None
    return b"\r\n" if crlf > lf else b"\n"


@mutable
class _Cursor:
    offset: int = 0
    lowest: int = 0
    copied: int = 0


def _keys(lines: Sequence[Line]) -> list[bytes]:
    """Hunk lines in the form :func:`sitepatch.locate.line_key` gives file lines."""
    return [ln.text if ln.eol else ln.text + b"\n" for ln in lines]


def _failed_hunk(image: Image, hunk: Hunk, expected: int, result: Placement | Ambiguous | None) -> HunkResult:
    pre = _keys(hunk.source_lines())
    if isinstance(result, Ambiguous):
        return HunkResult(
            index=hunk.index,
            status=AMBIGUOUS,
            line=None,
            offset=0,
            fuzz=result.fuzz,
            diff_line_no=hunk.diff_line_no,
            expected_line=expected + 1,
            candidates=tuple(c + 1 for c in result.candidates),
        )
    near = nearest(image, pre, expected=expected, lowest=0)
    return HunkResult(
        index=hunk.index,
        status=FAILED,
        line=None,
        offset=0,
        fuzz=0,
        diff_line_no=hunk.diff_line_no,
        expected_line=expected + 1,
        expected=tuple(_text(t.rstrip(b"\n")) for t in pre),
        actual=tuple(_text(a.rstrip(b"\r\n")) for a in near.actual),
        nearest_line=near.start + 1,
    )


def _uniform(hunks: Sequence[HunkResult], status: str) -> tuple[HunkResult, ...]:
    """The hunks with the file's verdict, so that no hunk contradicts its file."""
    return tuple(h if h.status == status else replace(h, status=status) for h in hunks)


def _rank(found: Placement | Ambiguous | None, expected: int) -> tuple[int, int] | None:
    if not isinstance(found, Placement):
        return None
    return (found.fuzz, 0 if found.start == expected else 1)


def apply_file_patch(
    data: bytes | None, fp: FilePatch, *, max_fuzz: int
) -> tuple[bytes | None, tuple[HunkResult, ...], str]:
    """Apply one file's hunks to its bytes, in memory.

    :param data: the file's current bytes, or ``None`` when it does not exist.
    :returns: the new bytes (``None`` when the file is deleted), each hunk's verdict, and the file's status:
        ``applied``, ``already-applied`` (every hunk's post-image found where its pre-image is not),
        or ``failed`` (a hunk failed or was ambiguous, or the patch is only partly applied).
    """
    image = Image(data or b"")
    eol = _file_eol(image)
    out: list[bytes] = []
    # Where ``out`` may hold a line without a newline: the file's own last line, or a "No newline" hunk line.
    # Only these are checked at the end, not every line of the file.
    last = len(image.lines) - 1
    last_bare = last >= 0 and not image.lines[last].endswith(b"\n")
    bare: list[int] = []

    def copy(start: int, stop: int | None = None) -> None:
        end = len(image.lines) if stop is None else min(stop, len(image.lines))
        if last_bare and start <= last < end:
            bare.append(len(out) + last - start)
        out.extend(image.lines[start:stop])

    cursor = _Cursor()
    results: list[HunkResult] = []
    for hunk in fp.hunks:
        pre = _keys(hunk.source_lines())
        post = _keys(hunk.target_lines())
        expected = (hunk.source_start - 1 if pre else hunk.source_start) + cursor.offset
        forward = locate(
            image,
            pre,
            leading=hunk.leading_context,
            trailing=hunk.trailing_context,
            header_start=hunk.source_start,
            expected=expected,
            lowest=cursor.lowest,
            max_fuzz=max_fuzz,
        )
        backward: Placement | Ambiguous | None = None
        rev_expected = (hunk.target_start - 1 if post else hunk.target_start) + cursor.offset
        # An empty pre-image matches anywhere, so such a hunk is already applied if its lines stand where it goes.
        if (_rank(forward, expected) != (0, 0) or not pre) and data is not None:
            backward = locate(
                image,
                post,
                leading=hunk.leading_context,
                trailing=hunk.trailing_context,
                header_start=hunk.target_start,
                expected=rev_expected,
                lowest=cursor.lowest,
                max_fuzz=max_fuzz,
            )
        fwd_rank = _rank(forward, expected)
        rev_rank = _rank(backward, rev_expected)
        take_forward = rev_rank is None or (
            fwd_rank is not None and fwd_rank <= rev_rank and (pre or rev_rank != (0, 0))
        )
        if isinstance(forward, Placement) and take_forward:
            copy(cursor.copied, forward.start + forward.top)
            middle = hunk.lines[forward.top : len(hunk.lines) - forward.bottom]
            at = forward.start + forward.top
            for line in middle:
                if line.kind is LineKind.CONTEXT:
                    if last_bare and at == last:
                        bare.append(len(out))
                    out.append(image.lines[at])
                    at += 1
                elif line.kind is LineKind.REMOVED:
                    at += 1
                else:
                    if not line.eol:
                        bare.append(len(out))
                    out.append(line.text + (line.eol if not line.eol or eol is None else eol))
            cursor.copied = at
            cursor.lowest = forward.end
            cursor.offset = forward.offset
            results.append(
                HunkResult(
                    hunk.index,
                    APPLIED,
                    forward.start + 1,
                    forward.offset,
                    forward.fuzz,
                    hunk.diff_line_no,
                    expected + 1,
                )
            )
        elif isinstance(backward, Placement):
            cursor.lowest = backward.end
            cursor.offset = backward.offset
            results.append(
                HunkResult(
                    hunk.index,
                    ALREADY,
                    backward.start + 1,
                    backward.offset,
                    backward.fuzz,
                    hunk.diff_line_no,
                    expected + 1,
                )
            )
        else:
            results.append(_failed_hunk(image, hunk, expected, forward if forward is not None else backward))
    copy(cursor.copied)
    statuses = {r.status for r in results}
    if FAILED in statuses or AMBIGUOUS in statuses:
        return data, tuple(results), FAILED
    if statuses == {ALREADY}:
        return data, tuple(results), ALREADY
    if ALREADY in statuses:
        return data, tuple(results), FAILED
    # A line that ends up followed by another must end with a newline, even if it was the last line before.
    for i in bare:
        if i < len(out) - 1 and not out[i].endswith(b"\n"):
            out[i] += eol or b"\n"
    return b"".join(out), tuple(results), APPLIED


@mutable
class _Work:
    """The in-memory state of the files of one run."""

    reader: Reader
    target: Target
    manifest: Manifest | None
    force: bool
    images: dict[str, FileState | None] = field(default_factory=dict)
    pristine: dict[str, FileState | None] = field(default_factory=dict)
    current: dict[str, FileState | None] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    touched_by: dict[str, list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def base(self, path: str, package: str) -> FileState | None:
        """The pristine image of ``path``, loading it on first use; records a problem when not pristine."""
        if path in self.images:
            return self.images[path]
        state = self.reader.read(path)
        self.current[path] = state
        self.owners[path] = package
        base, problem = self._pristine_of(path, package, state)
        pristine = base
        if problem:
            if self.force:
                self.warnings.append(f"{problem}; --force: patching it as it is")
                base = state
                # A file sitepatch patched and the user then edited: its pristine image is still the one
                # kept, so the record (and revert) keep it instead of taking the edited file as pristine.
                pristine = self._kept_pristine(path, base)
            else:
                self.problems.append(problem)
        self.images[path] = base
        self.pristine[path] = pristine
        return base

    def _kept_pristine(self, path: str, fallback: FileState | None) -> FileState | None:
        record = self.manifest.file(path) if self.manifest else None
        if record is None:
            return fallback
        if record.pre_sha256 is None:
            return None
        kept = self.reader.pristine(path)
        if kept is None or file_digest(kept) != record.pre_sha256:
            return fallback
        return FileState(kept, record.pre_mode if record.pre_mode is not None else 0o644)

    def _pristine_of(self, path: str, package: str, state: FileState | None) -> tuple[FileState | None, str]:
        record = self.manifest.file(path) if self.manifest else None
        if record is not None and _still_recorded(record, state):
            if record.pre_sha256 is None:
                return None, ""
            kept = self.reader.pristine(path)
            if kept is None or file_digest(kept) != record.pre_sha256:
                problem = (
                    f"{path}: the pristine copy sitepatch kept is missing or damaged; "
                    f"reinstall {package} (pip install --force-reinstall) and apply again"
                )
                return state, problem
            return FileState(kept, record.pre_mode if record.pre_mode is not None else 0o644), ""
        dist = self.target.get(package)
        if dist is None:  # pragma: no cover - selection guarantees the package is installed
            return state, f"{path}: {package} is not installed"
        listed = dist.record.get(path)
        if state is None:
            if listed is not None:
                return None, f"{path}: listed in {dist.dist_info.name}/RECORD but missing; reinstall {package}"
            return None, ""
        if listed is None:
            return (
                state,
                f"{path}: exists but is not a file of {package} {dist.version} (not in RECORD); remove it or reinstall",
            )
        if not listed:
            return (
                state,
                f"{path}: RECORD has no hash for it, so it cannot be verified as pristine; --force patches it anyway",
            )
        if record_digest(state.data) != listed:
            why = "differs from RECORD" + (" and from sitepatch's post-image" if record is not None else "")
            return state, (
                f"{path}: modified since {package} {dist.version} was installed ({why}); "
                f"reinstall {package} or revert the local change (--force patches it as it is)"
            )
        return state, ""


def _patch_result(work: _Work, patch: Patch, max_fuzz: int) -> PatchResult:
    dist = work.target.get(patch.package)
    if dist is not None and dist.editable:
        reason = (
            f"{patch.package} is an editable or source install ({dist.dist_info.name}); "
            "sitepatch only writes to wheel installs: patch the source tree instead"
        )
        work.problems.append(reason)
        return PatchResult(patch, FAILED, reason)
    files: list[FileResult] = []
    lines: list[int] = []
    staged: dict[str, FileState | None] = {}
    for fp in patch.files:
        for path in {fp.source_path, fp.target_path} - {None}:
            assert path is not None
            unsafe = work.reader.unsafe(path)
            if dist is not None and not dist.owns(path):
                unsafe = unsafe or f"{path} is not a file of {patch.package} (not in its RECORD or its packages)"
            elif dist is not None and path not in dist.record:
                unsafe = unsafe or _claimed_by_other(work.target, dist, path)
            if unsafe:
                reason = f"{patch.display}:{fp.diff_line_no}: {unsafe}"
                files.append(FileResult(fp.path, fp.kind.value, FAILED, (), reason))
                return PatchResult(patch, FAILED, reason, tuple(files))
        files.append(_file_result(work, patch, fp, staged, max_fuzz))
        lines.append(fp.diff_line_no)
    statuses = {f.status for f in files}
    if FAILED in statuses:
        # Name the patch file's line of each failure: the first failing hunk's @@, else the file's '---' line.
        reason = "; ".join(
            f"{patch.display}:{_failure_line(f, line)}: {f.path}: {f.reason}"
            for f, line in zip(files, lines, strict=True)
            if f.status == FAILED
        )
        return PatchResult(patch, FAILED, reason, tuple(files))
    if statuses == {ALREADY}:
        return PatchResult(patch, ALREADY, "every hunk's change is already present", tuple(files))
    if ALREADY in statuses:
        done = ", ".join(f.path for f in files if f.status == ALREADY)
        reason = f"partly applied: {done} already patched, the rest not; reinstall {patch.package} and apply again"
        return PatchResult(patch, FAILED, reason, tuple(files))
    work.images.update(staged)
    for path in staged:
        work.touched_by.setdefault(path, []).append(patch.name)
    return PatchResult(patch, APPLIED, "", tuple(files))


def _claimed_by_other(target: Target, dist: Distribution, path: str) -> str | None:
    """Why a new file ``path`` belongs to another distribution than ``dist``, or ``None``.

    Namespace packages share directories (``google/`` of protobuf and google-auth): the distribution whose
    own files sit deepest on the way to ``path`` owns it; a tie is refused too.
    """
    mine = dist.owner_depth(path) or 0
    first = path.split("/", 1)[0]
    for other in target.distributions.values():
        if other.name == dist.name or first not in other.top_levels:
            continue
        theirs = other.owner_depth(path)
        if theirs is not None and theirs >= mine:
            return f"{path} is not a file of {dist.name}: its directory holds files of {other.name}"
    return None


def _failure_line(result: FileResult, file_line: int) -> int:
    return next((h.diff_line_no for h in result.hunks if h.status in (FAILED, AMBIGUOUS)), file_line)


def _describe_failure(hunks: Sequence[HunkResult]) -> str:
    parts = []
    for h in hunks:
        if h.status == AMBIGUOUS:
            lines = ", ".join(str(c) for c in h.candidates)
            parts.append(
                f"hunk #{h.index} is ambiguous: it matches at lines {lines}, none of them line {h.expected_line}"
            )
        elif h.status == FAILED:
            parts.append(
                f"hunk #{h.index} FAILED (expected at line {h.expected_line}; nearest match at line {h.nearest_line})"
            )
    if not parts:
        done = ", ".join(f"#{h.index}" for h in hunks if h.status == ALREADY)
        return f"partly applied: hunks {done} are already applied, the others are not"
    return "; ".join(parts)


def _file_result(
    work: _Work, patch: Patch, fp: FilePatch, staged: dict[str, FileState | None], max_fuzz: int
) -> FileResult:
    def image(path: str) -> FileState | None:
        if path in staged:
            return staged[path]
        return work.base(path, patch.package)

    kind = fp.kind
    if kind in (FileKind.MODIFY, FileKind.DELETE):
        source = fp.source_path
        assert source is not None
        state = image(source)
        if kind is FileKind.DELETE:
            return _delete_result(fp, state, staged)
        if state is None:
            return FileResult(fp.path, kind.value, FAILED, (), "file not found")
        new, hunks, status = apply_file_patch(state.data, fp, max_fuzz=max_fuzz)
        if status == FAILED:
            return FileResult(fp.path, kind.value, FAILED, hunks, _describe_failure(hunks))
        mode = fp.new_mode & 0o777 if fp.new_mode is not None else state.mode
        if status == ALREADY and mode == state.mode:
            return FileResult(fp.path, kind.value, ALREADY, hunks)
        staged[source] = FileState(new if new is not None else state.data, mode)
        return FileResult(fp.path, kind.value, APPLIED, hunks)
    target = fp.target_path
    assert target is not None
    existing = image(target)
    if kind is FileKind.CREATE:
        new, hunks, status = apply_file_patch(None, fp, max_fuzz=0)
        if existing is not None and existing.data:
            if existing.data == new:
                return FileResult(fp.path, kind.value, ALREADY, _uniform(hunks, ALREADY))
            return FileResult(fp.path, kind.value, FAILED, hunks, "the patch creates this file, but it already exists")
        staged[target] = FileState(new or b"", fp.new_mode & 0o777 if fp.new_mode is not None else 0o644)
        return FileResult(fp.path, kind.value, status, hunks)
    source = fp.source_path
    assert source is not None
    origin = image(source)
    if origin is None:
        if existing is not None and kind is FileKind.RENAME:
            _, hunks, status = apply_file_patch(existing.data, fp, max_fuzz=max_fuzz)
            if status in (ALREADY, APPLIED) and not fp.hunks:
                return FileResult(fp.path, kind.value, ALREADY, hunks)
            if status == ALREADY:
                return FileResult(fp.path, kind.value, ALREADY, hunks)
        return FileResult(fp.path, kind.value, FAILED, (), f"{source} not found")
    if existing is not None:
        return FileResult(fp.path, kind.value, FAILED, (), f"cannot {kind.value} {source} onto {target}: it exists")
    new, hunks, status = apply_file_patch(origin.data, fp, max_fuzz=max_fuzz)
    if status != APPLIED and fp.hunks:
        return FileResult(
            fp.path, kind.value, FAILED, hunks, _describe_failure(hunks) if status == FAILED else "already applied"
        )
    mode = fp.new_mode & 0o777 if fp.new_mode is not None else origin.mode
    staged[target] = FileState(new if new is not None else origin.data, mode)
    if kind is FileKind.RENAME:
        staged[source] = None
    return FileResult(fp.path, kind.value, APPLIED, hunks)


def _delete_result(fp: FilePatch, state: FileState | None, staged: dict[str, FileState | None]) -> FileResult:
    """A deletion removes the file only when its bytes are exactly the patch's removed lines, all of them.

    A hunk's empty post-image "matches anywhere", so judging a deletion hunk by hunk would delete files
    of any content; ``--force`` does not change this (it only lets a modified file be patched).
    """
    kind = fp.kind.value
    if state is None:
        gone = tuple(HunkResult(h.index, ALREADY, None, 0, 0, h.diff_line_no, h.source_start) for h in fp.hunks)
        return FileResult(fp.path, kind, ALREADY, gone, "already deleted")
    expected = b"".join(line.text + line.eol for hunk in fp.hunks for line in hunk.source_lines())
    if state.data != expected:
        shown = f"{len(state.data)} bytes on disk, {len(expected)} removed by the patch"
        reason = f"not deleting: the file is not the one the patch deletes ({shown}); its content differs"
        image = Image(state.data)
        failed = tuple(_failed_hunk(image, hunk, max(hunk.source_start - 1, 0), None) for hunk in fp.hunks)
        return FileResult(fp.path, kind, FAILED, failed, reason)
    staged[fp.path] = None
    placed = tuple(
        HunkResult(h.index, APPLIED, h.source_start or 1, 0, 0, h.diff_line_no, h.source_start or 1) for h in fp.hunks
    )
    return FileResult(fp.path, kind, APPLIED, placed)


def split_stale(manifest: Manifest | None, target: Target) -> tuple[Manifest | None, tuple[str, ...]]:
    """Drop the file records made against another release than the one installed, saying why for each.

    A record's pristine copy belongs to the release it was made against; after an upgrade (or a reinstall
    from another build) writing it would put the old release's bytes into the new install. So such records
    are dropped, and planning starts from the files now installed, checked against the new RECORD.

    :returns: the manifest without those records, and one sentence for each record dropped.
    """
    if manifest is None:
        return None, ()
    kept: list[FileRecord] = []
    notes: list[str] = []
    for record in manifest.files:
        dist = target.get(record.distribution)
        if dist is None:
            why = f"{record.distribution} is no longer installed"
        elif record.version and record.version != str(dist.version):
            why = f"installed: {dist.name} {dist.version}"
        elif record.record_hash is not None and dist.record.get(record.path) != record.record_hash:
            why = f"{dist.name} {dist.version} was reinstalled from another build (its RECORD hash changed)"
        else:
            kept.append(record)
            continue
        made = f"{record.distribution} {record.version}" if record.version else record.distribution
        notes.append(
            f"{record.path}: dropped the record made against {made} ({why}); "
            "its pristine copy is not written into this install"
        )
    if not notes:
        return manifest, ()
    return replace(manifest, files=tuple(kept)), tuple(notes)


def plan_run(  # noqa: PLR0913 - the run's inputs, each distinct
    decisions: Sequence[Decision],
    target: Target,
    reader: Reader,
    manifest: Manifest | None,
    *,
    max_fuzz: int = 0,
    force: bool = False,
) -> Plan:
    """Plan applying the selected patches to the target, in order, from the pristine files.

    :param decisions: every patch with whether it is selected (see :func:`sitepatch.selection.select_patches`).
    :param reader: read access to the target's files and sitepatch's pristine copies.
    :param manifest: what sitepatch applied before, or ``None``.
    :param max_fuzz: how many outer context lines a hunk may ignore.
    :param force: patch files that are not pristine as they are, with a warning, instead of refusing.
    :returns: the plan; ``plan.ok`` says whether it may be written.
    """
    manifest, stale = split_stale(manifest, target)
    work = _Work(reader=reader, target=target, manifest=manifest, force=force)
    work.warnings.extend(stale)
    results: list[PatchResult] = []
    for decision in decisions:
        if not decision.selected:
            results.append(PatchResult(decision.patch, SKIPPED, decision.reason))
            continue
        results.append(_patch_result(work, decision.patch, max_fuzz))
    selected_names = {d.patch.name for d in decisions if d.selected}
    # Files sitepatch patched earlier but that no selected patch touches now go back to pristine.
    dropped: list[str] = []
    if manifest is not None:
        dropped = [record.name for record in manifest.patches if record.name not in selected_names]
        for file_record in manifest.files:
            if file_record.path not in work.images and target.get(file_record.distribution) is not None:
                unsafe = reader.unsafe(file_record.path)
                if unsafe:
                    work.problems.append(f"the manifest records {unsafe}; refusing to read or write it")
                    continue
                work.base(file_record.path, file_record.distribution)
    recorded = _recorded_patches(manifest, results)
    final = _final_results(results, work, recorded, manifest)
    changes: list[FileChange] = []
    records: list[FileRecord] = []
    for path, after in work.images.items():
        pristine = work.pristine[path]
        before = work.current.get(path)
        if after != before:
            changes.append(
                FileChange(path, work.owners[path], before, after, pristine, tuple(work.touched_by.get(path, ())))
            )
        if after != pristine:
            dist = target.get(work.owners[path])
            records.append(
                FileRecord(
                    path=path,
                    distribution=work.owners[path],
                    pre_sha256=file_digest(pristine.data) if pristine is not None else None,
                    post_sha256=file_digest(after.data) if after is not None else None,
                    pre_mode=pristine.mode if pristine is not None else None,
                    post_mode=after.mode if after is not None else None,
                    patches=tuple(work.touched_by.get(path, ())),
                    version=str(dist.version) if dist is not None else "",
                    record_hash=(dist.record.get(path) or None) if dist is not None else None,
                )
            )
    return Plan(
        target=target,
        patches=final,
        changes=tuple(sorted(changes, key=lambda c: c.path)),
        records=tuple(sorted(records, key=lambda r: r.path)),
        dropped=tuple(dropped),
        problems=tuple(dict.fromkeys(work.problems)),
        warnings=tuple(dict.fromkeys(work.warnings)),
        images=tuple(sorted(work.images.items())),
    )


def _recorded_patches(manifest: Manifest | None, results: Sequence[PatchResult]) -> set[str]:
    if manifest is None:
        return set()
    shas = {r.name: r.sha256 for r in manifest.patches}
    return {r.patch.name for r in results if shas.get(r.patch.name) == r.patch.sha256}


def _final_results(
    results: Sequence[PatchResult], work: _Work, recorded: set[str], manifest: Manifest | None
) -> tuple[PatchResult, ...]:
    """Report a patch that an earlier run applied, and whose files still carry that run's result, as already applied."""
    final: list[PatchResult] = []
    for result in results:
        if result.status == APPLIED and result.patch.name in recorded and manifest is not None:
            paths = {p for fp in result.patch.files for p in (fp.source_path, fp.target_path) if p is not None}
            if all(_still_recorded(manifest.file(p), work.current.get(p)) for p in paths):
                files = tuple(replace(f, status=ALREADY, hunks=_uniform(f.hunks, ALREADY)) for f in result.files)
                result = PatchResult(result.patch, ALREADY, "applied by an earlier run", files)  # noqa: PLW2901
        final.append(result)
    return tuple(final)


def _still_recorded(record: FileRecord | None, state: FileState | None) -> bool:
    return record is not None and record.is_post(*fingerprint(state))
