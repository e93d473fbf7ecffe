"""Issue 19, items 1 and 2: nothing below ``.sitepatch`` and no ``__pycache__`` is read or written through a link.

Every test here failed on 85bf5bf: the pristine store and ``txn/`` were followed into the directory a link
named (deleting or overwriting its files), and stale bytecode was removed from a linked ``__pycache__``'s target.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from fakesite import SOURCE, make_diff, snapshot, write_patch

Run = Callable[..., tuple[int, str, str]]

PATCHED = SOURCE.replace(b"line 20\n", b"line twenty\n")


def tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` with its sha256 (the victim directory a link points to)."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A directory outside the target holding files a link below ``.sitepatch`` will point at."""
    root = tmp_path / "victim"
    (root / "demo").mkdir(parents=True)
    (root / "precious.txt").write_bytes(b"precious\n")
    (root / "demo" / "mod.py").write_bytes(b"someone else's mod.py\n")
    (root / "mod.py").write_bytes(b"someone else's mod.py\n")
    return root


@pytest.fixture
def patched(run: Run, site: Path, patches: Path) -> Path:
    write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))
    assert run()[0] == 0
    return site


def link(path: Path, target: Path) -> None:
    """Replace ``path`` (a directory, a file or nothing) with a symbolic link to ``target``."""
    if path.is_dir() and not path.is_symlink():
        for child in sorted(path.rglob("*"), reverse=True):
            child.rmdir() if child.is_dir() else child.unlink()
        path.rmdir()
    elif path.exists():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target, target_is_directory=target.is_dir())


def refused(run: Run, command: tuple[str, ...], where: Path) -> str:
    code, out, err = run(*command, "--json")
    assert code == 2, (command, out, err)
    assert "Traceback" not in err
    message = str(json.loads(out)["error"])
    assert str(where) in message, message
    assert "symbolic link" in message
    return message


@pytest.mark.parametrize("command", [("apply",), ("revert",), ("revert", "--force")])
def test_a_linked_pristine_store_is_refused_and_nothing_in_its_target_is_deleted(
    run: Run, patched: Path, victim: Path, command: tuple[str, ...]
) -> None:
    link(patched / ".sitepatch/pristine", victim)
    before, files = tree(victim), snapshot(patched)

    message = refused(run, command, patched / ".sitepatch/pristine")

    assert "remove it" in message
    assert tree(victim) == before
    assert snapshot(patched) == files


@pytest.mark.parametrize("command", [("apply",), ("revert",)])
def test_a_linked_pristine_store_is_refused_before_anything_was_applied(
    run: Run, site: Path, patches: Path, victim: Path, command: tuple[str, ...]
) -> None:
    write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))
    link(site / ".sitepatch/pristine", victim)
    before, files = tree(victim), snapshot(site)

    refused(run, command, site / ".sitepatch/pristine")

    assert tree(victim) == before
    assert snapshot(site) == files
    assert not (site / ".sitepatch/manifest.json").exists()


def test_a_linked_package_in_the_pristine_store_is_never_written_through(
    run: Run, site: Path, patches: Path, victim: Path
) -> None:
    write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))
    link(site / ".sitepatch/pristine/demo", victim / "demo")
    before, files = tree(victim), snapshot(site)

    refused(run, ("apply",), site / ".sitepatch/pristine/demo")

    assert tree(victim) == before
    assert snapshot(site) == files


def test_a_linked_pristine_copy_is_not_read_by_check_or_status(run: Run, patched: Path, victim: Path) -> None:
    link(patched / ".sitepatch/pristine/demo/mod.py", victim / "mod.py")
    files = snapshot(patched)

    for command in (("check",), ("revert", "--dry-run"), ("apply",), ("revert",)):
        refused(run, command, patched / ".sitepatch/pristine/demo/mod.py")

    assert snapshot(patched) == files


@pytest.mark.parametrize("name", ["txn", "lock", "journal.json", "manifest.json"])
def test_a_link_for_any_file_or_directory_of_the_state_is_exit_2_without_a_traceback(
    run: Run, patched: Path, victim: Path, name: str
) -> None:
    target = victim / "precious.txt" if name.endswith((".json", "lock")) else victim
    link(patched / ".sitepatch" / name, target)
    before, files = tree(victim), snapshot(patched)

    for command in (("apply",), ("revert",)):
        refused(run, command, patched / ".sitepatch" / name)

    assert tree(victim) == before
    assert snapshot(patched) == files


def test_a_fifo_in_the_pristine_store_is_refused(run: Run, patched: Path) -> None:
    fifo = patched / ".sitepatch/pristine/demo/x.py"
    os.mkfifo(fifo)

    code, out, err = run("apply", "--json")

    assert code == 2, err
    assert f"{fifo}: neither a regular file nor a directory" in json.loads(out)["error"]


def test_status_refuses_a_linked_state_directory(run: Run, patched: Path, tmp_path: Path) -> None:
    moved = tmp_path / "moved-state"
    (patched / ".sitepatch").rename(moved)
    (patched / ".sitepatch").symlink_to(moved, target_is_directory=True)

    code, out, err = run("status", "--json")

    assert code == 2, (out, err)
    assert f"{patched / '.sitepatch'}: not a directory (a symbolic link)" in json.loads(out)["error"]


# -- 2. a __pycache__ that is a link ---------------------------------------------------------------------


def bytecode(directory: Path) -> dict[str, bytes]:
    directory.mkdir(parents=True, exist_ok=True)
    found = {name: f"bytecode of {name}\n".encode() for name in ("mod.cpython-311.pyc", "mod.cpython-312.opt-1.pyc")}
    for name, data in found.items():
        (directory / name).write_bytes(data)
    return found


@pytest.mark.parametrize("command", [("apply",), ("check",)])
def test_a_linked_pycache_is_refused_and_its_targets_bytecode_kept(
    run: Run, site: Path, patches: Path, victim: Path, command: tuple[str, ...]
) -> None:
    write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))
    kept = bytecode(victim / "cache")
    (site / "demo/__pycache__").symlink_to(victim / "cache", target_is_directory=True)
    files = snapshot(site)

    code, out, err = run(*command)

    assert code == 1, out + err
    assert "refusing to write through the symbolic link demo/__pycache__" in out + err
    assert {p.name: p.read_bytes() for p in (victim / "cache").iterdir()} == kept
    assert snapshot(site) == files
    assert not (site / ".sitepatch/manifest.json").exists()


def test_revert_refuses_a_linked_pycache(run: Run, patched: Path, victim: Path) -> None:
    kept = bytecode(victim / "cache")
    (patched / "demo/__pycache__").symlink_to(victim / "cache", target_is_directory=True)
    files = snapshot(patched)

    code, out, err = run("revert")

    assert code == 1, out + err
    assert "demo/__pycache__" in out + err
    assert {p.name: p.read_bytes() for p in (victim / "cache").iterdir()} == kept
    assert snapshot(patched) == files


def test_a_real_pycache_still_loses_the_stale_bytecode(run: Run, site: Path, patches: Path) -> None:
    write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))
    bytecode(site / "demo/__pycache__")
    (site / "demo/__pycache__/other.cpython-311.pyc").write_bytes(b"other\n")

    assert run()[0] == 0

    assert sorted(p.name for p in (site / "demo/__pycache__").iterdir()) == ["other.cpython-311.pyc"]
