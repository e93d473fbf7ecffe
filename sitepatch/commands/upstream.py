"""``upstream-status``: classify every patch against the installed (newer) release."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sitepatch.apply import StateDir
from sitepatch.commands._outcome import EXIT_OK, Outcome, distributions, target_root
from sitepatch.dist import Target
from sitepatch.parse import load_patches
from sitepatch.workflows import upstream_status

__all__ = ["run"]


def __dir__() -> list[str]:
    return __all__


def run(args: argparse.Namespace, *, hook: Callable[[str], None] | None = None) -> Outcome:  # noqa: ARG001 - one signature for every command
    """Run ``upstream-status``."""
    target = Target.open(target_root(args))
    manifest = StateDir(target.root).read_manifest()
    rows = upstream_status(target, load_patches(args.patches), max_fuzz=args.max_fuzz, manifest=manifest)
    doc = {
        "command": "upstream-status",
        "ok": True,
        "target": str(target.root),
        "distributions": distributions(target),
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
