"""The guard checks what the interpreter would run, not only the files (issue 19 item 6).

``status`` passed while the interpreter ran unpatched code: stale bytecode in ``__pycache__`` that the
interpreter trusts (an unchecked-hash ``.pyc`` is never revalidated; a timestamp one only by the source's mtime
and size), or an unpatched copy of the package earlier on ``sys.path`` (``PYTHONPATH``). Each case runs the
real ``apply_patches.py status`` (and the container guard) in a subprocess with the environment under test.
"""

from __future__ import annotations

import json
import os
import py_compile
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fakesite import make_diff, make_site, write_patch
from sitepatch.cli import main

REPO = Path(__file__).resolve().parents[2]
SOURCE = b"".join(f"value_{i} = {i}\n".encode() for i in range(1, 41))
"""The pristine module: valid Python, to byte-compile."""
PATCHED = SOURCE.replace(b"value_20 = 20\n", b"value_20 = 21\n")
"""The patched module: the same size as the pristine one (a timestamp .pyc checks mtime and size only)."""


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SITEPATCH_") and k != "PYTHONPATH"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def status(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(REPO / "apply_patches.py"), "status", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, env=env or environment())


def apply(site: Path, patches: Path, *target: str) -> None:
    write_patch(patches, "0001-fix.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))
    assert main(["apply", *(target or ("--site-packages", str(site))), "--patches", str(patches)]) == 0
    assert (site / "demo/mod.py").read_bytes() == PATCHED


def pristine_pyc(site: Path, tmp_path: Path, mode: py_compile.PycInvalidationMode) -> Path:
    """Byte-compile the pristine module into the patched module's ``__pycache__`` (as a stale layer would)."""
    source = tmp_path / "pristine" / "mod.py"
    source.parent.mkdir(exist_ok=True)
    source.write_bytes(SOURCE)
    patched = site / "demo/mod.py"
    stat = patched.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the timestamp header then matches the patched file
    pyc = site / "demo/__pycache__" / f"mod.{sys.implementation.cache_tag}.pyc"
    py_compile.compile(str(source), cfile=str(pyc), doraise=True, invalidation_mode=mode)
    return pyc


@pytest.fixture
def patched(tmp_path: Path, patches: Path) -> Path:
    site = make_site(tmp_path / "site", {"demo/__init__.py": b"", "demo/mod.py": SOURCE})
    apply(site, patches)
    return site


# --- (a) stale bytecode ------------------------------------------------------------------------------------


def test_an_unchecked_hash_pyc_of_the_pristine_source_fails_status(patched: Path, tmp_path: Path) -> None:
    pyc = pristine_pyc(patched, tmp_path, py_compile.PycInvalidationMode.UNCHECKED_HASH)

    done = status("--site-packages", str(patched))

    assert done.returncode == 1, done.stdout + done.stderr
    assert f"demo/mod.py: stale bytecode {pyc}: an unchecked-hash (never revalidated) .pyc" in done.stdout
    assert f"remove it (rm {pyc})" in done.stdout
    assert "NOT everything recorded is in place" in done.stdout
    document = json.loads(status("--site-packages", str(patched), "--json").stdout)
    assert document["ok"] is False
    assert [p for p in document["problems"] if str(pyc) in p]


def test_a_checked_hash_pyc_of_the_pristine_source_fails_status(patched: Path, tmp_path: Path) -> None:
    pyc = pristine_pyc(patched, tmp_path, py_compile.PycInvalidationMode.CHECKED_HASH)

    done = status("--site-packages", str(patched))

    assert done.returncode == 1
    assert f"stale bytecode {pyc}: a checked-hash .pyc compiled from other source" in done.stdout


def test_a_timestamp_pyc_of_the_pristine_source_whose_header_matches_fails_status(
    patched: Path, tmp_path: Path
) -> None:
    pyc = pristine_pyc(patched, tmp_path, py_compile.PycInvalidationMode.TIMESTAMP)
    source = (patched / "demo/mod.py").stat()
    os.utime(pyc, ns=(source.st_mtime_ns - 10**9, source.st_mtime_ns - 10**9))  # written before the patch

    done = status("--site-packages", str(patched))

    assert done.returncode == 1
    assert f"stale bytecode {pyc}: a timestamp .pyc whose recorded mtime and size match" in done.stdout


@pytest.mark.parametrize("mode", list(py_compile.PycInvalidationMode), ids=lambda m: m.name.lower())
def test_bytecode_of_the_patched_source_passes(patched: Path, mode: py_compile.PycInvalidationMode) -> None:
    py_compile.compile(str(patched / "demo/mod.py"), doraise=True, invalidation_mode=mode)

    done = status("--site-packages", str(patched))

    assert done.returncode == 0, done.stdout + done.stderr
    assert "stale bytecode" not in done.stdout


def test_a_timestamp_pyc_of_other_mtime_is_recompiled_by_the_interpreter_and_passes(
    patched: Path, tmp_path: Path
) -> None:
    pyc = pristine_pyc(patched, tmp_path, py_compile.PycInvalidationMode.TIMESTAMP)
    source = patched / "demo/mod.py"
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5 * 10**9))

    done = status("--site-packages", str(patched))

    assert pyc.exists()
    assert done.returncode == 0, done.stdout + done.stderr


# --- (b) an unpatched copy earlier on sys.path -------------------------------------------------------------


@pytest.fixture
def shadow(tmp_path: Path) -> Path:
    """A source checkout holding an unpatched copy of the package (the official image's /app)."""
    root = tmp_path / "app"
    (root / "demo").mkdir(parents=True)
    (root / "demo/__init__.py").write_bytes(b"")
    (root / "demo/mod.py").write_bytes(SOURCE)
    return root


def test_an_unpatched_copy_earlier_on_pythonpath_fails_status(patched: Path, shadow: Path) -> None:
    env = environment(PYTHONPATH=os.pathsep.join([str(shadow), str(patched)]))

    done = status("--site-packages", str(patched), env=env)

    assert done.returncode == 1, done.stdout + done.stderr
    assert f"demo: {sys.executable} would import the package from {shadow / 'demo/__init__.py'}" in done.stdout
    assert f"take {shadow} out of PYTHONPATH" in done.stdout


def test_the_patched_copy_first_on_pythonpath_passes(patched: Path, shadow: Path) -> None:
    env = environment(PYTHONPATH=os.pathsep.join([str(patched), str(shadow)]))

    done = status("--site-packages", str(patched), env=env)

    assert done.returncode == 0, done.stdout + done.stderr


def test_a_module_that_wins_beside_the_patched_file_fails_status(patched: Path) -> None:
    # A package directory of the same name is found before the module file by the path finder.
    (patched / "demo/mod").mkdir()
    (patched / "demo/mod/__init__.py").write_bytes(SOURCE)
    env = environment(PYTHONPATH=str(patched))

    done = status("--site-packages", str(patched), env=env)

    assert done.returncode == 1
    assert f"demo.mod: {sys.executable} would import {patched / 'demo/mod/__init__.py'}" in done.stdout


@pytest.fixture
def venv(tmp_path: Path, patches: Path) -> tuple[Path, Path]:
    """A real interpreter (a venv without pip) whose site-packages holds the patched fake distribution."""
    root = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    asked = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    site = make_site(Path(asked.stdout.strip()), {"demo/__init__.py": b"", "demo/mod.py": SOURCE})
    apply(site, patches, "--python", str(python))
    return python, site


@pytest.mark.skipif(sys.platform == "win32", reason="bin/python")
def test_status_with_python_asks_that_interpreter_for_its_sys_path(venv: tuple[Path, Path], shadow: Path) -> None:
    python, _ = venv
    assert status("--python", str(python)).returncode == 0

    done = status("--python", str(python), env=environment(PYTHONPATH=str(shadow)))

    assert done.returncode == 1, done.stdout + done.stderr
    assert f"demo: {python} would import the package from {shadow / 'demo/__init__.py'}" in done.stdout


def test_python_answering_something_else_than_a_path_list_is_an_environment_error(tmp_path: Path) -> None:
    from sitepatch.errors import TargetError
    from sitepatch.origins import interpreter_path

    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho '[1, 2]'\n")
    fake.chmod(0o755)
    with pytest.raises(TargetError, match="not a list of paths"):
        interpreter_path(str(fake))


# --- the container guard passes the environment through ----------------------------------------------------


@pytest.mark.skipif(shutil.which("sh") is None, reason="no POSIX sh")
@pytest.mark.parametrize(
    "first", [pytest.param(True, id="unpatched copy first"), pytest.param(False, id="patched first")]
)
def test_the_container_guard_sees_the_commands_pythonpath(patched: Path, shadow: Path, first: bool) -> None:
    order = [str(shadow), str(patched)] if first else [str(patched), str(shadow)]
    env = environment(
        PYTHONPATH=os.pathsep.join(order),
        SITEPATCH_HOME=str(REPO),
        SITEPATCH_PYTHON=sys.executable,
        SITEPATCH_SITE_PACKAGES=str(patched),
    )
    command = [sys.executable, "-c", "print('started')"]

    done = subprocess.run(
        ["sh", str(REPO / "docker/entrypoint.sh"), *command], capture_output=True, text=True, check=False, env=env
    )

    if first:
        assert done.returncode == 1
        assert "started" not in done.stdout
        assert f"would import the package from {shadow / 'demo/__init__.py'}" in done.stderr
    else:
        assert done.returncode == 0, done.stderr
        assert "started" in done.stdout


def test_a_patched_module_in_a_nested_namespace_package_is_found_without_importing_it(tmp_path: Path) -> None:
    # litellm/llms is a namespace package: PathFinder.find_spec needs its parent imported (KeyError otherwise).
    from sitepatch.origins import find, origin_problems

    site = make_site(tmp_path / "site", {"demo/__init__.py": b"", "demo/ns/deep/mod.py": SOURCE})
    shadow = make_site(tmp_path / "app", {"demo/__init__.py": b"", "demo/ns/deep/mod.py": SOURCE}, name="copy")

    assert find("demo.ns", [str(site / "demo")]) == (None, [str(site / "demo/ns")])
    assert origin_problems(["demo/ns/deep/mod.py"], str(site), [str(site), str(shadow)]) == []
    (problem,) = origin_problems(["demo/ns/deep/mod.py"], str(site), [str(shadow), str(site)], who="python")
    assert problem.startswith(f"demo: python would import the package from {shadow / 'demo/__init__.py'}")
    assert "demo" not in sys.modules
