"""The less travelled paths: damaged state, odd files, disk faults, a busy lock, the public surface."""

from __future__ import annotations

import errno
import fcntl
import importlib
import json
import os
import pkgutil
from collections.abc import Callable
from pathlib import Path

import pytest

import sitepatch
from fakesite import SOURCE, make_diff, make_site, snapshot, write_patch

Run = Callable[..., tuple[int, str, str]]
PATCHED = SOURCE.replace(b"line 20\n", b"line twenty\n")


@pytest.fixture
def one_patch(patches: Path) -> Path:
    return write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))


def test_every_module_lists_its_public_names() -> None:
    for info in pkgutil.iter_modules(sitepatch.__path__):
        module = importlib.import_module(f"sitepatch.{info.name}")
        if info.name == "__main__":
            continue
        assert sorted(dir(module)) == sorted(module.__all__), info.name
        for name in module.__all__:
            assert hasattr(module, name), (info.name, name)


def test_a_damaged_pristine_copy_is_refused_with_what_to_do(run: Run, site: Path, one_patch: Path) -> None:
    assert run()[0] == 0
    (site / ".sitepatch/pristine/demo/mod.py").write_bytes(b"not the original\n")
    code, _, err = run()
    assert code == 1
    assert "pristine copy sitepatch kept is missing or damaged; reinstall demo" in err
    code, _, err = run("revert")
    assert code == 1
    assert "pristine copy in .sitepatch/pristine is missing or damaged" in err
    assert (site / "demo/mod.py").read_bytes() == PATCHED


def test_a_file_missing_from_the_install_is_refused(run: Run, site: Path, one_patch: Path) -> None:
    (site / "demo/mod.py").unlink()
    code, _, err = run()
    assert code == 1
    assert "demo/mod.py: listed in demo-1.0.dist-info/RECORD but missing; reinstall demo" in err


def test_a_file_without_a_record_hash_needs_force(run: Run, site: Path, one_patch: Path) -> None:
    record = site / "demo-1.0.dist-info/RECORD"
    lines = [ln.split(",")[0] + ",," if ln.startswith("demo/mod.py") else ln for ln in record.read_text().splitlines()]
    record.write_text("\n".join(lines) + "\n")
    code, _, err = run()
    assert code == 1
    assert "RECORD has no hash for it" in err
    assert run("--force")[0] == 0


def test_a_stray_file_where_a_patch_creates_one_is_refused(run: Run, site: Path, patches: Path) -> None:
    write_patch(patches, "0001-new.diff", make_diff(None, b"new\n", "demo/new.py"))
    (site / "demo/new.py").write_bytes(b"someone else's\n")
    code, _, err = run()
    assert code == 1
    assert "demo/new.py: exists but is not a file of demo 1.0 (not in RECORD)" in err


@pytest.mark.parametrize(
    ("files", "body", "reason"),
    [
        pytest.param(
            {"demo/a.py": b"x\n", "demo/b.py": b"y\n"},
            b"diff --git a/demo/a.py b/demo/b.py\nrename from demo/a.py\nrename to demo/b.py\n",
            "cannot rename demo/a.py onto demo/b.py: it exists",
            id="rename onto a file",
        ),
        pytest.param(
            {"demo/c.py": b"x\n"},
            b"diff --git a/demo/a.py b/demo/b.py\nrename from demo/a.py\nrename to demo/b.py\n",
            "demo/a.py not found",
            id="rename of nothing",
        ),
        pytest.param(
            {"demo/old.py": b"bye\nmore\n"},
            b"--- a/demo/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n",
            "not deleting: the file is not the one the patch deletes",
            id="delete a file with more content",
        ),
        pytest.param(
            {"demo/new.py": b"other\n"},
            b"--- /dev/null\n+++ b/demo/new.py\n@@ -0,0 +1 @@\n+hi\n",
            "the patch creates this file, but it already exists",
            id="create over a file",
        ),
        pytest.param(
            {"demo/m.py": b"a\n"},
            b"--- a/demo/gone.py\n+++ b/demo/gone.py\n@@ -1 +1 @@\n-a\n+b\n",
            "file not found",
            id="modify a missing file",
        ),
    ],
)
def test_file_level_conflicts_fail_with_a_reason(
    run: Run, tmp_path: Path, patches: Path, files: dict[str, bytes], body: bytes, reason: str
) -> None:
    site = make_site(tmp_path / "s", {"demo/__init__.py": b"", **files})
    write_patch(patches, "0001-x.diff", body)
    before = snapshot(site)
    code, out, _ = run("--site-packages", str(site), "--json")
    assert code == 1
    assert reason in json.loads(out)["patches"][0]["reason"]
    assert snapshot(site) == before


def test_deleted_and_created_files_already_in_place_are_already_applied(
    run: Run, tmp_path: Path, patches: Path
) -> None:
    site = make_site(tmp_path / "s", {"demo/__init__.py": b""}, unrecorded={})
    write_patch(patches, "0001-gone.diff", b"--- a/demo/gone.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n")
    code, out, _ = run("--site-packages", str(site), "--json")
    assert code == 0
    assert json.loads(out)["patches"][0]["status"] == "already-applied"


@pytest.mark.parametrize(
    ("nth", "where"),
    [
        # On a first apply the pristine copy is also the roll-back copy: no copy into txn/.
        pytest.param(1, ".sitepatch/pristine/demo/mod.py", id="pristine copy"),
        pytest.param(2, ".sitepatch/journal.json", id="journal"),
        pytest.param(3, "demo/mod.py", id="target file"),
        pytest.param(4, ".sitepatch/manifest.json", id="manifest"),
    ],
)
def test_a_disk_fault_at_any_write_leaves_the_target_unchanged(
    run: Run, site: Path, one_patch: Path, monkeypatch: pytest.MonkeyPatch, nth: int, where: str
) -> None:
    from sitepatch import apply

    real = os.write
    calls = {"n": 0}

    def failing_write(fd: int, data: bytes | memoryview) -> int:
        calls["n"] += 1
        if calls["n"] == nth:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, data)

    before = snapshot(site)
    monkeypatch.setattr(apply.os, "write", failing_write)
    code, _, err = run()
    assert code == 2
    assert where in err
    assert "write failed: No space left on device" in err
    monkeypatch.undo()
    assert snapshot(site) == before
    assert not list(site.rglob("*.sitepatch-tmp"))
    assert run()[0] == 0


def test_a_busy_lock_times_out_with_a_clear_message(run: Run, site: Path, one_patch: Path) -> None:
    (site / ".sitepatch").mkdir()
    with (site / ".sitepatch/lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        code, _, err = run("--lock-timeout", "0.2")
    assert code == 2
    assert "another sitepatch run still holds the lock after 0s" in err


def test_an_unreadable_journal_stops_writes(run: Run, site: Path, one_patch: Path) -> None:
    (site / ".sitepatch").mkdir()
    (site / ".sitepatch/journal.json").write_text("{not json")
    code, _, err = run()
    assert code == 2
    assert "unreadable journal" in err
    (site / ".sitepatch/journal.json").write_text(
        json.dumps({"schema_version": 7, "files": [], "manifest_after": None, "operation": "apply"})
    )
    code, _, err = run()
    assert code == 2
    assert "journal of an unknown schema" in err


def test_status_reports_an_uninstalled_distribution(run: Run, site: Path, one_patch: Path) -> None:
    import shutil

    assert run()[0] == 0
    shutil.rmtree(site / "demo-1.0.dist-info")
    code, out, _ = run("status", "--json")
    assert code == 1
    assert json.loads(out)["patches"][0]["reason"] == "demo is no longer installed"


def test_a_distribution_installed_twice_is_reported(run: Run, site: Path, one_patch: Path) -> None:
    twin = site / "demo-0.9.dist-info"
    twin.mkdir()
    (twin / "METADATA").write_text("Metadata-Version: 2.1\nName: demo\nVersion: 0.9\n")
    code, _, err = run()
    assert code == 1
    assert "demo is installed twice" in err


def test_python_m_sitepatch_runs_the_cli() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "sitepatch", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    assert "apply" in done.stdout
