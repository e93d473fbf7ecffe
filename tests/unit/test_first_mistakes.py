"""A new user's first mistakes, and the CLI's answers to them (issue 19, items 7, 12, 15-20, 22)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from fakesite import SOURCE, make_diff, make_site, snapshot, write_patch
from sitepatch.cli import main

Run = Callable[..., tuple[int, str, str]]
REPO = Path(__file__).resolve().parents[2]
FIXED = SOURCE.replace(b"line 20\n", b"line 20 fixed\n")


def fake_python(tmp_path: Path, stdout: str) -> Path:
    """An executable that prints ``stdout`` whatever it is asked, as a broken or foreign interpreter would."""
    path = tmp_path / "python"
    path.write_text(f"#!/bin/sh\ncat <<'EOF'\n{stdout}\nEOF\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_apply_strict_on_an_uncovered_install_writes_nothing(run: Run, site: Path, patches: Path) -> None:
    write_patch(patches, "0001-fix.diff", make_diff(SOURCE, FIXED, "demo/mod.py"), versions=">=1.0")
    other = SOURCE.replace(b"line 30\n", b"line 30 fixed\n")
    write_patch(patches, "0002-old.diff", make_diff(SOURCE, other, "demo/mod.py"), versions="<1.0")
    before = snapshot(site)

    code, out, _ = run("apply", "--strict")

    assert code == 1
    assert "nothing written" in out
    assert snapshot(site) == before
    assert not (site / ".sitepatch").exists()


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param("[1, 2]", id="numbers"),
        pytest.param("null", id="null"),
        pytest.param("5", id="a number"),
        pytest.param('"ab"', id="a two-letter string"),
        pytest.param('["a", "b"]', id="relative paths"),
    ],
)
def test_an_interpreter_answering_the_wrong_shape_is_a_clear_error(run: Run, tmp_path: Path, answer: str) -> None:
    python = fake_python(tmp_path, answer)

    code, _, err = run("status", "--python", str(python))

    assert code == 2
    assert err.startswith(f"error: {python}: asked for its site-packages")
    assert "Traceback" not in err


def test_a_venv_directory_as_python_is_named_with_its_interpreter(run: Run, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")

    code, _, err = run("check", "--python", str(venv))

    assert code == 2
    assert "names a directory, not an interpreter" in err
    assert str(venv / "bin" / "python") in err


def test_a_site_without_any_of_the_sets_packages_is_an_environment_error(tmp_path: Path, patches: Path) -> None:
    other = make_site(tmp_path / "other", {"other/__init__.py": b""}, name="other")
    write_patch(patches, "0001-fix.diff", make_diff(SOURCE, FIXED, "demo/mod.py"))

    code = main(["apply", "--site-packages", str(other), "--patches", str(patches)])

    assert code == 2
    assert not (other / ".sitepatch").exists()


def test_a_missing_runtime_dependency_is_one_line_and_exit_2(tmp_path: Path) -> None:
    program = (
        "import runpy, sys; sys.modules['unidiff'] = None; sys.modules['packaging'] = None;"
        f"sys.argv = ['apply_patches.py', 'check', '--site-packages', {str(tmp_path)!r}];"
        f"runpy.run_path({str(REPO / 'apply_patches.py')!r}, run_name='__main__')"
    )

    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=False)

    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1
    assert "lacks unidiff, packaging" in done.stderr
    assert "-m pip install unidiff packaging" in done.stderr


def test_status_on_a_never_patched_install_says_so(run: Run) -> None:
    code, out, _ = run("status")

    assert code == 3
    assert "NOT patched: no .sitepatch directory" in out
    assert "0 of 0" not in out


def test_status_after_revert_says_not_patched(run: Run, patches: Path) -> None:
    write_patch(patches, "0001-fix.diff", make_diff(SOURCE, FIXED, "demo/mod.py"))
    assert run("apply")[0] == 0
    assert run("revert")[0] == 0

    code, out, _ = run("status")

    assert code == 3
    assert "NOT patched" in out
    assert "reverted" in out


def add_variants(patches: Path, count: int) -> None:
    write_patch(patches, "0001-fix.diff", make_diff(SOURCE, FIXED, "demo/mod.py"), versions=">=1.0")
    for i in range(count):
        write_patch(
            patches, f"0001-fix+v{i}.diff", make_diff(SOURCE, FIXED, "demo/mod.py"), versions=f"=={0.1 + i / 100:.2f}"
        )


def test_variants_outside_versions_are_counted_not_listed(run: Run, patches: Path) -> None:
    add_variants(patches, 5)

    code, out, _ = run("apply")

    assert code == 0
    assert "skipped: 5 variant(s) outside Versions" in out
    assert sum("is outside Versions" in line for line in out.splitlines()) == 0


def test_verbose_lists_variants_outside_versions(run: Run, patches: Path) -> None:
    add_variants(patches, 5)

    code, out, _ = run("check", "-v")

    assert code == 0
    assert sum("is outside Versions" in line for line in out.splitlines()) == 5


def test_check_says_would_apply(run: Run, patches: Path) -> None:
    write_patch(patches, "0001-fix.diff", make_diff(SOURCE, FIXED, "demo/mod.py"))

    _, out, _ = run("check")
    _, as_json, _ = run("check", "--json")

    assert "would apply  0001-fix" in out
    assert json.loads(as_json)["patches"][0]["status"] == "applied"


@pytest.mark.parametrize("command", ["sweep", "constraints", "evidence"])
def test_commands_without_a_target_do_not_offer_to_patch_one(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])

    out = capsys.readouterr().out
    assert "patch this" not in out
    assert "--site-packages" not in out
    assert "--python PATH" not in out


def test_status_without_a_target_asks_no_second_interpreter(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sysconfig

    def no_subprocess(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("status started another interpreter")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    monkeypatch.setattr(sysconfig, "get_path", lambda _name: os.fspath(site))

    code = main(["status"])

    assert code == 3
    assert f"target: {os.path.realpath(site)}" in capsys.readouterr().out
