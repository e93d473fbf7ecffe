"""``status``: compare the target with the manifest. Runs at every container start and as the health check.

Start-up is most of its time, so this module and what it imports use :mod:`os` paths and import neither the
diff parser, the planner, ``packaging`` (unless a version is not a plain release), :mod:`pathlib`,
:mod:`json`, :mod:`re` nor :mod:`typing` (``tests/unit/test_startup.py`` holds it to that).
"""

from __future__ import annotations

import os
import sys

from sitepatch._installed import scan
from sitepatch.commands import EXIT_NOT_PATCHED
from sitepatch.commands._outcome import EXIT_FAILED, EXIT_OK, Outcome, target_dir
from sitepatch.disk import DiskReader, read_manifest
from sitepatch.manifest import JOURNAL_NAME, MANIFEST_NAME, STATE_DIR
from sitepatch.status import StatusReport, status_of

TYPE_CHECKING = False  # typing and argparse are not imported at start-up; type checkers take the branch below
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Mapping
    from typing import Any

__all__ = ["run"]


def __dir__() -> list[str]:
    return __all__


def _status_doc(report: StatusReport, versions: Mapping[str, str]) -> dict[str, Any]:
    return {
        "command": "status",
        "ok": report.ok,
        "target": report.root,
        "distributions": dict(sorted(versions.items())),
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


def _with_problems(report: StatusReport, problems: list[str]) -> StatusReport:
    if not problems:
        return report
    return StatusReport(report.root, report.has_manifest, report.patches, report.files, (*report.problems, *problems))


def _runs_problems(args: argparse.Namespace, root: str, report: StatusReport) -> list[str]:
    """What the target's interpreter would run instead of the patched files (see :mod:`sitepatch.origins`).

    The interpreter is ``--python``'s (asked for its ``sys.path``), else this one: with ``--site-packages``
    only when that directory is on this interpreter's ``sys.path`` (it is then the one that imports from it;
    the container guard runs status with LiteLLM's own interpreter and environment).
    """
    from sitepatch import origins  # noqa: PLC0415 - only with a manifest

    patched = [f.path for f in report.files if f.status == "applied" and f.path.endswith(".py")]
    if not patched:
        return []
    problems: list[str] = []
    for rel in patched:
        problems.extend(origins.bytecode_problems(root, rel))
    if args.python:
        search = origins.interpreter_path(args.python)
        who = args.python
    else:
        search = origins.own_path(root)
        who = sys.executable or "the interpreter"
        if args.site_packages is not None and root not in {os.path.realpath(p) for p in search}:
            return problems  # another interpreter's site-packages: which copy it imports is not known here
    problems.extend(origins.origin_problems(patched, root, search, who=who))
    return problems


def run(args: argparse.Namespace, *, hook: Callable[[str], None] | None = None) -> Outcome:  # noqa: ARG001 - one signature for every command
    """Run ``status``: exit 0 only when everything the manifest records is in place."""
    root = target_dir(args)
    if not os.path.isdir(root):
        from pathlib import Path  # noqa: PLC0415 - only to report the error as every command does

        from sitepatch.dist import Target  # noqa: PLC0415

        Target.open(Path(root))  # raises the error that names the directory
    root = os.path.realpath(root)
    state = os.path.join(root, STATE_DIR)
    manifest = read_manifest(os.path.join(state, MANIFEST_NAME))
    # Only the recorded distributions are read, unless --json lists them all.
    recorded = None
    if manifest is not None and not args.json:
        recorded = {p.package for p in manifest.patches} | {f.distribution for f in manifest.files}
    installed, _ = scan(root, only=recorded)
    versions = {name: dist.version for name, dist in installed.items()}
    report = status_of(manifest, root, versions, DiskReader(root))
    if manifest is not None:
        report = _with_problems(report, _runs_problems(args, root, report))
    journal = os.path.join(state, JOURNAL_NAME)
    if os.path.exists(journal):
        report = StatusReport(
            report.root,
            report.has_manifest,
            report.patches,
            report.files,
            (*report.problems, f"{journal}: an interrupted run left a journal; run apply or revert to roll it back"),
        )
    lines = [f"target: {root}"]
    if manifest is None and not os.path.exists(journal):
        # Nothing recorded: say which of the two it is, rather than "0 of 0 in place".
        reverted = os.path.isdir(state)
        why = f"{state} holds no manifest (reverted, or never completed)" if reverted else f"no {STATE_DIR} directory"
        lines.append(f"summary: NOT patched: {why}; run apply to patch this install")
        doc = _status_doc(report, versions)
        doc["patched"] = False
        return Outcome(doc, tuple(lines), EXIT_NOT_PATCHED)
    width = max((len(p.status) for p in report.patches), default=7) + 2
    lines.extend(f"{p.status:<{width}}{p.name}{': ' + p.reason if p.reason else ''}" for p in report.patches)
    lines.extend(f"problem: {p}" for p in report.problems)
    in_place = sum(1 for p in report.patches if p.status in ("applied", "already-applied"))
    verdict = "everything recorded is in place" if report.ok else "NOT everything recorded is in place"
    lines.append(f"summary: {in_place} of {len(report.patches)} patch(es) in place; {verdict}")
    return Outcome(_status_doc(report, versions), tuple(lines), EXIT_OK if report.ok else EXIT_FAILED)
