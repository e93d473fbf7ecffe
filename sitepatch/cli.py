"""The command line: parse arguments, call the library, render the result, map errors to exit codes.

Exit codes: 0 every selected patch applied or already applied (``status``: everything in place); 1 a patch
failed or a file was refused, and nothing was written; 2 a usage or environment error; 130 interrupted.
``--json`` prints one JSON object built from the same result objects as the human output.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from sitepatch import __version__
from sitepatch.apply import DiskReader, StateDir, apply_plan, write_file
from sitepatch.dist import Target, site_packages_of
from sitepatch.errors import ManifestError, SitepatchError, TargetError, WriteError
from sitepatch.lockfile import Lock, check_lock, updated_pin, verify_manifest
from sitepatch.manifest import HunkRecord, Manifest, PatchRecord
from sitepatch.parse import load_patches
from sitepatch.plan import ALREADY, APPLIED, FAILED, SKIPPED, HunkResult, PatchResult, Plan, plan_run
from sitepatch.selection import Decision, select_patches
from sitepatch.status import StatusReport, plan_revert, status_of

__all__ = ["main"]


def __dir__() -> list[str]:
    return __all__


COMMANDS = ("apply", "check", "status", "revert", "list", "lock")
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


def _manifest_for(plan: Plan, previous: Manifest | None) -> Manifest | None:
    touched = {name for record in plan.records for name in record.patches}
    patches = []
    for result in plan.patches:
        if result.status not in (APPLIED, ALREADY):
            continue
        patch = result.patch
        dist = plan.target.get(patch.package)
        status = APPLIED if patch.name in touched else ALREADY
        files = tuple(
            (
                f.path,
                tuple(HunkRecord(h.index, h.status, h.line, h.offset, h.fuzz) for h in f.hunks),
            )
            for f in result.files
        )
        patches.append(
            PatchRecord(
                name=patch.name,
                number=patch.number,
                sha256=patch.sha256,
                package=patch.package,
                package_version=str(dist.version) if dist else "",
                status=status,
                header=patch.header.fields,
                files=files if status == APPLIED else (),
            )
        )
    if not patches and not plan.records:
        return None
    names = {p.package for p in patches} | {r.distribution for r in plan.records}
    versions = {str(k): str(v) for k, v in plan.target.versions.items()}
    distributions = tuple((n, versions[n]) for n in sorted(names) if n in versions)
    fresh = Manifest(
        tool_version=__version__,
        target=str(plan.target.root),
        time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        distributions=distributions,
        patches=tuple(patches),
        files=plan.records,
    )
    if previous is not None and _same_state(previous, fresh):
        return previous
    return fresh


def _same_state(a: Manifest, b: Manifest) -> bool:
    def key(m: Manifest) -> tuple[object, ...]:
        return (m.distributions, tuple((p.name, p.sha256, p.status) for p in m.patches), m.files)

    return key(a) == key(b)


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
    manifest = _manifest_for(plan, previous) if ok else None
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
    tail = "dry run: nothing written" if dry_run else ("written" if written else "nothing to write")
    if not ok:
        tail = "nothing written"
    lines.append(
        f"summary: {summary[APPLIED]} applied, {summary[ALREADY]} already applied, {summary[SKIPPED]} skipped, "
        f"{summary[FAILED]} failed; {len(plan.changes) if ok else 0} file(s) changed; {tail}"
    )
    return Outcome(doc, tuple(lines), EXIT_OK if ok else EXIT_FAILED, tuple(problems))


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
        problems = check_lock(lock, load_patches(args.patches))
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
        else:
            outcome = _run_list(args)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except (TargetError, ManifestError, WriteError) as error:
        return _fail(error, EXIT_ENVIRONMENT, as_json=as_json, command=command)
    except SitepatchError as error:
        return _fail(error, EXIT_FAILED, as_json=as_json, command=command)
    _emit(outcome, as_json=as_json, out=sys.stdout, err=sys.stderr)
    return outcome.code


def _fail(error: SitepatchError, code: int, *, as_json: bool, command: str) -> int:
    if as_json:
        problems = list(getattr(error, "problems", ())) or [str(error)]
        doc = {"command": command, "ok": False, "error": str(error), "problems": problems, "patches": []}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    sys.stderr.write(f"error: {error}\n")
    return code
