"""Reliability at CI sizes: SIGKILL at random instants, mixed concurrent runs, uv's hard-linked cache, reinstalls.

The same checks run at full size in the ``stress`` session (``tests/stress``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from reliability_kit import (
    APPLY,
    TMP_SUFFIX,
    build_wheel,
    environ_without_index,
    kill_trials,
    make_world,
    tree,
    verify_patched,
    verify_pristine,
)

from fakesite import SOURCE, make_diff, write_patch

Run = Callable[..., tuple[int, str, str]]
PATCHED = SOURCE.replace(b"line 20\n", b"line twenty\n")
UV = shutil.which("uv")


def test_an_apply_killed_at_random_instants_leaves_the_target_pristine_or_fully_patched(tmp_path: Path) -> None:
    world = make_world(tmp_path, files=40)
    stats = kill_trials(world, 6, seed=int.from_bytes(os.urandom(2), "big"))
    assert stats.trials == 6


class Killed(BaseException):
    """Stands in for SIGKILL."""


def test_temporary_files_of_sitepatchs_own_state_left_by_a_kill_are_removed_by_the_next_run(
    run: Run, site: Path, patches: Path
) -> None:
    write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))

    def die(name: str) -> None:
        if name == "journal":
            raise Killed

    with pytest.raises(Killed):
        run(hook=die)
    # What a kill inside write_file leaves: the journal's, the manifest's and a pristine copy's temporaries.
    state = site / ".sitepatch"
    for stray in (state / f".journal.json{TMP_SUFFIX}", state / f".manifest.json{TMP_SUFFIX}"):
        stray.write_bytes(b"{")
    (state / "pristine/demo").mkdir(parents=True, exist_ok=True)
    (state / f"pristine/demo/.mod.py{TMP_SUFFIX}").write_bytes(b"half")
    code, out, _ = run()
    assert code == 0, out
    assert not list(site.rglob(f"*{TMP_SUFFIX}"))
    assert verify_patched(site) == []


def test_applies_and_reverts_started_together_end_in_one_of_the_two_states(tmp_path: Path) -> None:
    world = make_world(tmp_path, files=20)
    commands = [world.command("apply" if i % 2 == 0 else "revert") for i in range(8)]
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for c in commands]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, (out, err)
    state = tree(world.site, temporaries=True)
    assert state in (world.pristine, world.patched)
    if state == world.patched:
        assert verify_patched(world.site) == []
    else:
        assert verify_pristine(world.site) == []
    assert not (world.site / ".sitepatch/journal.json").exists()
    assert not list(world.site.rglob(f"*{TMP_SUFFIX}"))


def _files(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def _purelib(python: Path) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


def _sitepatch(site: Path, patches: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*APPLY, *args, "--site-packages", str(site), "--patches", str(patches)],
        capture_output=True,
        text=True,
        check=False,
    )


TINY = {"tinypkg/__init__.py": b"", "tinypkg/core.py": SOURCE}


@pytest.mark.skipif(UV is None, reason="uv is not installed")
def test_apply_and_revert_leave_uvs_hard_linked_cache_byte_identical(tmp_path: Path) -> None:
    assert UV is not None
    env = environ_without_index()
    wheel = build_wheel(tmp_path / "wheels", "tinypkg", "1.0", TINY)
    cache = tmp_path / "uv-cache"
    venv = tmp_path / "venv"
    subprocess.run(
        [UV, "venv", "--python", sys.executable, "--cache-dir", str(cache), str(venv)],
        env=env,
        check=True,
        capture_output=True,
    )
    python = venv / "bin" / "python"
    subprocess.run(
        [
            UV,
            "pip",
            "install",
            "--python",
            str(python),
            "--cache-dir",
            str(cache),
            "--link-mode",
            "hardlink",
            "--offline",
            "--no-deps",
            str(wheel),
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    site = _purelib(python)
    installed = site / "tinypkg/core.py"
    assert installed.stat().st_nlink >= 2, "uv did not hard-link the file into the venv"
    inode = installed.stat().st_ino
    linked = [p for p in cache.rglob("core.py") if p.stat().st_ino == inode]
    assert linked, "no cache file shares the installed file's inode"
    before = _files(cache)
    patches = tmp_path / "patches"
    write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "tinypkg/core.py"), package="tinypkg")
    done = _sitepatch(site, patches, "apply")
    assert done.returncode == 0, done.stdout + done.stderr
    assert installed.read_bytes() == PATCHED
    assert linked[0].read_bytes() == SOURCE
    assert _files(cache) == before
    done = _sitepatch(site, patches, "revert")
    assert done.returncode == 0, done.stdout + done.stderr
    assert installed.read_bytes() == SOURCE
    assert _files(cache) == before
    assert verify_pristine(site) == []


@pytest.mark.parametrize("installer", ["pip", "uv"])
@pytest.mark.parametrize("how", ["force-reinstall", "upgrade"])
def test_a_reinstall_or_upgrade_is_reported_as_lost_every_time(tmp_path: Path, installer: str, how: str) -> None:
    tool = shutil.which(installer)
    if tool is None:
        pytest.skip(f"{installer} is not installed")
    env = environ_without_index()
    wheels = tmp_path / "wheels"
    build_wheel(wheels, "tinypkg", "1.0", TINY)
    build_wheel(wheels, "tinypkg", "1.1", TINY)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"

    def install(version: str, *extra: str) -> None:
        wheel = str(wheels / f"tinypkg-{version}-py3-none-any.whl")
        if installer == "pip":
            command = [tool, "--python", str(python), "install", "--no-index", "--no-deps", *extra, wheel]
        else:
            command = [
                tool,
                "pip",
                "install",
                "--python",
                str(python),
                "--offline",
                "--no-deps",
                "--cache-dir",
                str(tmp_path / "uv-cache"),
                *extra,
                wheel,
            ]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr

    install("1.0")
    site = _purelib(python)
    patches = tmp_path / "patches"
    write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "tinypkg/core.py"), package="tinypkg")
    for attempt in range(3):
        done = _sitepatch(site, patches, "apply")
        assert done.returncode == 0, (attempt, done.stdout + done.stderr)
        assert _sitepatch(site, patches, "status").returncode == 0
        if how == "upgrade":
            install("1.1" if attempt % 2 == 0 else "1.0")
        else:
            install("1.0", "--force-reinstall" if installer == "pip" else "--reinstall")
        status = _sitepatch(site, patches, "status")
        assert status.returncode != 0, (attempt, status.stdout)
        # The same version reinstalled: "lost"; another version: "version-changed" (the patch was for the old one).
        expected = "lost" if how == "force-reinstall" else "version-changed"
        assert f"{expected} " in status.stdout, (attempt, status.stdout)
        assert (site / "tinypkg/core.py").read_bytes() == SOURCE
        assert verify_pristine(site) == []
