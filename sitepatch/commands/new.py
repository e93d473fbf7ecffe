"""``new``: write a patch from the edits made to an installed distribution, and record the install as patched."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from sitepatch.apply import DiskReader, StateDir
from sitepatch.commands._outcome import EXIT_OK, Outcome, target_root, today
from sitepatch.commands._patchfiles import write_patch_files
from sitepatch.dist import Target
from sitepatch.errors import TargetError
from sitepatch.lifecycle import patch_dir_names
from sitepatch.parse import load_patches
from sitepatch.plan import FileState, plan_run
from sitepatch.record import manifest_for
from sitepatch.selection import select_patches
from sitepatch.wheels import PristineFinder, pip_download
from sitepatch.workflows import OverlayReader, create_patch

__all__ = ["run"]


def __dir__() -> list[str]:
    return __all__


def run(args: argparse.Namespace, *, hook: Callable[[str], None] | None = None) -> Outcome:  # noqa: ARG001 - one signature for every command
    """Run ``new NAME [PATH...] --package DIST``.

    :raises TargetError: when the distribution is not installed, or a path is outside the target.
    """
    target = Target.open(target_root(args))
    patches = load_patches(args.patches) if args.patches.is_dir() else ()
    dist = target.get(args.package)
    if dist is None:
        raise TargetError(f"{args.package} is not installed in {target.root}")
    state = StateDir(target.root)
    finder = PristineFinder(
        dist, kept=DiskReader(target.root).pristine, downloader=None if args.offline else pip_download
    )
    made = create_patch(
        target,
        patches,
        name=args.name,
        package=args.package,
        paths=[_relative(target, p) for p in args.paths],
        finder=finder,
        subject=args.subject,
        description=args.description,
        today=today(),
        existing_names=patch_dir_names(args.patches) if args.patches.is_dir() else [],
        manifest=(previous := state.read_manifest()),
    )
    write_patch_files(args.patches, [(made.name, made.text)])
    # Record the edited install as this patch set applied, so that status, apply and revert agree with it.
    new_patches = load_patches(args.patches)
    decisions = select_patches(new_patches, target.versions)
    reader = DiskReader(target.root)
    pristine_plan = plan_run(decisions, target, OverlayReader(reader, made.pristine), previous)
    adopted = False
    if pristine_plan.ok and all(reader.read(p) == s for p, s in pristine_plan.images):
        with state.lock(timeout=args.lock_timeout):
            state.recover()
            changes = [
                (
                    r.path,
                    reader.read(r.path),
                    dict(pristine_plan.images)[r.path],
                    _state_of(made.pristine, reader, r.path) or _kept(reader, r.path),
                )
                for r in pristine_plan.records
            ]
            manifest = manifest_for(pristine_plan, previous)
            state.commit(changes, manifest, operation="apply")
            adopted = True
    doc = {
        "command": "new",
        "ok": True,
        "patch": str(args.patches / made.name),
        "files": list(made.files),
        "recorded": adopted,
    }
    lines = [f"wrote {args.patches / made.name} ({len(made.files)} file(s): {', '.join(made.files)})"]
    lines.append(
        "recorded the install as patched (status: applied)"
        if adopted
        else "warning: the install was not recorded; run apply"
    )
    return Outcome(doc, tuple(lines), EXIT_OK)


def _state_of(pristine: dict[str, bytes], reader: DiskReader, path: str) -> FileState | None:
    if path not in pristine:
        return None
    current = reader.read(path)
    return FileState(pristine[path], current.mode if current is not None else 0o644)


def _kept(reader: DiskReader, path: str) -> FileState | None:
    """The pristine copy sitepatch kept of ``path`` (a file of another distribution the set patched)."""
    data = reader.pristine(path)
    current = reader.read(path)
    return FileState(data, current.mode if current is not None else 0o644) if data is not None else None


def _relative(target: Target, path: str) -> str:
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            return candidate.resolve().relative_to(target.root).as_posix()
        except ValueError as err:
            raise TargetError(f"{path} is not inside {target.root}") from err
    return candidate.as_posix()
