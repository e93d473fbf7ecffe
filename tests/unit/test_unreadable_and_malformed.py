"""Malformed records and lock files, unreadable files, a failed wheel download: exit 2, no traceback (issue 19)."""

from __future__ import annotations

import builtins
import errno
import io
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fakesite import SOURCE, make_diff, write_patch
from sitepatch.parse import load_patches

Run = Callable[..., tuple[int, str, str]]
FIXED = SOURCE.replace(b"line 20\n", b"line 20 fixed\n")


def record(patches: Path, releases: object, *, evidence: object = ()) -> None:
    write_patch(patches, "0001-fix.diff", make_diff(SOURCE, FIXED, "demo/mod.py"))
    doc = {
        "schema_version": 1,
        "package": "demo",
        "generated": "2026-12-01T00:00:00Z",
        "variants": {p.name: p.sha256 for p in load_patches(patches)},
        "releases": releases,
        "evidence": list(evidence) if isinstance(evidence, tuple) else evidence,
    }
    (patches.parent / "coverage.json").write_text(json.dumps(doc))


GOOD_ROW = {"paired": {}, "group": 0, "verdicts": {"0001": {"status": "applies", "variant": "0001-fix.diff"}}}


@pytest.mark.parametrize(
    ("releases", "evidence", "named"),
    [
        pytest.param(
            {"constraints": GOOD_ROW}, (), "release key 'constraints' is not a version", id="key not a version"
        ),
        pytest.param({"1.0": [1, 2]}, (), "releases.1.0 is list", id="row a list"),
        pytest.param({"1.0": {**GOOD_ROW, "verdicts": ["0001"]}}, (), "releases.1.0.verdicts is list", id="verdicts"),
        pytest.param({"1.0": {**GOOD_ROW, "verdicts": {"0001": "applies"}}}, (), "verdicts.0001", id="cell a string"),
        pytest.param({"1.0": {**GOOD_ROW, "paired": {"x": 1}}}, (), "paired", id="paired version a number"),
        pytest.param({"1.0": {**GOOD_ROW, "pairings": {}}}, (), "pairings is not a list", id="pairings"),
        pytest.param({"1.0": GOOD_ROW}, ["x"], "evidence[0] is str", id="evidence entry a string"),
        pytest.param({"1.0": GOOD_ROW}, {"a": 1}, "evidence is dict", id="evidence an object"),
        pytest.param({"1.0": GOOD_ROW}, [{"release": 1, "patch": "0001"}], "evidence[0]: release", id="release type"),
        pytest.param({"1.0": GOOD_ROW}, [{"release": "x y", "patch": "0001"}], "not a version", id="release text"),
    ],
)
@pytest.mark.parametrize("command", [("constraints",), ("lock", "check"), ("check",)])
def test_a_malformed_coverage_record_is_a_clear_error(
    run: Run, patches: Path, releases: object, evidence: object, named: str, command: tuple[str, ...]
) -> None:
    record(patches, releases, evidence=evidence)
    if command[0] == "lock":
        (patches.parent / "versions.lock").write_text(json.dumps({"schema_version": 1, "pins": {}}))

    code, _, err = run(*command)

    assert code == 2, err
    assert "not a valid coverage record" in err
    assert named in err
    assert "rerun sweep --record" in err


def lock_with(version: str) -> str:
    pin = {"python": "3.11", "requirements": "pins/x.txt", "distributions": {"demo": version}}
    return json.dumps({"schema_version": 1, "pins": {"1.0": pin}})


@pytest.mark.parametrize("command", [("lock", "check"), ("sweep", "--offline", "-q")])
def test_a_bad_version_in_versions_lock_is_a_clear_error(
    run: Run, patches: Path, tmp_path: Path, command: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_patch(patches, "0001-fix.diff", make_diff(SOURCE, FIXED, "demo/mod.py"))
    (patches.parent / "versions.lock").write_text(lock_with("one point oh"))
    monkeypatch.setenv("SITEPATCH_CACHE_DIR", str(tmp_path / "cache"))

    code, _, err = run(*command, "--package", "demo") if command[0] == "sweep" else run(*command)

    assert code == 2, err
    assert "not a version: pins.1.0.distributions.demo: 'one point oh'" in err


def test_new_without_pip_or_network_says_where_it_looked(
    run: Run, site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-uv"))
    monkeypatch.setenv("PIP_CACHE_DIR", str(tmp_path / "empty-pip"))

    def no_pip(command: list[str], **_kwargs: object) -> None:
        raise subprocess.CalledProcessError(1, command, b"", b"/usr/bin/python: No module named pip\n")

    monkeypatch.setattr(subprocess, "run", no_pip)
    (site / "demo/mod.py").write_bytes(FIXED)

    code, _, err = run("new", "x", "--package", "demo")

    assert code == 2, err
    assert "cannot get the pristine content of demo/mod.py" in err
    assert "which failed (/usr/bin/python: No module named pip)" in err


def test_new_offline_download_failure_is_reported(
    run: Run, site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-uv"))
    monkeypatch.setenv("PIP_CACHE_DIR", str(tmp_path / "empty-pip"))

    def offline(command: list[str], **_kwargs: object) -> None:
        raise subprocess.CalledProcessError(1, command, b"", b"ERROR: No matching distribution found for demo==1.0\n")

    monkeypatch.setattr(subprocess, "run", offline)
    (site / "demo/mod.py").write_bytes(FIXED)

    code, _, err = run("new", "x", "--package", "demo")

    assert code == 2, err
    assert "No matching distribution found" in err


def deny(monkeypatch: pytest.MonkeyPatch, suffix: str) -> None:
    """Make opening any path ending in ``suffix`` fail with EACCES, as for a file without read permission.

    Root ignores permissions, so the condition cannot be made with chmod in a root container: the open is
    refused instead, exactly where the operating system would refuse it.
    """
    real = builtins.open

    def guarded(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, os.PathLike)) and os.fspath(file).endswith(suffix):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(file))
        return real(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)
    monkeypatch.setattr(io, "open", guarded)  # pathlib opens through io.open


READERS = {
    "demo/mod.py": ("check", "status", "revert", "apply"),
    "demo-1.0.dist-info/METADATA": ("check", "status", "revert", "apply"),
    "demo-1.0.dist-info/RECORD": ("check", "revert", "apply"),
    ".sitepatch/pristine/demo/mod.py": ("check", "revert", "apply"),
}
"""Each file an EACCES is simulated on, with the commands that read it."""


@pytest.mark.parametrize(
    ("denied", "command"), [pytest.param(f, c, id=f"{c} {f}") for f, commands in READERS.items() for c in commands]
)
def test_an_unreadable_file_is_named_and_exit_2(
    run: Run, site: Path, patches: Path, monkeypatch: pytest.MonkeyPatch, denied: str, command: str
) -> None:
    write_patch(patches, "0001-fix.diff", make_diff(SOURCE, FIXED, "demo/mod.py"))
    assert run("apply")[0] == 0
    deny(monkeypatch, denied)

    code, _, err = run(command)

    assert code == 2, err
    assert f"/{denied}: cannot be read (Permission denied)" in err
    assert "Traceback" not in err
