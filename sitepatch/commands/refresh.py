"""``refresh``: rewrite patches that apply only with an offset or fuzz to the installed version."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sitepatch.apply import StateDir
from sitepatch.commands._outcome import EXIT_FAILED, EXIT_OK, Outcome, target_root, today
from sitepatch.commands._patchfiles import find_patch, write_patch_files
from sitepatch.commands._render import hunk_lines
from sitepatch.dist import Target
from sitepatch.errors import TargetError
from sitepatch.parse import load_patches
from sitepatch.plan import FAILED
from sitepatch.workflows import refresh_patches

__all__ = ["run"]


def __dir__() -> list[str]:
    return __all__


def run(args: argparse.Namespace, *, hook: Callable[[str], None] | None = None) -> Outcome:  # noqa: ARG001 - one signature for every command
    """Run ``refresh [PATCH...] [--all]``.

    :raises TargetError: when no patch is named and ``--all`` is not given.
    """
    if not args.patch and not args.all:
        raise TargetError("name the patches to refresh, or pass --all")
    target = Target.open(target_root(args))
    patches = load_patches(args.patches)
    # A patch id (0010) means all of its variants; a file name means start from that variant.
    ids = {p.number for p in patches}
    names = [] if args.all else [p if p in ids else find_patch(patches, p).name for p in args.patch]
    manifest = StateDir(target.root).read_manifest()
    results = refresh_patches(
        target, patches, names=names, widen=args.widen, max_fuzz=args.max_fuzz, today=today(), manifest=manifest
    )
    if not args.dry_run:
        for result in results:
            write_patch_files(args.patches, result.writes)
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
            lines.extend(hunk_lines(r.result))
    lines.append(
        f"summary: {sum(1 for r in results if r.writes)} patch(es) rewritten"
        + ("; dry run: nothing written" if args.dry_run else "")
    )
    return Outcome(doc, tuple(lines), EXIT_OK if ok else EXIT_FAILED)
