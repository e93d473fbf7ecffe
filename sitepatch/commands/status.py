"""``status``: compare the target with the manifest. Runs at every container start and as the health check.

Start-up is most of its time, so this module imports neither the diff parser nor the patch selection.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from sitepatch.apply import DiskReader, StateDir
from sitepatch.commands._outcome import EXIT_FAILED, EXIT_OK, Outcome, distributions, target_root
from sitepatch.dist import Target
from sitepatch.status import StatusReport, status_of

__all__ = ["run"]


def __dir__() -> list[str]:
    return __all__


def _status_doc(report: StatusReport) -> dict[str, Any]:
    return {
        "command": "status",
        "ok": report.ok,
        "target": str(report.target.root),
        "distributions": distributions(report.target),
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


def run(args: argparse.Namespace, *, hook: Callable[[str], None] | None = None) -> Outcome:  # noqa: ARG001 - one signature for every command
    """Run ``status``: exit 0 only when everything the manifest records is in place."""
    root = target_root(args)
    if not root.is_dir():
        Target.open(root)  # raises the error that names the directory
    state = StateDir(root.resolve())
    manifest = state.read_manifest()
    # Only the recorded distributions are read, unless --json lists them all.
    recorded = None
    if manifest is not None and not args.json:
        recorded = {p.package for p in manifest.patches} | {f.distribution for f in manifest.files}
    target = Target.open(root, only=recorded)
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
