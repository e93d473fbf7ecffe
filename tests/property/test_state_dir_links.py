"""Issue 19, items 1 and 2, as a property: links below ``.sitepatch`` or for a ``__pycache__`` are never followed.

Any set of the state directory's entries replaced by symbolic links (to a directory or a file outside the
target, or to nothing), with or without a linked ``demo/__pycache__``, then any command: no traceback, not a
byte changed outside the target, and a command that would write through a link below ``.sitepatch`` exits 2
before changing anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import shutil
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from fakesite import make_diff, make_site, snapshot, write_patch
from sitepatch.cli import main

FEW = settings(max_examples=max(10, settings.default.max_examples // 3))
SOURCE = b"".join(f"line {i}\n".encode() for i in range(1, 21))
PATCHED = SOURCE.replace(b"line 10\n", b"line ten\n")
OTHER = SOURCE.replace(b"line 3\n", b"line three\n")

ENTRIES = ["pristine", "pristine/demo", "pristine/demo/mod.py", "txn", "lock", "manifest.json", "journal.json"]
COMMANDS = [("apply",), ("apply", "--force"), ("revert",), ("revert", "--force"), ("check",), ("status",)]
WRITERS = {"apply", "revert"}


def run(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue() + err.getvalue()


def hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def replace_with_link(path: Path, target: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


@FEW
@given(
    st.sets(st.sampled_from(ENTRIES), min_size=1, max_size=3),
    st.sampled_from(["directory", "file", "dangling"]),
    st.booleans(),
    st.booleans(),
    st.sampled_from(COMMANDS),
)
def test_no_command_follows_a_link_below_the_state_directory_or_a_pycache(
    linked: set[str], kind: str, applied: bool, pycache: bool, command: tuple[str, ...]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        world = Path(tmp)
        site = make_site(world / "site", {"demo/__init__.py": b"", "demo/mod.py": SOURCE})
        patches = world / "patches"
        write_patch(patches, "0001-ten.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))
        victim = world / "victim"
        (victim / "demo").mkdir(parents=True)
        for name in ("mod.py", "demo/mod.py", "mod.cpython-311.pyc", "precious.txt"):
            (victim / name).write_bytes(OTHER)
        if applied:
            assert run("apply", "--site-packages", str(site), "--patches", str(patches))[0] == 0
        target = {"directory": victim, "file": victim / "precious.txt", "dangling": world / "nowhere"}[kind]
        for entry in sorted(linked, key=len, reverse=True):  # the deepest first: a parent link replaces them
            replace_with_link(site / ".sitepatch" / entry, target)
        if pycache:
            shutil.rmtree(site / "demo/__pycache__", ignore_errors=True)
            (site / "demo/__pycache__").symlink_to(victim, target_is_directory=True)
        before_victim, before_site = hashes(victim), snapshot(site)
        argv = [*command, "--site-packages", str(site)]
        if command[0] not in ("status", "revert"):
            argv += ["--patches", str(patches)]

        code, shown = run(*argv)

        assert "Traceback" not in shown
        # 3: `status` on a target with no manifest ("not patched"): it reads nothing below `.sitepatch` then
        assert code in ((0, 1, 2, 3) if command[0] == "status" else (0, 1, 2)), shown
        assert hashes(victim) == before_victim
        assert not (world / "nowhere").exists()
        if command[0] in WRITERS:
            assert code == 2, shown
            assert "symbolic link" in shown or "not a regular file" in shown, shown
            assert snapshot(site) == before_site
        if code != 0:
            assert snapshot(site) == before_site
