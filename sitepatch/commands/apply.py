"""``apply`` (the default command) and ``check``: plan the selected patches, report, and write unless dry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sitepatch import __version__
from sitepatch.apply import DiskReader, StateDir, apply_plan
from sitepatch.commands._outcome import EXIT_FAILED, EXIT_OK, Outcome, distributions, target_root
from sitepatch.commands._render import hunk_lines, patch_doc, summary
from sitepatch.coverage import CoverageRecord, Uncovered, uncovered_patches
from sitepatch.dist import Target
from sitepatch.errors import TargetError
from sitepatch.manifest import Manifest
from sitepatch.parse import load_patches
from sitepatch.plan import ALREADY, APPLIED, FAILED, SKIPPED, PatchResult, plan_run
from sitepatch.record import manifest_for
from sitepatch.selection import Decision, select_patches

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence

__all__ = ["run"]


def __dir__() -> list[str]:
    return __all__


def run(args: argparse.Namespace, *, hook: Callable[[str], None] | None = None) -> Outcome:
    """Run ``apply`` or ``check`` (``check`` and ``apply --dry-run`` write nothing, not even the lock).

    :param args: the parsed arguments.
    :param hook: passed to the writer; tests use it to interrupt a run at a chosen step.
    """
    dry_run = args.command == "check" or bool(getattr(args, "dry_run", False))
    root = target_root(args)
    target = _installed(Target.open(root))
    patches = load_patches(args.patches)
    decisions = select_patches(patches, target.versions)
    state = StateDir(target.root)
    _some_package_installed(target, decisions, state)
    reader = DiskReader(target.root)
    editable = [
        d.patch.package for d in decisions if d.selected and (dist := target.get(d.patch.package)) and dist.editable
    ]
    strict_refusal = bool(getattr(args, "strict", False)) and bool(_uncovered(args, decisions, target))
    if dry_run or editable or strict_refusal:
        # An editable install, or an uncovered one under --strict, is refused before anything is created in the
        # target, the lock included.
        return _render_apply(args, target, decisions, state, reader, dry_run=dry_run, hook=None, recovered="")
    with state.lock(timeout=args.lock_timeout):
        recovered = state.recover()
        return _render_apply(args, target, decisions, state, reader, dry_run=False, hook=hook, recovered=recovered)


def _installed(target: Target) -> Target:
    """``target``, which must hold at least one installed distribution (else a wrong --site-packages)."""
    if not target.distributions and not target.problems:
        msg = (
            f"{target.root}: nothing is installed here (no *.dist-info directory); "
            "pass the site-packages of the environment to patch (--site-packages DIR or --python PATH)"
        )
        raise TargetError(msg)
    return target


def _some_package_installed(target: Target, decisions: Sequence[Decision], state: StateDir) -> None:
    """Refuse a target where none of the set's packages is installed and nothing was ever recorded.

    Such a target is almost always the wrong environment (a venv without LiteLLM, a forgotten ``--python``):
    reporting every patch as "not installed" and exiting 0 would hide it, and nothing is created there.
    """
    packages = sorted({d.patch.package for d in decisions})
    if not packages or any(target.get(name) is not None for name in packages) or target.problems:
        return
    if state.read_manifest() is not None or state.pending_journal():
        return  # patched once: apply drops what is no longer selected
    msg = (
        f"{target.root}: none of the patch set's packages is installed here ({', '.join(packages)}); "
        "pass the site-packages of the environment to patch (--site-packages DIR or --python PATH)"
    )
    raise TargetError(msg)


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
    # --strict refuses an uncovered install before anything is written, as check --strict does (exit 1).
    refused = bool(uncovered) and bool(getattr(args, "strict", False))
    manifest = manifest_for(plan, previous) if ok else None
    written = False
    if ok and not dry_run and not refused and (plan.changes or (manifest is not None and manifest is not previous)):
        apply_plan(plan, state, manifest or previous or _empty_manifest(target), hook=hook)
        written = True
    counts = summary(plan.patches)
    doc: dict[str, Any] = {
        "command": "apply",
        "ok": ok,
        "dry_run": dry_run,
        "target": str(target.root),
        "distributions": distributions(target),
        "recovered": recovered,
        "problems": problems,
        "warnings": list(plan.warnings),
        "patches": [patch_doc(r) for r in plan.patches],
        "changes": [{"path": c.path, "action": _action(c.before, c.after)} for c in plan.changes] if ok else [],
        "dropped": list(plan.dropped),
        "written": written,
        "manifest": str(state.manifest_path),
        "summary": counts,
        "uncovered": [u.as_dict() for u in uncovered],
    }
    shown = ", ".join(f"{k} {v}" for k, v in distributions(target).items() if _relevant(k, decisions))
    lines = [f"target: {target.root} ({shown})"]
    if recovered:
        lines.append(f"recovered: {recovered}")
    verbose = bool(getattr(args, "verbose", False))
    shown_patches = [r for r in plan.patches if verbose or not _outside_versions(r)]
    hidden = len(plan.patches) - len(shown_patches)
    would = args.command == "check" or dry_run
    labels = {r.name: (WOULD_APPLY if would and r.status == APPLIED else r.status) for r in plan.patches}
    width = max((len(labels[r.name]) for r in shown_patches), default=7) + 2
    for r in shown_patches:
        reason = f": {r.reason}" if r.reason and r.status != APPLIED else ""
        lines.append(f"{labels[r.name]:<{width}}{r.name}{reason}")
        lines.extend(hunk_lines(r))
    if hidden:
        lines.append(f"skipped: {hidden} variant(s) outside Versions of the installed release (-v lists them)")
    lines.extend(f"undone: {name} (no longer selected)" for name in plan.dropped)
    lines.extend(f"warning: {w}" for w in plan.warnings)
    lines.extend(
        f"warning: this install is NOT protected: no variant of patch {u.patch} covers "
        f"{u.package} {u.version} ({u.reason})"
        for u in uncovered
    )
    tail = "dry run: nothing written" if dry_run else ("written" if written else "nothing to write")
    if not ok or (refused and not dry_run):
        tail = "nothing written"
    lines.append(
        f"summary: {counts[APPLIED]} {WOULD_APPLY if would else APPLIED}, {counts[ALREADY]} already applied, "
        f"{counts[SKIPPED]} skipped, "
        f"{counts[FAILED]} failed; {len(plan.changes) if ok else 0} file(s) changed; {tail}"
    )
    code = EXIT_OK if ok and not refused else EXIT_FAILED
    if ok and refused:
        lines.append(f"strict: {len(uncovered)} uncovered patch(es); nothing written; exit 1")
    return Outcome(doc, tuple(lines), code, tuple(problems))


def _uncovered(args: argparse.Namespace, decisions: Sequence[Decision], target: Target) -> tuple[Uncovered, ...]:
    record = CoverageRecord.load(args.patches.resolve().parent / "coverage.json")
    return uncovered_patches(decisions, target.versions, record)


WOULD_APPLY = "would apply"
"""How ``check`` and ``--dry-run`` label a patch they would apply (``--json`` keeps the status ``applied``)."""


def _outside_versions(result: PatchResult) -> bool:
    """A variant skipped only because the installed release is outside its ``Versions``."""
    return result.status == SKIPPED and "is outside Versions" in result.reason


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
