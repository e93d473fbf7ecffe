"""``lock check|verify|update``: keep ``versions.lock`` in step with the patches and applied targets."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from sitepatch.apply import StateDir, write_file
from sitepatch.commands._outcome import EXIT_FAILED, EXIT_OK, Outcome, target_root
from sitepatch.coverage import CoverageRecord, check_coverage
from sitepatch.dist import Target
from sitepatch.errors import TargetError
from sitepatch.lockfile import Lock, check_lock, updated_pin, verify_manifest
from sitepatch.parse import load_patches

__all__ = ["run"]


def __dir__() -> list[str]:
    return __all__


def run(args: argparse.Namespace, *, hook: Callable[[str], None] | None = None) -> Outcome:  # noqa: ARG001 - one signature for every command
    """Run ``lock ACTION``.

    :raises TargetError: when the lock file is missing, or ``verify``/``update`` lack ``--pin``.
    """
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
        target = Target.open(target_root(args))
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
