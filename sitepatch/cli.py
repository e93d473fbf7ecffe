"""The command line: parse arguments, call the library, render the result, map errors to exit codes.

Exit codes: 0 every selected patch applied or already applied (``status``: everything in place); 1 a patch
failed or a file was refused, and nothing was written; 2 a usage or environment error; 130 interrupted.
``--json`` prints one JSON object built from the same result objects as the human output.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from sitepatch import __version__
from sitepatch.apply import DiskReader, StateDir, apply_plan, write_file
from sitepatch.coverage import CoverageRecord, Uncovered, check_coverage, uncovered_patches
from sitepatch.dist import Target, site_packages_of
from sitepatch.errors import ManifestError, SitepatchError, TargetError, WriteError
from sitepatch.lockfile import Lock, check_lock, updated_pin, verify_manifest
from sitepatch.manifest import Manifest
from sitepatch.model import Patch
from sitepatch.parse import load_patches
from sitepatch.plan import ALREADY, APPLIED, FAILED, SKIPPED, FileState, HunkResult, PatchResult, plan_run
from sitepatch.record import manifest_for
from sitepatch.selection import Decision, select_patches
from sitepatch.status import StatusReport, plan_revert, status_of

__all__ = ["main"]


def __dir__() -> list[str]:
    return __all__


COMMANDS = (
    "apply",
    "check",
    "status",
    "revert",
    "list",
    "lock",
    "new",
    "refresh",
    "import",
    "export",
    "upstream-status",
    "sweep",
    "constraints",
    "evidence",
)
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_ENVIRONMENT = 2
EXIT_INTERRUPTED = 130


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a command did: a JSON-ready document, the human lines, and the exit code."""

    document: dict[str, Any]
    lines: tuple[str, ...]
    code: int
    errors: tuple[str, ...] = field(default=())


def _build_parser(default_patches: Path) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_mutually_exclusive_group()
    where.add_argument("--site-packages", type=Path, metavar="DIR", help="the site-packages directory to patch")
    where.add_argument("--python", metavar="PATH", help="patch the site-packages of this interpreter")
    common.add_argument(
        "--patches",
        type=Path,
        default=default_patches,
        metavar="DIR",
        help=f"patch directory (default: {default_patches})",
    )
    common.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    common.add_argument(
        "--lock-timeout", type=float, default=300.0, metavar="SECONDS", help="wait this long for another run"
    )

    parser = argparse.ArgumentParser(
        prog="sitepatch",
        description="Apply a version-matched, context-checked set of unified diffs to site-packages, all or nothing.",
    )
    parser.add_argument("--version", action="version", version=f"sitepatch {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, text in (
        ("apply", "apply the selected patches (the default)"),
        ("check", "plan and report; write nothing"),
    ):
        sub = commands.add_parser(name, parents=[common], help=text, description=text)
        sub.add_argument(
            "--max-fuzz", type=int, default=0, metavar="N", help="ignore up to N outer context lines (default 0)"
        )
        sub.add_argument("--force", action="store_true", help="patch files that are not pristine as they are (loudly)")
        if name == "apply":
            sub.add_argument("--dry-run", action="store_true", help="plan and report every verdict; write nothing")
        sub.add_argument(
            "--strict", action="store_true", help="exit 1 when a patch leaves this install unprotected (uncovered)"
        )
    commands.add_parser("status", parents=[common], help="compare the target with the manifest")
    revert = commands.add_parser("revert", parents=[common], help="restore the pristine files of everything applied")
    revert.add_argument("--force", action="store_true", help="also overwrite files changed since they were patched")
    revert.add_argument("--dry-run", action="store_true", help="report what would be restored; write nothing")
    commands.add_parser("list", parents=[common], help="every patch and whether it is selected here")
    lock = commands.add_parser(
        "lock",
        parents=[common],
        help="check versions.lock against the patches, or verify/update a pin from an applied target",
        description=(
            "check: the patch files and headers agree with versions.lock (no install needed). "
            "verify --pin ID: the target's manifest matches the pin. update --pin ID: record the target's manifest."
        ),
    )
    new = commands.add_parser(
        "new", parents=[common], help="write a patch from the edits made to an installed distribution"
    )
    new.add_argument("name", help="the patch's slug, e.g. files-retrieve-fix")
    new.add_argument(
        "paths", nargs="*", help="only these files (relative to site-packages); default: every edited file"
    )
    new.add_argument("--package", required=True, help="the distribution whose files were edited")
    new.add_argument("--subject", default="", help="the Subject header (default: from NAME)")
    new.add_argument("--description", default="", help="the Description header")
    new.add_argument("--offline", action="store_true", help="never download the wheel to get pristine files")
    refresh = commands.add_parser(
        "refresh",
        parents=[common],
        help="rewrite patches that apply only with an offset or fuzz to the installed version",
    )
    refresh.add_argument("patch", nargs="*", help="patch file names or numbers")
    refresh.add_argument("--all", action="store_true", help="every patch whose package is installed")
    refresh.add_argument(
        "--widen", action="store_true", help="rewrite in place and widen Versions (default: new variant)"
    )
    refresh.add_argument(
        "--max-fuzz", type=int, default=2, metavar="N", help="fuzz allowed while refreshing (default 2)"
    )
    refresh.add_argument("--dry-run", action="store_true", help="report; write nothing")
    imp = commands.add_parser(
        "import", parents=[common], help="turn an upstream diff (a PR's .diff, a format-patch file) into patches"
    )
    imp.add_argument("source", help="a diff file, or an http(s) URL of one")
    imp.add_argument("--name", default="", help="the patch's slug (default: from the subject)")
    imp.add_argument("--subject", default="", help="the Subject header (default: from the diff)")
    imp.add_argument("--force", action="store_true", help="write the patches even if they do not apply here")
    imp.add_argument("--dry-run", action="store_true", help="report; write nothing")
    export = commands.add_parser(
        "export", parents=[common], help="export a patch as a git format-patch file and pull-request body"
    )
    export.add_argument("patch", help="the patch file name or number")
    export.add_argument("--output", type=Path, default=Path("export"), metavar="DIR", help="default: ./export")
    export.add_argument("--repo", type=Path, metavar="PATH", help="a local git clone of upstream to apply it in")
    export.add_argument("--tag", help="the upstream tag to branch from (default: v<lowest version in Versions>)")
    export.add_argument(
        "--author", default="sitepatch <sitepatch@users.noreply.invalid>", help="the From: of the patch"
    )
    export.add_argument("--execute", action="store_true", help="run the git commands in --repo (default: show them)")
    upstream = commands.add_parser(
        "upstream-status", parents=[common], help="classify every patch against the installed (newer) release"
    )
    upstream.add_argument("--max-fuzz", type=int, default=0, metavar="N")
    from sitepatch.sweep_command import (  # noqa: PLC0415 - the sweep commands live in their own module
        add_constraints_parser,
        add_evidence_parser,
        add_sweep_parser,
    )

    add_sweep_parser(commands, common)
    add_constraints_parser(commands, common)
    add_evidence_parser(commands, common)
    lock.add_argument("action", choices=("check", "verify", "update"))
    lock.add_argument("--pin", metavar="ID", help="the pin (verify, update)")
    lock.add_argument("--lockfile", type=Path, metavar="FILE", help="default: versions.lock beside the patch directory")
    return parser


def _target_root(args: argparse.Namespace) -> Path:
    if args.site_packages is not None:
        return Path(args.site_packages)
    return site_packages_of(args.python or sys.executable)


def _distributions(target: Target) -> dict[str, str]:
    return {str(name): str(dist.version) for name, dist in sorted(target.distributions.items())}


def _hunk_doc(h: HunkResult) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "index": h.index,
        "status": h.status,
        "line": h.line,
        "offset": h.offset,
        "fuzz": h.fuzz,
        "expected_line": h.expected_line,
        "patch_line": h.diff_line_no,
    }
    if h.candidates:
        doc["candidates"] = list(h.candidates)
    if h.expected:
        doc["expected"] = list(h.expected)
        doc["actual"] = list(h.actual)
        doc["nearest_line"] = h.nearest_line
    return doc


def _patch_doc(result: PatchResult) -> dict[str, Any]:
    patch = result.patch
    return {
        "name": patch.name,
        "number": patch.number,
        "package": patch.package,
        "subject": patch.subject,
        "status": result.status,
        "reason": result.reason,
        "files": [
            {
                "path": f.path,
                "kind": f.kind,
                "status": f.status,
                "reason": f.reason,
                "hunks": [_hunk_doc(h) for h in f.hunks],
            }
            for f in result.files
        ],
    }


def _hunk_lines(result: PatchResult) -> list[str]:
    lines: list[str] = []
    for f in result.files:
        for h in f.hunks:
            where = f"{result.patch.display}:{h.diff_line_no}"
            if h.status in (APPLIED, ALREADY) and (h.offset or h.fuzz):
                sign = "+" if h.offset > 0 else ""
                at = f"at line {h.line} (offset {sign}{h.offset}, fuzz {h.fuzz})"
                lines.append(f"    {f.path}: hunk #{h.index} {h.status} {at}")
            elif h.status == "ambiguous":
                cands = ", ".join(str(c) for c in h.candidates)
                lines.append(
                    f"    {f.path}: hunk #{h.index} ({where}) is AMBIGUOUS at fuzz {h.fuzz}: matches at lines {cands}"
                )
                lines.append(
                    f"      none is its expected line {h.expected_line}; add context to the hunk so it matches once"
                )
            elif h.status == FAILED:
                agree = sum(1 for e, a in zip(h.expected, h.actual, strict=False) if e == a)
                lines.append(
                    f"    {f.path}: hunk #{h.index} ({where}) FAILED: expected at line {h.expected_line}, "
                    f"nearest match at line {h.nearest_line} ({agree} of {len(h.expected)} lines agree)"
                )
                for i, expected in enumerate(h.expected):
                    actual = h.actual[i] if i < len(h.actual) else "<end of file>"
                    mark = " " if expected == actual else "!"
                    lines.append(f"      {mark} patch: {expected!r}")
                    if expected != actual:
                        lines.append(f"      {mark} file:  {actual!r}")
    return lines


def _summary(results: Sequence[PatchResult]) -> dict[str, int]:
    counts = {APPLIED: 0, ALREADY: 0, SKIPPED: 0, FAILED: 0}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return counts


def _run_apply(args: argparse.Namespace, *, dry_run: bool, hook: Callable[[str], None] | None) -> Outcome:
    root = _target_root(args)
    target = Target.open(root)
    patches = load_patches(args.patches)
    decisions = select_patches(patches, target.versions)
    state = StateDir(target.root)
    reader = DiskReader(target.root)
    editable = [
        d.patch.package for d in decisions if d.selected and (dist := target.get(d.patch.package)) and dist.editable
    ]
    if dry_run or editable:
        # An editable install is refused before anything is created in the target, the lock included.
        return _render_apply(args, target, decisions, state, reader, dry_run=dry_run, hook=None, recovered="")
    with state.lock(timeout=args.lock_timeout):
        recovered = state.recover()
        return _render_apply(args, target, decisions, state, reader, dry_run=False, hook=hook, recovered=recovered)


def _render_apply(  # noqa: PLR0913 - one call site, all inputs of the rendering
    args: argparse.Namespace,
    target: Target,
    decisions: Sequence[Decision],
    state: StateDir,
    reader: DiskReader,
    *,
    dry_run: bool,
    hook: Callable[[str], None] | None,
    recovered: str,
) -> Outcome:
    previous = state.read_manifest()
    problems = list(target.problems) if any(d.selected for d in decisions) else []
    if dry_run and state.pending_journal():
        problems.append(
            f"{state.journal_path}: an interrupted run left a journal; the next apply or revert rolls it back"
        )
    plan = plan_run(decisions, target, reader, previous, max_fuzz=args.max_fuzz, force=args.force)
    problems.extend(plan.problems)
    ok = plan.ok and not problems
    uncovered = _uncovered(args, decisions, target)
    manifest = manifest_for(plan, previous) if ok else None
    written = False
    if ok and not dry_run and (plan.changes or (manifest is not None and manifest is not previous)):
        apply_plan(plan, state, manifest or previous or _empty_manifest(target), hook=hook)
        written = True
    summary = _summary(plan.patches)
    doc: dict[str, Any] = {
        "command": "apply",
        "ok": ok,
        "dry_run": dry_run,
        "target": str(target.root),
        "distributions": _distributions(target),
        "recovered": recovered,
        "problems": problems,
        "warnings": list(plan.warnings),
        "patches": [_patch_doc(r) for r in plan.patches],
        "changes": [{"path": c.path, "action": _action(c.before, c.after)} for c in plan.changes] if ok else [],
        "dropped": list(plan.dropped),
        "written": written,
        "manifest": str(state.manifest_path),
        "summary": summary,
        "uncovered": [u.as_dict() for u in uncovered],
    }
    shown = ", ".join(f"{k} {v}" for k, v in _distributions(target).items() if _relevant(k, decisions))
    lines = [f"target: {target.root} ({shown})"]
    if recovered:
        lines.append(f"recovered: {recovered}")
    width = max((len(r.status) for r in plan.patches), default=7) + 2
    for r in plan.patches:
        reason = f": {r.reason}" if r.reason and r.status != APPLIED else ""
        lines.append(f"{r.status:<{width}}{r.name}{reason}")
        lines.extend(_hunk_lines(r))
    lines.extend(f"undone: {name} (no longer selected)" for name in plan.dropped)
    lines.extend(f"warning: {w}" for w in plan.warnings)
    lines.extend(
        f"warning: this install is NOT protected: no variant of patch {u.patch} covers "
        f"{u.package} {u.version} ({u.reason})"
        for u in uncovered
    )
    tail = "dry run: nothing written" if dry_run else ("written" if written else "nothing to write")
    if not ok:
        tail = "nothing written"
    lines.append(
        f"summary: {summary[APPLIED]} applied, {summary[ALREADY]} already applied, {summary[SKIPPED]} skipped, "
        f"{summary[FAILED]} failed; {len(plan.changes) if ok else 0} file(s) changed; {tail}"
    )
    code = EXIT_OK if ok and not (uncovered and getattr(args, "strict", False)) else EXIT_FAILED
    if ok and code != EXIT_OK:
        lines.append(f"strict: {len(uncovered)} uncovered patch(es); exit 1")
    return Outcome(doc, tuple(lines), code, tuple(problems))


def _uncovered(args: argparse.Namespace, decisions: Sequence[Decision], target: Target) -> tuple[Uncovered, ...]:
    record = CoverageRecord.load(args.patches.resolve().parent / "coverage.json")
    return uncovered_patches(decisions, target.versions, record)


def _relevant(name: str, decisions: Sequence[Decision]) -> bool:
    return any(d.patch.package == name for d in decisions)


def _action(before: object, after: object) -> str:
    if before is None:
        return "create"
    if after is None:
        return "delete"
    return "modify"


def _empty_manifest(target: Target) -> Manifest:  # pragma: no cover - only reached with nothing recorded
    return Manifest(__version__, str(target.root), "", (), (), ())


def _status_doc(report: StatusReport) -> dict[str, Any]:
    return {
        "command": "status",
        "ok": report.ok,
        "target": str(report.target.root),
        "distributions": _distributions(report.target),
        "problems": list(report.problems),
        "patches": [
            {
                "name": p.name,
                "status": p.status,
                "reason": p.reason,
                "files": [{"path": f.path, "status": f.status} for f in p.files],
            }
            for p in report.patches
        ],
        "files": [{"path": f.path, "status": f.status, "distribution": f.distribution} for f in report.files],
    }


def _run_status(args: argparse.Namespace) -> Outcome:
    target = Target.open(_target_root(args))
    state = StateDir(target.root)
    manifest = state.read_manifest()
    report = status_of(manifest, target, DiskReader(target.root))
    if state.pending_journal():
        report = StatusReport(
            report.target,
            report.has_manifest,
            report.patches,
            report.files,
            (
                *report.problems,
                f"{state.journal_path}: an interrupted run left a journal; run apply or revert to roll it back",
            ),
        )
    lines = [f"target: {target.root}"]
    width = max((len(p.status) for p in report.patches), default=7) + 2
    lines.extend(f"{p.status:<{width}}{p.name}{': ' + p.reason if p.reason else ''}" for p in report.patches)
    lines.extend(f"problem: {p}" for p in report.problems)
    in_place = sum(1 for p in report.patches if p.status in ("applied", "already-applied"))
    verdict = "everything recorded is in place" if report.ok else "NOT everything recorded is in place"
    lines.append(f"summary: {in_place} of {len(report.patches)} patch(es) in place; {verdict}")
    return Outcome(_status_doc(report), tuple(lines), EXIT_OK if report.ok else EXIT_FAILED)


def _run_revert(args: argparse.Namespace, hook: Callable[[str], None] | None) -> Outcome:
    target = Target.open(_target_root(args))
    state = StateDir(target.root)
    reader = DiskReader(target.root)

    def run(recovered: str) -> Outcome:
        manifest = state.read_manifest()
        if manifest is None:
            doc = {
                "command": "revert",
                "ok": True,
                "dry_run": args.dry_run,
                "target": str(target.root),
                "restored": [],
                "problems": [],
            }
            return Outcome(doc, (f"target: {target.root}", "nothing to revert: no sitepatch manifest here"), EXIT_OK)
        plan = plan_revert(manifest, reader, force=args.force)
        ok = not plan.problems
        if ok and not args.dry_run:
            state.commit(
                [(p, before, after, None) for p, before, after in plan.changes], None, operation="revert", hook=hook
            )
        doc = {
            "command": "revert",
            "ok": ok,
            "dry_run": args.dry_run,
            "target": str(target.root),
            "recovered": recovered,
            "restored": [p for p, _, _ in plan.changes] if ok else [],
            "unchanged": list(plan.unchanged),
            "problems": list(plan.problems),
            "warnings": list(plan.warnings),
            "patches": [p.name for p in manifest.patches],
        }
        lines = [f"target: {target.root}"]
        if recovered:
            lines.append(f"recovered: {recovered}")
        lines.extend(
            f"{'would restore' if args.dry_run else 'restored'}  {p}" for p, _, _ in (plan.changes if ok else ())
        )
        lines.extend(f"pristine   {p}" for p in plan.unchanged)
        lines.extend(f"warning: {w}" for w in plan.warnings)
        if ok:
            lines.append(f"summary: {len(plan.changes)} file(s) restored, {len(manifest.patches)} patch(es) reverted")
        else:
            lines.append("summary: refused; nothing written")
        return Outcome(doc, tuple(lines), EXIT_OK if ok else EXIT_FAILED, plan.problems)

    if args.dry_run:
        return run("")
    with state.lock(timeout=args.lock_timeout):
        return run(state.recover())


def _run_list(args: argparse.Namespace) -> Outcome:
    target = Target.open(_target_root(args))
    patches = load_patches(args.patches)
    decisions = select_patches(patches, target.versions)
    doc = {
        "command": "list",
        "ok": True,
        "target": str(target.root),
        "distributions": _distributions(target),
        "patches": [
            {
                "name": d.patch.name,
                "number": d.patch.number,
                "package": d.patch.package,
                "versions": str(d.patch.versions),
                "subject": d.patch.subject,
                "selected": d.selected,
                "reason": d.reason,
            }
            for d in decisions
        ],
    }
    lines = [f"target: {target.root}"]
    lines.extend(
        f"{'selected' if d.selected else 'skipped':<10}{d.patch.name}  [{d.patch.package} {d.patch.versions}]"
        + (f": {d.reason}" if d.reason else "")
        for d in decisions
    )
    lines.append(f"summary: {sum(d.selected for d in decisions)} of {len(decisions)} patch(es) selected")
    return Outcome(doc, tuple(lines), EXIT_OK)


def _run_lock(args: argparse.Namespace) -> Outcome:
    path = args.lockfile or args.patches.resolve().parent / "versions.lock"
    try:
        lock = Lock.from_json(path.read_text(encoding="utf-8"), where=str(path))
    except FileNotFoundError as err:
        raise TargetError(f"{path}: no lock file; pass --lockfile FILE") from err
    doc: dict[str, Any] = {"command": f"lock {args.action}", "lockfile": str(path), "pin": args.pin}
    if args.action == "check":
        loaded = load_patches(args.patches)
        problems = check_lock(lock, loaded)
        record = CoverageRecord.load(path.parent / "coverage.json")
        if record is not None:
            problems.extend(check_coverage(record, loaded))
        lines = [f"lockfile: {path}", *(f"pin {p.id}: {len(p.patches)} patch(es)" for p in lock.pins)]
    else:
        if not args.pin:
            raise TargetError(f"lock {args.action} needs --pin ID (pins: {', '.join(p.id for p in lock.pins)})")
        pin = lock.pin(args.pin)
        target = Target.open(_target_root(args))
        manifest = StateDir(target.root).read_manifest()
        if args.action == "verify":
            problems = verify_manifest(pin, manifest)
            lines = [f"lockfile: {path}", f"pin {pin.id}: target {target.root}"]
        else:
            new = updated_pin(pin, manifest)
            write_file(path, lock.with_pin(new).to_json().encode("utf-8"), 0o644)
            problems = []
            recorded = f"recorded {len(new.patches)} patch(es), {len(new.files)} file(s)"
            lines = [f"lockfile: {path}", f"pin {pin.id}: {recorded}"]
    ok = not problems
    doc.update({"ok": ok, "problems": problems})
    lines.append("summary: " + ("versions.lock is current" if ok else f"{len(problems)} problem(s); see errors"))
    return Outcome(doc, tuple(lines), EXIT_OK if ok else EXIT_FAILED, tuple(problems))


def _today() -> str:
    return time.strftime("%Y-%m-%d", time.gmtime())


def _find_patch(patches: Sequence[Patch], wanted: str) -> Patch:
    matches = [p for p in patches if wanted in (p.name, p.number, str(p.path))]
    if len(matches) != 1:
        known = ", ".join(p.name for p in patches)
        what = "matches several patches" if matches else "matches no patch"
        raise TargetError(f"{wanted!r} {what}; name the file (patches: {known})")
    return matches[0]


def _write_patch_files(directory: Path, writes: Sequence[tuple[str, bytes]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in writes:
        write_file(directory / name, data, 0o644)


def _hunk_report(results: Sequence[PatchResult]) -> list[str]:
    lines = []
    for result in results:
        lines.append(f"{result.status:<16}{result.name}{': ' + result.reason if result.reason else ''}")
        lines.extend(_hunk_lines(result))
    return lines


def _run_new(args: argparse.Namespace) -> Outcome:
    # The lifecycle commands import their modules when used: apply, check and status run at container start.
    from sitepatch.lifecycle import patch_dir_names  # noqa: PLC0415
    from sitepatch.wheels import PristineFinder, pip_download  # noqa: PLC0415
    from sitepatch.workflows import OverlayReader, create_patch  # noqa: PLC0415

    target = Target.open(_target_root(args))
    patches = load_patches(args.patches) if args.patches.is_dir() else ()
    dist = target.get(args.package)
    if dist is None:
        raise TargetError(f"{args.package} is not installed in {target.root}")
    state = StateDir(target.root)
    finder = PristineFinder(
        dist, kept=DiskReader(target.root).pristine, downloader=None if args.offline else pip_download
    )
    made = create_patch(
        target,
        patches,
        name=args.name,
        package=args.package,
        paths=[_relative(target, p) for p in args.paths],
        finder=finder,
        subject=args.subject,
        description=args.description,
        today=_today(),
        existing_names=patch_dir_names(args.patches) if args.patches.is_dir() else [],
        manifest=(previous := StateDir(target.root).read_manifest()),
    )
    _write_patch_files(args.patches, [(made.name, made.text)])
    # Record the edited install as this patch set applied, so that status, apply and revert agree with it.
    new_patches = load_patches(args.patches)
    decisions = select_patches(new_patches, target.versions)
    reader = DiskReader(target.root)
    pristine_plan = plan_run(decisions, target, OverlayReader(reader, made.pristine), previous)
    adopted = False
    if pristine_plan.ok and all(reader.read(p) == s for p, s in pristine_plan.images):
        with state.lock(timeout=args.lock_timeout):
            state.recover()
            changes = [
                (
                    r.path,
                    reader.read(r.path),
                    dict(pristine_plan.images)[r.path],
                    _state_of(made.pristine, reader, r.path) or _kept(reader, r.path),
                )
                for r in pristine_plan.records
            ]
            manifest = manifest_for(pristine_plan, previous)
            state.commit(changes, manifest, operation="apply")
            adopted = True
    doc = {
        "command": "new",
        "ok": True,
        "patch": str(args.patches / made.name),
        "files": list(made.files),
        "recorded": adopted,
    }
    lines = [f"wrote {args.patches / made.name} ({len(made.files)} file(s): {', '.join(made.files)})"]
    lines.append(
        "recorded the install as patched (status: applied)"
        if adopted
        else "warning: the install was not recorded; run apply"
    )
    return Outcome(doc, tuple(lines), EXIT_OK)


def _state_of(pristine: dict[str, bytes], reader: DiskReader, path: str) -> FileState | None:
    if path not in pristine:
        return None
    current = reader.read(path)
    return FileState(pristine[path], current.mode if current is not None else 0o644)


def _kept(reader: DiskReader, path: str) -> FileState | None:
    """The pristine copy sitepatch kept of ``path`` (a file of another distribution the set patched)."""
    data = reader.pristine(path)
    current = reader.read(path)
    return FileState(data, current.mode if current is not None else 0o644) if data is not None else None


def _relative(target: Target, path: str) -> str:
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            return candidate.resolve().relative_to(target.root).as_posix()
        except ValueError as err:
            raise TargetError(f"{path} is not inside {target.root}") from err
    return candidate.as_posix()


def _run_refresh(args: argparse.Namespace) -> Outcome:
    from sitepatch.workflows import refresh_patches  # noqa: PLC0415

    if not args.patch and not args.all:
        raise TargetError("name the patches to refresh, or pass --all")
    target = Target.open(_target_root(args))
    patches = load_patches(args.patches)
    # A patch id (0010) means all of its variants; a file name means start from that variant.
    ids = {p.number for p in patches}
    names = [] if args.all else [p if p in ids else _find_patch(patches, p).name for p in args.patch]
    results = refresh_patches(target, patches, names=names, widen=args.widen, max_fuzz=args.max_fuzz, today=_today())
    if not args.dry_run:
        for result in results:
            _write_patch_files(args.patches, result.writes)
    ok = all(r.action != FAILED for r in results)
    doc = {
        "command": "refresh",
        "ok": ok,
        "dry_run": args.dry_run,
        "patches": [
            {"name": r.patch, "action": r.action, "detail": r.detail, "written": [n for n, _ in r.writes]}
            for r in results
        ],
    }
    lines = []
    for r in results:
        lines.append(f"{r.action:<11}{r.patch}: {r.detail}")
        if r.result is not None and r.action == FAILED:
            lines.extend(_hunk_lines(r.result))
    lines.append(
        f"summary: {sum(1 for r in results if r.writes)} patch(es) rewritten"
        + ("; dry run: nothing written" if args.dry_run else "")
    )
    return Outcome(doc, tuple(lines), EXIT_OK if ok else EXIT_FAILED)


def _read_source(source: str) -> bytes:
    if source.startswith(("http://", "https://")):
        import urllib.request  # noqa: PLC0415 - only for this command

        with urllib.request.urlopen(source, timeout=60) as response:  # noqa: S310 - the user names the URL
            data: bytes = response.read()
            return data
    try:
        return Path(source).read_bytes()
    except OSError as err:
        raise TargetError(f"{source}: cannot read ({err.strerror or err})") from err


def _run_import(args: argparse.Namespace) -> Outcome:
    from sitepatch.lifecycle import patch_dir_names  # noqa: PLC0415
    from sitepatch.workflows import import_change  # noqa: PLC0415

    target = Target.open(_target_root(args))
    patches = load_patches(args.patches) if args.patches.is_dir() else ()
    result = import_change(
        target,
        patches,
        _read_source(args.source),
        origin=args.source,
        subject=args.subject,
        name=args.name,
        today=_today(),
        existing_names=patch_dir_names(args.patches) if args.patches.is_dir() else [],
    )
    write = (result.ok or args.force) and not args.dry_run
    if write:
        _write_patch_files(args.patches, result.writes)
    doc = {
        "command": "import",
        "ok": result.ok,
        "written": [str(args.patches / n) for n, _ in result.writes] if write else [],
        "dropped": list(result.dropped),
        "patches": [_patch_doc(r) for r in result.results],
    }
    lines = [f"{'wrote' if write else 'would write'} {args.patches / n}" for n, _ in result.writes]
    lines.extend(f"left out (not in an installed package): {p}" for p in result.dropped)
    lines.extend(_hunk_report(result.results))
    if not result.ok:
        lines.append("summary: the change does not apply to the installed version; nothing written (--force writes it)")
    return Outcome(doc, tuple(lines), EXIT_OK if result.ok else EXIT_FAILED)


def _run_export(args: argparse.Namespace) -> Outcome:
    import email.utils  # noqa: PLC0415

    from sitepatch.workflows import plan_export, run_export  # noqa: PLC0415

    patches = load_patches(args.patches)
    patch = _find_patch(patches, args.patch)
    date = email.utils.format_datetime(email.utils.localtime())
    plan = plan_export(patch, author=args.author, date=date, tag=args.tag, repo=args.repo)
    args.output.mkdir(parents=True, exist_ok=True)
    patch_file = args.output / plan.file_name
    body_file = args.output / (plan.file_name.removesuffix(".patch") + ".md")
    write_file(patch_file, plan.format_patch, 0o644)
    write_file(body_file, plan.pr_body.encode(), 0o644)
    log: list[str] = []
    if args.execute and plan.commands:
        log = run_export(plan, patch_file.resolve())
    shown = [
        " ".join(str(patch_file.resolve()) if c == "<format-patch file>" else c for c in cmd) for cmd in plan.commands
    ]
    doc = {
        "command": "export",
        "ok": True,
        "patch": patch.name,
        "format_patch": str(patch_file),
        "pr_body": str(body_file),
        "pr_title": plan.pr_title,
        "branch": plan.branch,
        "tag": plan.tag,
        "commands": shown,
        "executed": bool(args.execute and plan.commands),
        "log": log,
    }
    lines = [f"wrote {patch_file} (git am) and {body_file} (pull-request body)"]
    if plan.commands:
        verb = "ran" if args.execute else "would run (pass --execute)"
        lines.extend(f"{verb}: {c}" for c in shown)
        lines.extend(log)
    lines.append("nothing is pushed: open the pull request from the branch yourself")
    return Outcome(doc, tuple(lines), EXIT_OK)


def _run_upstream_status(args: argparse.Namespace) -> Outcome:
    from sitepatch.workflows import upstream_status  # noqa: PLC0415

    target = Target.open(_target_root(args))
    rows = upstream_status(target, load_patches(args.patches), max_fuzz=args.max_fuzz)
    doc = {
        "command": "upstream-status",
        "ok": True,
        "target": str(target.root),
        "distributions": _distributions(target),
        "patches": [
            {
                "name": r.patch,
                "package": r.package,
                "forwarded": r.forwarded,
                "applied_upstream": r.applied_upstream,
                "status": r.status,
                "recommendation": r.recommendation,
                "detail": r.detail,
            }
            for r in rows
        ],
    }
    lines = [f"target: {target.root}"]
    for r in rows:
        where = f"Forwarded: {r.forwarded or '-'}; Applied-Upstream: {r.applied_upstream or '-'}"
        lines.append(f"{r.recommendation:<8}{r.status:<21}{r.patch}  [{where}]")
    return Outcome(doc, tuple(lines), EXIT_OK)


LIFECYCLE: dict[str, Callable[[argparse.Namespace], Outcome]] = {
    "new": _run_new,
    "refresh": _run_refresh,
    "import": _run_import,
    "export": _run_export,
    "upstream-status": _run_upstream_status,
}


def _emit(outcome: Outcome, *, as_json: bool, out: TextIO, err: TextIO) -> None:
    if as_json:
        out.write(json.dumps(outcome.document, indent=2) + "\n")
        return
    out.writelines(line + "\n" for line in outcome.lines)
    err.writelines(f"error: {problem}\n" for problem in outcome.errors)


def _normalise(argv: list[str]) -> list[str]:
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        return ["apply", *argv]
    return argv


def main(
    argv: Sequence[str] | None = None,
    *,
    default_patches: Path | None = None,
    hook: Callable[[str], None] | None = None,
) -> int:
    """Run the command line.

    :param argv: the arguments (default: ``sys.argv[1:]``).
    :param default_patches: the patch directory when ``--patches`` is not given (default: ``./patches``).
    :param hook: passed to the writer; tests use it to interrupt a run at a chosen step.
    :returns: the exit code.
    """
    parser = _build_parser(default_patches or Path("patches"))
    args = parser.parse_args(_normalise(list(sys.argv[1:] if argv is None else argv)))
    command = args.command
    as_json = bool(args.json)
    try:
        if command in ("apply", "check"):
            outcome = _run_apply(args, dry_run=command == "check" or bool(getattr(args, "dry_run", False)), hook=hook)
        elif command == "status":
            outcome = _run_status(args)
        elif command == "revert":
            outcome = _run_revert(args, hook)
        elif command == "lock":
            outcome = _run_lock(args)
        elif command == "sweep":
            from sitepatch.sweep_command import run_sweep  # noqa: PLC0415 - only this command needs it

            document, lines, code = run_sweep(args)
            outcome = Outcome(document, tuple(lines), code)
        elif command in ("constraints", "evidence"):
            from sitepatch.sweep_command import run_constraints, run_evidence  # noqa: PLC0415 - only these need it

            document, lines, code = (run_constraints if command == "constraints" else run_evidence)(args)
            outcome = Outcome(document, tuple(lines), code)
        elif command in LIFECYCLE:
            outcome = LIFECYCLE[command](args)
        else:
            outcome = _run_list(args)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except (TargetError, ManifestError, WriteError) as error:
        return _fail(error, EXIT_ENVIRONMENT, as_json=as_json, command=command)
    except SitepatchError as error:
        return _fail(error, EXIT_FAILED, as_json=as_json, command=command)
    try:
        _emit(outcome, as_json=as_json, out=sys.stdout, err=sys.stderr)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (head, a pager) went away: the run's result still stands; say nothing more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return outcome.code


def _fail(error: SitepatchError, code: int, *, as_json: bool, command: str) -> int:
    if as_json:
        problems = list(getattr(error, "problems", ())) or [str(error)]
        doc = {"command": command, "ok": False, "error": str(error), "problems": problems, "patches": []}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    sys.stderr.write(f"error: {error}\n")
    return code
