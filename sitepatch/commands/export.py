"""``export``: a patch as a git format-patch file and a pull-request body; git runs only with ``--execute``."""

from __future__ import annotations

import argparse
import email.utils
from collections.abc import Callable

from sitepatch.apply import write_file
from sitepatch.commands._outcome import EXIT_OK, Outcome
from sitepatch.commands._patchfiles import find_patch
from sitepatch.parse import load_patches
from sitepatch.workflows import plan_export, run_export

__all__ = ["run"]


def __dir__() -> list[str]:
    return __all__


def run(args: argparse.Namespace, *, hook: Callable[[str], None] | None = None) -> Outcome:  # noqa: ARG001 - one signature for every command
    """Run ``export PATCH``; nothing is pushed."""
    patches = load_patches(args.patches)
    patch = find_patch(patches, args.patch)
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
