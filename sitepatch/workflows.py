"""The patch lifecycle: new, refresh, import, export and upstream status.

Create a patch from an edited install, refresh it onto a new version, import an upstream change, export a
patch as an upstream pull request, and classify patches against a newer release.

Each function plans in memory and returns frozen results; writing patch files and running git happen only
where the caller says so (``write`` callbacks, an injected command runner).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from packaging.version import Version

from sitepatch import __version__
from sitepatch._record import field, frozen
from sitepatch.apply import DiskReader
from sitepatch.dist import Target, record_digest
from sitepatch.errors import SitepatchError, TargetError
from sitepatch.lifecycle import (
    RepoLayout,
    compatible_range,
    file_diff,
    next_number,
    render_file_patch,
    render_patch,
    slugify,
    split_range,
    variant_name,
    widen_range,
)
from sitepatch.manifest import Manifest
from sitepatch.model import FileKind, Patch
from sitepatch.parse import parse_diff, parse_patch
from sitepatch.plan import ALREADY, APPLIED, FAILED, FileState, PatchResult, Plan, fingerprint, plan_run
from sitepatch.selection import Decision, select_patches
from sitepatch.wheels import PristineFinder

__all__ = [
    "ExportPlan",
    "ImportResult",
    "NewResult",
    "OverlayReader",
    "RefreshResult",
    "UpstreamRow",
    "create_patch",
    "import_change",
    "plan_export",
    "refresh_patches",
    "run_export",
    "upstream_status",
]


def __dir__() -> list[str]:
    return __all__


@frozen
class OverlayReader:
    """A target reader that answers with given (pristine) bytes for some files and reads the rest from disk."""

    disk: DiskReader
    overlay: dict[str, bytes] = field(hash=False)

    def read(self, path: str) -> FileState | None:
        """The overlaid bytes with the disk file's mode, or the disk file."""
        state = self.disk.read(path)
        if path in self.overlay:
            return FileState(self.overlay[path], state.mode if state is not None else 0o644)
        return state

    def pristine(self, path: str) -> bytes | None:
        """Sitepatch's own pristine copy."""
        return self.disk.pristine(path)

    def unsafe(self, path: str) -> str | None:
        """Path safety, from the disk."""
        return self.disk.unsafe(path)


def _images(plan: Plan) -> dict[str, FileState | None]:
    return dict(plan.images)


def _selected_before(decisions: Sequence[Decision], number: str) -> list[Decision]:
    return [d for d in decisions if d.selected and d.patch.number < number]


# -- new ------------------------------------------------------------------------------------------------


@frozen
class NewResult:
    """A patch made from the edits in an install."""

    name: str
    text: bytes
    files: tuple[str, ...]
    pristine: dict[str, bytes] = field(hash=False, compare=False)
    """The pristine bytes found for each edited file that the distribution installed."""


def _edited_files(target: Target, package: str, paths: Sequence[str]) -> list[str]:
    dist = target.get(package)
    assert dist is not None
    reader = DiskReader(target.root)
    wanted = set(paths)
    edited = []
    for path, digest in sorted(dist.record.items()):
        if not digest or (wanted and path not in wanted) or "__pycache__/" in path or path.endswith(".pyc"):
            continue
        state = reader.read(path)
        if state is None or record_digest(state.data) != digest:
            edited.append(path)
    # Files the distribution did not install count only when named, and only inside its packages.
    edited.extend(sorted(p for p in wanted if p not in dist.record and dist.owns(p) and reader.read(p) is not None))
    return edited


def create_patch(  # noqa: PLR0913 - the command's options
    target: Target,
    patches: Sequence[Patch],
    *,
    name: str,
    package: str,
    paths: Sequence[str],
    finder: PristineFinder,
    subject: str,
    description: str,
    today: str,
    existing_names: Sequence[str],
    manifest: Manifest | None = None,
) -> NewResult:
    """Diff the edited files of ``package`` against what the current patch set makes of the pristine files.

    :param manifest: what sitepatch applied to the target before (its pristine copies stand in for the files
        of other distributions the set patched).
    :raises TargetError: when the package is not installed, nothing is edited, or pristine content cannot
        be had (saying where it looked).
    """
    dist = target.get(package)
    if dist is None:
        raise TargetError(f"{package} is not installed in {target.root}")
    if dist.editable:
        raise TargetError(f"{package} is an editable or source install: diff its source tree with git instead")
    edited = _edited_files(target, package, paths)
    if not edited:
        raise TargetError(
            f"no file of {package} {dist.version} differs from its RECORD: edit the installed files first"
        )
    # Files sitepatch itself patched differ from RECORD too: they are user edits only if they differ from the
    # patch set's result, which is computed from the pristine files.
    found, missing = finder.find(edited)
    if missing:
        where = ", ".join(finder.tried)
        raise TargetError(
            f"cannot get the pristine content of {', '.join(missing)} from {where}; "
            f"reinstall {package}=={dist.version} (or allow the download) and try again"
        )
    decisions = select_patches(patches, target.versions)
    reader = DiskReader(target.root)
    # With the manifest: files of *other* distributions that the set patched are known as sitepatch's own
    # post-images, and planned from the pristine copies kept for them (an install with the set applied).
    plan = plan_run(decisions, target, OverlayReader(reader, found), manifest, max_fuzz=0)
    if not plan.ok:
        raise TargetError(
            "the current patch set does not apply to the pristine files; fix that first: "
            + "; ".join(plan.problems or [p.reason for p in plan.patches if p.status == FAILED])
        )
    images = _images(plan)
    pieces = []
    changed = []
    for path in edited:
        before = images[path].data if path in images and images[path] is not None else found.get(path)  # type: ignore[union-attr]
        now = reader.read(path)
        diff = file_diff(path, before, now.data if now is not None else None)
        if diff:
            pieces.append(diff)
            changed.append(path)
    if not pieces:
        raise TargetError(f"the edited files of {package} equal what the patch set already makes of them: nothing new")
    number = next_number(existing_names)
    fields = [
        ("Subject", subject or name.replace("-", " ")),
        ("Package", str(dist.name)),
        ("Versions", compatible_range(dist.version)),
    ]
    if description:
        fields.append(("Description", description))
    fields += [("Origin", "vendor"), ("Forwarded", "no"), ("Last-Update", today)]
    text = render_patch(fields, b"".join(pieces))
    return NewResult(f"{number}-{slugify(name)}.diff", text, tuple(changed), found)


# -- refresh --------------------------------------------------------------------------------------------


@frozen
class RefreshResult:
    """What refreshing one patch did."""

    patch: str
    action: str
    """``refreshed`` (rewritten in place), ``variant`` (new variant written), ``current`` or ``failed``."""
    detail: str
    writes: tuple[tuple[str, bytes], ...] = ()
    """File names (in the patch directory) and their new bytes."""
    result: PatchResult | None = None


def _with_header(data: bytes, fields: dict[str, str]) -> bytes:
    """``data`` (the patch file) with some header fields replaced, the diff untouched."""
    lines = data.split(b"\n")
    out = []
    in_header = True
    seen = set()
    for line in lines:
        if in_header and not line.strip():
            in_header = False
            for key, value in fields.items():
                if key.lower() not in seen:
                    out.append(f"{key}: {value}".encode())
        if in_header:
            key = line.split(b":", 1)[0].decode("ascii", "replace")
            if key.lower() in {k.lower() for k in fields} and not line.startswith((b" ", b"\t")):
                seen.add(key.lower())
                out.append(f"{key}: {fields[next(k for k in fields if k.lower() == key.lower())]}".encode())
                continue
        out.append(line)
    return b"\n".join(out)


def _fields(patch: Patch, overrides: dict[str, str]) -> list[tuple[str, str]]:
    fields = [(k, overrides.get(k, v)) for k, v in patch.header.fields]
    present = {k for k, _ in fields}
    fields += [(k, v) for k, v in overrides.items() if k not in present]
    return fields


def _ordinal(version: Version) -> int:
    major, minor, micro = (*version.release, 0, 0, 0)[:3]
    return major * 1_000_000 + minor * 1_000 + micro


def _distance(patch: Patch, version: Version) -> int:
    """How far ``version`` is from the nearest bound of the range of ``patch`` (0 inside it)."""
    if patch.versions.contains(version, prereleases=True):
        return 0
    bounds = [Version(s.version) for s in patch.versions if "*" not in s.version]
    return min((abs(_ordinal(version) - _ordinal(b)) for b in bounds), default=0)


def _candidates(decisions: Sequence[Decision], number: str, version: Version) -> list[Patch]:
    """The variants of ``number`` to try, in order: the one selected here, then the nearest range first."""
    mine = [d for d in decisions if d.patch.number == number]
    return sorted(
        (d.patch for d in mine),
        key=lambda p: (not any(d.selected and d.patch == p for d in mine), _distance(p, version)),
    )


def _candidate(decisions: Sequence[Decision], number: str, target: Target) -> Patch | None:
    """The variant of ``number`` for the installed version: the selected one, else the nearest, else the newest."""
    mine = [d.patch for d in decisions if d.patch.number == number]
    if not mine:
        return None
    dist = target.get(mine[0].package)
    if dist is not None:
        return _candidates(decisions, number, dist.version)[0]
    return max(
        mine, key=lambda p: max((Version(s.version) for s in p.versions if "*" not in s.version), default=Version("0"))
    )


def _pristine_reader(disk: DiskReader, manifest: Manifest | None) -> OverlayReader:
    """``disk``, but each file sitepatch patched (and that still carries its post-image) read as its pristine copy."""
    overlay: dict[str, bytes] = {}
    for record in manifest.files if manifest is not None else ():
        state = disk.read(record.path)
        kept = disk.pristine(record.path)
        if kept is not None and record.is_post(*fingerprint(state)):
            overlay[record.path] = kept
    return OverlayReader(disk, overlay)


def _ceiling(patches: Sequence[Patch], patch: Patch, version: Version) -> Version | None:
    """Where the next variant of ``patch`` above ``version`` starts (a widened range must stop there)."""
    starts = [
        Version(s.version)
        for other in patches
        if other.number == patch.number and other.name != patch.name
        for s in other.versions
        if s.operator in (">=", "==", "~=", ">") and "*" not in s.version
    ]
    above = [v for v in starts if v > version]
    return min(above, default=None)


def refresh_patches(  # noqa: PLR0913 - the command's options
    target: Target,
    patches: Sequence[Patch],
    *,
    names: Sequence[str],
    widen: bool,
    max_fuzz: int,
    today: str,
    manifest: Manifest | None = None,
) -> tuple[RefreshResult, ...]:
    """Regenerate patches against the installed version where they apply only with an offset or fuzz.

    :param names: patch file names or numbers; empty means every patch whose package is installed.
    :param widen: rewrite the patch in place with a ``Versions`` range that includes the installed version;
        otherwise write a new variant for the installed series and leave the old file's diff as it was (its
        range is narrowed if it included the installed version).
    :param manifest: what sitepatch applied to the target; files it patched are refreshed from the pristine
        copies it kept (an install with the set applied, across distributions).
    """
    decisions = select_patches(patches, target.versions)
    numbers = sorted({p.number for p in patches if not names or p.name in names or p.number in names})
    reader = _pristine_reader(DiskReader(target.root), manifest)
    results = []
    for number in numbers:
        mine = [d.patch for d in decisions if d.patch.number == number and target.get(d.patch.package) is not None]
        if not mine:
            continue
        dist = target.get(mine[0].package)
        assert dist is not None
        variants = _candidates(decisions, number, dist.version)
        # A variant named by its file comes first (after one selected here).
        variants.sort(key=lambda p: 0 if p.name in names or any(d.selected and d.patch == p for d in decisions) else 1)
        before_plan = plan_run(_selected_before(decisions, number), target, reader, None, max_fuzz=0)
        tried = []
        for patch in variants:
            forced = [*_selected_before(decisions, number), Decision(patch, selected=True, reason="")]
            after_plan = plan_run(forced, target, reader, None, max_fuzz=max_fuzz)
            result = after_plan.patches[-1]
            if result.status in (APPLIED, ALREADY) or after_plan.problems:
                break
            tried.append(f"{patch.name}: {result.status}")
        else:
            # None applies: report the nearest variant's failure, naming every variant tried.
            patch = variants[0]
            forced = [*_selected_before(decisions, number), Decision(patch, selected=True, reason="")]
            after_plan = plan_run(forced, target, reader, None, max_fuzz=max_fuzz)
            result = after_plan.patches[-1]
            if len(tried) > 1:
                reason = f"no variant applies ({'; '.join(tried)}); nearest, {patch.name}: {result.reason}"
                results.append(RefreshResult(patch.name, FAILED, reason, result=result))
                continue
        started = f"from {patch.name}" + (f" (tried first: {'; '.join(tried)})" if tried else "") + "; "
        if after_plan.problems or before_plan.problems:
            detail = "; ".join(after_plan.problems or before_plan.problems)
            results.append(RefreshResult(patch.name, FAILED, detail, result=result))
            continue
        if result.status != APPLIED:
            detail = result.reason or "already applied: upstream has this change; retire the patch (Applied-Upstream)"
            results.append(
                RefreshResult(patch.name, FAILED if result.status == FAILED else ALREADY, detail, result=result)
            )
            continue
        exact = all(h.offset == 0 and h.fuzz == 0 for f in result.files for h in f.hunks)
        selected = any(d.selected and d.patch.name == patch.name for d in decisions)
        if exact and selected:
            results.append(RefreshResult(patch.name, "current", "applies exactly; nothing to refresh", result=result))
            continue
        before, after = _images(before_plan), _images(after_plan)
        pieces = []
        for fp in patch.files:
            if fp.kind in (FileKind.RENAME, FileKind.COPY):
                results.append(
                    RefreshResult(patch.name, FAILED, f"{fp.path}: renames and copies are not refreshed; edit by hand")
                )
                break
            path = fp.path
            old = before.get(path, reader.read(path))
            new = after.get(path)
            pieces.append(file_diff(path, old.data if old else None, new.data if new else None))
        else:
            diff = b"".join(pieces)
            data = patch.path.read_bytes()
            if widen or (exact and not selected):
                versions = widen_range(patch.versions, dist.version, _ceiling(patches, patch, dist.version))
                text = render_patch(_fields(patch, {"Versions": versions, "Last-Update": today}), diff)
                detail = f"{started}rewritten against {dist.name} {dist.version}; Versions {versions}"
                results.append(RefreshResult(patch.name, "refreshed", detail, ((patch.name, text),), result))
            else:
                old_range, new_range = split_range(patch.versions, dist.version, _ceiling(patches, patch, dist.version))
                new_name = variant_name(patch, dist.version)
                text = render_patch(_fields(patch, {"Versions": new_range, "Last-Update": today}), diff)
                writes = [(new_name, text)]
                if old_range != str(patch.versions):
                    writes.append((patch.name, _with_header(data, {"Versions": old_range})))
                detail = f"{started}new variant {new_name} for {new_range}; {patch.name} keeps {old_range}"
                results.append(RefreshResult(patch.name, "variant", detail, tuple(writes), result))
    return tuple(results)


# -- import ---------------------------------------------------------------------------------------------


@frozen
class ImportResult:
    """An upstream change turned into patch files (one per distribution)."""

    writes: tuple[tuple[str, bytes], ...]
    dropped: tuple[str, ...]
    """Repository paths outside the installed packages (tests, docs, ...), left out."""
    results: tuple[PatchResult, ...]
    """How each new patch applies to the installed version."""

    @property
    def ok(self) -> bool:
        """Whether every new patch applies (or is already applied) here."""
        return all(r.status in (APPLIED, ALREADY) for r in self.results)


_ENVELOPE_SUBJECT = re.compile(r"^Subject:\s*(?:\[PATCH[^\]]*\]\s*)?(?P<subject>.*)$")


def _envelope(text: str) -> tuple[str, str, str, str]:
    """Subject, body, commit and the diff of a ``git format-patch`` file (or of a bare diff)."""
    lines = text.split("\n")
    start = next((i for i, ln in enumerate(lines) if ln.startswith(("diff --git ", "--- "))), len(lines))
    head = lines[:start]
    commit = subject = ""
    body: list[str] = []
    in_subject = in_body = False
    for line in head:
        if in_body:
            if line == "---":
                break
            body.append(line)
            continue
        match = re.match(r"^From ([0-9a-f]{40}) ", line)
        if match:
            commit = match.group(1)
            continue
        found = _ENVELOPE_SUBJECT.match(line)
        if found:
            subject, in_subject = found.group("subject").strip(), True
        elif in_subject and line.startswith((" ", "\t")):
            subject += " " + line.strip()
        elif not line.strip() and subject:
            in_subject, in_body = False, True
    return subject, "\n".join(body).strip(), commit, "\n".join(lines[start:])


def import_change(  # noqa: PLR0913 - the command's options
    target: Target,
    patches: Sequence[Patch],
    data: bytes,
    *,
    origin: str,
    subject: str,
    name: str,
    today: str,
    existing_names: Sequence[str],
    layout: RepoLayout | None = None,
    manifest: Manifest | None = None,
) -> ImportResult:
    """Turn an upstream diff (repository layout) into site-packages patches, checking that they apply.

    :param manifest: what sitepatch applied to the target: the check runs on the pristine copies of the files
        it patched, as ``apply`` would plan them (an upstream diff is made against upstream's files).

    :raises PatchParseError: when the diff does not parse.
    :raises TargetError: when no file of the change belongs to an installed distribution.
    """
    layout = layout or RepoLayout()
    text = data.decode("utf-8", "surrogateescape")
    found_subject, body, commit, _ = _envelope(text)
    subject = subject or found_subject or name.replace("-", " ")
    groups: dict[str, list[bytes]] = {}
    dropped = []
    for fp in parse_diff(data, display=origin):
        mapped: dict[str | None, str | None] = {}
        owner = None
        for side in (fp.source_path, fp.target_path):
            if side is None:
                mapped[side] = None
                continue
            for candidate in layout.candidates(side):
                dist = next((d for d in target.distributions.values() if d.owns(candidate)), None)
                if dist is not None:
                    mapped[side], owner = candidate, str(dist.name)
                    break
        if owner is None:
            dropped.append(fp.path)
            continue
        groups.setdefault(owner, []).append(
            render_file_patch(fp, source=mapped.get(fp.source_path), target=mapped.get(fp.target_path))
        )
    if not groups:
        raise TargetError(
            f"{origin}: no file of this change belongs to an installed distribution (left out: {', '.join(dropped)})"
        )
    names = list(existing_names)
    writes: list[tuple[str, bytes]] = []
    origin_field = origin if not commit else f"{origin} (commit {commit})"
    for index, (package, pieces) in enumerate(sorted(groups.items())):
        dist = target.get(package)
        assert dist is not None
        number = next_number(names)
        suffix = f"-{package}" if len(groups) > 1 else ""
        file_name = f"{number}-{slugify(name or subject)}{suffix}.diff"
        names.append(file_name)
        description = body
        if len(groups) > 1:
            description += f"\n\nPart {index + 1} of {len(groups)} of one upstream change, split per distribution."
        fields = [("Subject", subject), ("Package", package), ("Versions", compatible_range(dist.version))]
        if description.strip():
            fields.append(("Description", description.strip()))
        fields += [("Origin", origin_field), ("Last-Update", today)]
        writes.append((file_name, render_patch(fields, b"".join(pieces))))
    new = [parse_patch(text_, path=Path(n)) for n, text_ in writes]
    decisions = select_patches([*patches, *new], target.versions)
    reader = _pristine_reader(DiskReader(target.root), manifest)
    plan = plan_run(decisions, target, reader, None, max_fuzz=0, force=True)
    results = tuple(r for r in plan.patches if r.patch.name in {n for n, _ in writes})
    return ImportResult(tuple(writes), tuple(dropped), results)


# -- export ---------------------------------------------------------------------------------------------


Runner = Callable[[Sequence[str]], subprocess.CompletedProcess[str]]


def _run(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), capture_output=True, text=True, check=False)  # noqa: S603


@frozen
class ExportPlan:
    """Everything an export would produce and do; nothing happens until :func:`run_export`."""

    patch: str
    file_name: str
    format_patch: bytes
    pr_title: str
    pr_body: str
    branch: str
    tag: str
    commands: tuple[tuple[str, ...], ...]
    """The git commands that would create the branch in ``--repo`` and apply the patch (never a push)."""


def _diffstat(patch: Patch, layout: RepoLayout) -> str:
    rows = []
    added = removed = 0
    for fp in patch.files:
        plus = sum(1 for h in fp.hunks for ln in h.lines if ln.kind.value == "+")
        minus = sum(1 for h in fp.hunks for ln in h.lines if ln.kind.value == "-")
        added, removed = added + plus, removed + minus
        rows.append((layout.to_repo(fp.path), plus + minus, "+" * plus + "-" * minus))
    width = max((len(r[0]) for r in rows), default=0)
    lines = [f" {path:<{width}} | {count:>3} {bar[:60]}" for path, count, bar in rows]
    lines.append(
        f" {len(rows)} file{'s' if len(rows) != 1 else ''} changed, {added} insertions(+), {removed} deletions(-)"
    )
    return "\n".join(lines)


def plan_export(  # noqa: PLR0913 - the export's options
    patch: Patch,
    *,
    author: str,
    date: str,
    tag: str | None = None,
    repo: Path | None = None,
    layout: RepoLayout | None = None,
) -> ExportPlan:
    """Build the ``git format-patch`` file and pull-request body of ``patch`` in the upstream layout."""
    layout = layout or RepoLayout()
    lower = min((Version(s.version) for s in patch.versions if s.operator in (">=", "==", "~=")), default=None)
    tag = tag or (f"v{lower}" if lower else "main")
    description = patch.header.get("Description") or ""
    trailers = [f"{k}: {patch.header.get(k)}" for k in ("Bug", "Origin") if patch.header.get(k)]
    body = description + ("\n\n" + "\n".join(trailers) if trailers else "")
    diff = b"".join(
        render_file_patch(
            fp,
            source=layout.to_repo(fp.source_path) if fp.source_path else None,
            target=layout.to_repo(fp.target_path) if fp.target_path else None,
        )
        for fp in patch.files
    )
    message = (
        "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n"
        f"From: {author}\nDate: {date}\nSubject: [PATCH] {patch.subject}\n\n{body.strip()}\n---\n"
        f"{_diffstat(patch, layout)}\n\n"
    )
    text = message.encode() + diff + f"-- \nsitepatch {__version__}\n".encode()
    tests = " ".join(patch.tests) or "(none recorded)"
    affected = f"{patch.package} {patch.versions}"
    if patch.applied_upstream:
        affected += f" (fixed upstream in {patch.applied_upstream})"
    pr_body = "\n".join(
        [
            f"## {patch.subject}",
            "",
            "### Problem, root cause and fix",
            "",
            description or "(no description in the patch header)",
            "",
            "### How it was tested",
            "",
            f"Regression tests that fail without this change and pass with it: {tests}.",
            "They drive the real proxy app / Router / hook classes with provider HTTP stubbed.",
            "",
            "### Affected versions",
            "",
            affected,
            "",
            f"_Exported by sitepatch {__version__} from `{patch.name}`._",
            "",
        ]
    )
    branch = f"sitepatch/{patch.name.removesuffix('.diff').replace('+', '-')}"
    file_name = patch.name.removesuffix(".diff") + ".patch"
    commands: tuple[tuple[str, ...], ...] = ()
    if repo is not None:
        commands = (
            ("git", "-C", str(repo), "checkout", "-b", branch, tag),
            ("git", "-C", str(repo), "am", "--keep-cr", "<format-patch file>"),
        )
    return ExportPlan(patch.name, file_name, text, patch.subject, pr_body, branch, tag, commands)


def run_export(plan: ExportPlan, patch_file: Path, runner: Runner = _run) -> list[str]:
    """Run the plan's git commands (with the written format-patch file); return their output.

    :raises SitepatchError: when a command fails, with its output.
    """
    log = []
    for command in plan.commands:
        argv = [str(patch_file) if part == "<format-patch file>" else part for part in command]
        done = runner(argv)
        log.append(f"$ {' '.join(argv)}\n{done.stdout}{done.stderr}".rstrip())
        if done.returncode != 0:
            raise SitepatchError(f"{' '.join(argv)} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    return log


# -- upstream status ------------------------------------------------------------------------------------


@frozen
class UpstreamRow:
    """One patch against the installed (newer) release."""

    patch: str
    package: str
    forwarded: str
    applied_upstream: str
    status: str
    """``applies``, ``applies-with-offset``, ``already-applied``, ``partly-applied``, ``conflicts``,
    ``not-installed``."""
    recommendation: str
    """``keep``, ``refresh`` or ``retire``."""
    detail: str = ""


def upstream_status(
    target: Target, patches: Sequence[Patch], *, max_fuzz: int = 0, manifest: Manifest | None = None
) -> tuple[UpstreamRow, ...]:
    """Classify every patch (the variant for the installed version, or the newest) against the installed release.

    Each patch is tried alone on the pristine files, whatever its ``Versions`` say.

    :param manifest: what sitepatch applied to the target: the files it patched are judged by the pristine
        copies it kept, so that its own changes are not mistaken for upstream's.
    """
    decisions = select_patches(patches, target.versions)
    reader = _pristine_reader(DiskReader(target.root), manifest)
    rows = []
    for number in sorted({p.number for p in patches}):
        patch = _candidate(decisions, number, target)
        assert patch is not None
        forwarded = patch.header.get("Forwarded") or ""
        upstream = patch.header.get("Applied-Upstream") or ""
        if target.get(patch.package) is None:
            rows.append(UpstreamRow(patch.name, patch.package, forwarded, upstream, "not-installed", "keep"))
            continue
        plan = plan_run(
            [Decision(patch, selected=True, reason="")], target, reader, None, max_fuzz=max_fuzz, force=True
        )
        result = plan.patches[0]
        hunks = [h for f in result.files for h in f.hunks]
        if result.status == ALREADY:
            status, advice = "already-applied", "retire"
        elif result.status == APPLIED:
            moved = any(h.offset or h.fuzz for h in hunks)
            status, advice = ("applies-with-offset", "refresh") if moved else ("applies", "keep")
        elif any(h.status == ALREADY for h in hunks):
            status, advice = "partly-applied", "refresh"
        else:
            status, advice = "conflicts", "refresh"
        rows.append(UpstreamRow(patch.name, patch.package, forwarded, upstream, status, advice, result.reason))
    return tuple(rows)
