"""Crash safety, write failures and concurrent runs."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from fakesite import make_diff, make_site, snapshot, write_patch

REPO = Path(__file__).resolve().parents[2]
Run = Callable[..., tuple[int, str, str]]

FILES = {f"demo/m{i}.py": b"".join(f"m{i} line {n}\n".encode() for n in range(1, 21)) for i in range(5)}


class Killed(BaseException):
    """Stands in for SIGKILL: nothing after it runs, no except clause catches it."""


@pytest.fixture
def many(tmp_path: Path, patches: Path) -> Path:
    site = make_site(tmp_path / "many", {"demo/__init__.py": b"", **FILES})
    for i, (path, data) in enumerate(FILES.items()):
        new = data.replace(b"line 10\n", b"line ten\n").replace(b"line 15\n", b"line fifteen\n")
        write_patch(patches, f"000{i + 1}-m{i}.diff", make_diff(data, new, path))
    return site


def steps_of(run: Run, site: Path) -> list[str]:
    seen: list[str] = []
    assert run("--site-packages", str(site), hook=seen.append)[0] == 0
    assert run("revert", "--site-packages", str(site))[0] == 0
    return seen


def test_a_run_killed_at_any_step_is_rolled_back_or_completed_by_the_next(run: Run, many: Path) -> None:
    pristine = snapshot(many)
    steps = steps_of(run, many)
    assert steps[0] == "journal"
    assert steps[-2:] == ["manifest", "finish"]
    patched = None
    for step in steps:

        def die(name: str, at: str = step) -> None:
            if name == at:
                raise Killed

        with pytest.raises(Killed):
            run("--site-packages", str(many), hook=die)
        code, out, _ = run("status", "--site-packages", str(many))
        if step == "finish":
            assert "journal" in out
        code, out, _ = run("--site-packages", str(many))
        assert code == 0
        if step != "journal":
            assert "recovered:" in out
        if patched is None:
            patched = snapshot(many)
        assert snapshot(many) == patched
        assert not (many / ".sitepatch/journal.json").exists()
        assert not list(many.rglob("*.sitepatch-tmp"))
        assert run("revert", "--site-packages", str(many))[0] == 0
        assert snapshot(many) == pristine


def test_a_killed_revert_is_rolled_back_by_the_next_run(run: Run, many: Path) -> None:
    pristine = snapshot(many)
    assert run("--site-packages", str(many))[0] == 0
    patched = snapshot(many)

    def die(name: str) -> None:
        if name == "write demo/m2.py":
            raise Killed

    with pytest.raises(Killed):
        run("revert", "--site-packages", str(many), hook=die)
    code, out, _ = run("status", "--site-packages", str(many))
    assert code == 1
    assert "interrupted run left a journal" in out
    code, out, _ = run("--site-packages", str(many))
    assert code == 0
    assert "rolled back an interrupted revert" in out
    assert snapshot(many) == patched
    assert run("revert", "--site-packages", str(many))[0] == 0
    assert snapshot(many) == pristine


@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EACCES, errno.EROFS])
def test_a_write_that_fails_midway_leaves_the_target_unchanged(run: Run, many: Path, error: int) -> None:
    pristine = snapshot(many)

    def fail(name: str) -> None:
        if name == "write demo/m3.py":
            raise OSError(error, os.strerror(error))

    code, _, err = run("--site-packages", str(many), hook=fail)
    assert code == 2
    assert f"demo/m3.py: write failed: {os.strerror(error)}" in err
    assert snapshot(many) == pristine
    assert not (many / ".sitepatch/manifest.json").exists()
    assert not (many / ".sitepatch/journal.json").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_a_read_only_directory_fails_cleanly(run: Run, many: Path) -> None:  # pragma: no cover - not run as root
    pristine = snapshot(many)
    os.chmod(many / "demo", 0o555)
    try:
        code, _, err = run("--site-packages", str(many))
    finally:
        os.chmod(many / "demo", 0o755)
    assert code == 2
    assert "write failed" in err
    assert snapshot(many) == pristine


def test_eight_concurrent_runs_apply_once(many: Path, patches: Path) -> None:
    command = [
        sys.executable,
        str(REPO / "apply_patches.py"),
        "--site-packages",
        str(many),
        "--patches",
        str(patches),
        "--json",
    ]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(8)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    written = [r for r in results if r["written"]]
    assert len(written) == 1
    statuses = sorted({p["status"] for r in results if not r["written"] for p in r["patches"]})
    assert statuses == ["already-applied"]
    assert not list(many.rglob("*.sitepatch-tmp"))
    assert not (many / ".sitepatch/journal.json").exists()
    done = subprocess.run([*command[:2], "status", *command[2:4]], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout
