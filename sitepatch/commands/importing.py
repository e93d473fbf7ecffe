"""``import``: turn an upstream diff (a pull request's ``.diff``, a format-patch file) into patches."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from sitepatch.apply import StateDir
from sitepatch.commands._outcome import EXIT_FAILED, EXIT_OK, Outcome, target_root, today
from sitepatch.commands._patchfiles import write_patch_files
from sitepatch.commands._render import hunk_report, patch_doc
from sitepatch.dist import Target
from sitepatch.errors import TargetError
from sitepatch.lifecycle import patch_dir_names
from sitepatch.parse import load_patches
from sitepatch.workflows import import_change

__all__ = ["MAX_IMPORT_BYTES", "run"]


def __dir__() -> list[str]:
    return __all__


MAX_IMPORT_BYTES = 16 * 1024 * 1024
"""The largest diff ``import URL`` reads (16 MiB); a larger answer is refused before it fills memory."""


def _read_source(source: str) -> bytes:
    if source.startswith(("http://", "https://")):
        # The sweep's client: bounded in size and time (see sitepatch.remote), loaded only for a URL.
        from sitepatch.remote import HttpFetcher  # noqa: PLC0415

        _, data = HttpFetcher(max_bytes=MAX_IMPORT_BYTES).get(source)
        return data
    try:
        return Path(source).read_bytes()
    except OSError as err:
        raise TargetError(f"{source}: cannot read ({err.strerror or err})") from err


def run(args: argparse.Namespace, *, hook: Callable[[str], None] | None = None) -> Outcome:  # noqa: ARG001 - one signature for every command
    """Run ``import SOURCE``: write the patches only when they apply here (or with ``--force``).

    :raises TargetError: when the source cannot be read.
    """
    target = Target.open(target_root(args))
    patches = load_patches(args.patches) if args.patches.is_dir() else ()
    result = import_change(
        target,
        patches,
        _read_source(args.source),
        origin=args.source,
        subject=args.subject,
        name=args.name,
        today=today(),
        existing_names=patch_dir_names(args.patches) if args.patches.is_dir() else [],
        manifest=StateDir(target.root).read_manifest(),
    )
    write = (result.ok or args.force) and not args.dry_run
    if write:
        write_patch_files(args.patches, result.writes)
    doc = {
        "command": "import",
        "ok": result.ok,
        "written": [str(args.patches / n) for n, _ in result.writes] if write else [],
        "dropped": list(result.dropped),
        "patches": [patch_doc(r) for r in result.results],
    }
    lines = [f"{'wrote' if write else 'would write'} {args.patches / n}" for n, _ in result.writes]
    lines.extend(f"left out (not in an installed package): {p}" for p in result.dropped)
    lines.extend(hunk_report(result.results))
    if not result.ok:
        lines.append("summary: the change does not apply to the installed version; nothing written (--force writes it)")
    return Outcome(doc, tuple(lines), EXIT_OK if result.ok else EXIT_FAILED)
