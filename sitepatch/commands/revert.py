"""``revert``: restore the pristine image of every file the manifest records."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sitepatch.apply import DiskReader, StateDir
from sitepatch.commands._outcome import EXIT_FAILED, EXIT_OK, Outcome, target_root
from sitepatch.dist import Target
from sitepatch.status import plan_revert

__all__ = ["run"]


def __dir__() -> list[str]:
    return __all__


def run(args: argparse.Namespace, *, hook: Callable[[str], None] | None = None) -> Outcome:
    """Run ``revert``; ``--dry-run`` reports without taking the lock or writing.

    :param args: the parsed arguments.
    :param hook: passed to the writer; tests use it to interrupt a run at a chosen step.
    """
    target = Target.open(target_root(args))
    state = StateDir(target.root)
    reader = DiskReader(target.root)

    def revert(recovered: str) -> Outcome:
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
        plan = plan_revert(manifest, reader, force=args.force, target=target)
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
        return revert("")
    with state.lock(timeout=args.lock_timeout):
        return revert(state.recover())
