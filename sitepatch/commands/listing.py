"""``list``: every patch and whether it is selected for the installed versions."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sitepatch.commands._outcome import EXIT_OK, Outcome, distributions, target_root
from sitepatch.dist import Target
from sitepatch.parse import load_patches
from sitepatch.selection import select_patches

__all__ = ["run"]


def __dir__() -> list[str]:
    return __all__


def run(args: argparse.Namespace, *, hook: Callable[[str], None] | None = None) -> Outcome:  # noqa: ARG001 - one signature for every command
    """Run ``list``."""
    target = Target.open(target_root(args))
    patches = load_patches(args.patches)
    decisions = select_patches(patches, target.versions)
    doc = {
        "command": "list",
        "ok": True,
        "target": str(target.root),
        "distributions": distributions(target),
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
