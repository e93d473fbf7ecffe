"""What ``status`` and the container guard import: start-up is most of their time (issue 11).

``status`` runs at every container start and as the health check. It must not import the diff parser
(unidiff), nor packaging's requirement and specifier parsers (dozens of regular expressions compiled at
import) nor ``packaging.utils`` (which imports ``packaging.tags``: platform, sysconfig, logging, ...). Since
the second round of issue 11 it imports none of ``packaging``, the planner, :mod:`argparse`, :mod:`pathlib`,
:mod:`json`, :mod:`re`, :mod:`typing`, :mod:`dataclasses` or :mod:`enum` either (each costs milliseconds; the
target is twice the interpreter's start-up). Measured with ``python -X importtime`` on the real
``apply_patches.py``, in a subprocess; what the bare interpreter imports in this environment (``-c pass``:
``site`` and ``.pth`` files) is not held against it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fakesite import SOURCE, make_diff, make_site, write_patch
from sitepatch.dist import Target

REPO = Path(__file__).resolve().parents[2]
HEAVY = frozenset(
    {
        "unidiff",
        "packaging.requirements",
        "packaging.specifiers",
        "packaging._parser",
        "packaging.markers",
        "packaging.utils",
        "packaging.tags",
        "sitepatch.parse",
    }
)
STATUS_FORBIDDEN = HEAVY | {
    "packaging",
    "packaging.version",
    "sitepatch.plan",
    "sitepatch.apply",
    "sitepatch.locate",
    "sitepatch.selection",
    "sitepatch.model",
    "sitepatch.dist",
    "argparse",
    "pathlib",
    "json",
    "re",
    "typing",
    "dataclasses",
    "inspect",
    "enum",
}
"""What a plain ``status`` command line must not import (beyond what ``python -c pass`` imports here)."""


def imported(stderr: str) -> set[str]:
    """The module names of ``-X importtime`` lines."""
    return {
        line.rsplit("|", 1)[1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and "[us]" not in line
    }


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SITEPATCH_", "PYTHONPROFILEIMPORTTIME"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


@pytest.fixture
def applied(site: Path, patches: Path) -> Path:
    from sitepatch.cli import main

    write_patch(
        patches, "0001-twenty.diff", make_diff(SOURCE, SOURCE.replace(b"line 20\n", b"line 2O\n"), "demo/mod.py")
    )
    assert main(["apply", "--site-packages", str(site), "--patches", str(patches)]) == 0
    return site


def run_sitepatch(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-X", "importtime", str(REPO / "apply_patches.py"), *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, env=environment())


@pytest.fixture(scope="module")
def bare() -> set[str]:
    """What the interpreter imports by itself in this environment (``site``, ``.pth`` files)."""
    command = [sys.executable, "-X", "importtime", "-c", "pass"]
    return imported(subprocess.run(command, capture_output=True, text=True, check=True, env=environment()).stderr)


@pytest.mark.parametrize("extra", [pytest.param((), id="text"), pytest.param(("--json",), id="json")])
def test_status_imports_neither_the_diff_parser_nor_packaging_requirement_parsing(
    applied: Path, extra: tuple[str, ...]
) -> None:
    done = run_sitepatch("status", "--site-packages", str(applied), *extra)
    assert done.returncode == 0, done.stdout + done.stderr
    modules = imported(done.stderr)
    assert "sitepatch.commands.status" in modules
    assert sorted(modules & HEAVY) == []


@pytest.mark.parametrize(
    ("extra", "allowed"),
    [
        pytest.param((), set(), id="text"),
        # The JSON output is written by json (its pure-Python encoder, for the indentation), which imports re.
        pytest.param(("--json",), {"json", "re", "enum"}, id="json"),
    ],
)
def test_a_plain_status_imports_no_parser_planner_or_heavy_standard_module(
    applied: Path, bare: set[str], extra: tuple[str, ...], allowed: set[str]
) -> None:
    done = run_sitepatch("status", "--site-packages", str(applied), *extra)
    assert done.returncode == 0, done.stdout + done.stderr
    modules = imported(done.stderr) - bare
    assert "sitepatch.commands.status" in modules
    assert sorted(modules & (STATUS_FORBIDDEN - allowed)) == []


def test_a_status_command_line_argparse_must_read_still_gets_its_answer(applied: Path) -> None:
    # An abbreviated option is not read by the quick path: argparse reads it, with the same result.
    done = run_sitepatch("status", "--site", str(applied))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "argparse" in imported(done.stderr)
    assert "everything recorded is in place" in done.stdout


def test_the_import_check_sees_what_a_planning_command_imports(applied: Path, patches: Path) -> None:
    # The same measurement on `check`, which parses the patches: it does see unidiff (no false pass above).
    done = run_sitepatch("check", "--site-packages", str(applied), "--patches", str(patches))
    assert done.returncode == 0, done.stdout + done.stderr
    assert {"unidiff", "sitepatch.parse"} <= imported(done.stderr)


@pytest.mark.skipif(shutil.which("sh") is None, reason="no POSIX sh")
def test_the_container_guard_imports_neither_the_diff_parser_nor_packaging_requirement_parsing(
    applied: Path, bare: set[str]
) -> None:
    env = environment()
    env.update(
        {
            "SITEPATCH_HOME": str(REPO),
            "SITEPATCH_PYTHON": sys.executable,
            "SITEPATCH_SITE_PACKAGES": str(applied),
            "PYTHONPROFILEIMPORTTIME": "1",
        }
    )
    done = subprocess.run(
        ["sh", str(REPO / "docker/entrypoint.sh"), "--check"], capture_output=True, text=True, check=False, env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "everything recorded is in place" in done.stdout
    modules = imported(done.stderr) - bare
    assert "sitepatch.commands.status" in modules
    assert sorted(modules & STATUS_FORBIDDEN) == []


def test_a_target_opened_for_some_distributions_reads_only_theirs(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", {"demo/mod.py": SOURCE})
    make_site(site, {"other/mod.py": b""}, name="other", version="2.0")
    (site / "other-2.0.dist-info/METADATA").write_text("Name: other\nVersion: not a version\n")
    full = Target.open(site)
    assert sorted(full.distributions) == ["demo"]
    assert full.problems == ("other-2.0.dist-info: METADATA has no valid Version ('not a version')",)
    some = Target.open(site, only=["Demo"])
    assert sorted(some.distributions) == ["demo"]
    assert some.problems == ()
    # A name no .dist-info directory carries: every distribution is read, as without `only`.
    assert Target.open(site, only=["demo", "missing"]).problems == full.problems


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(["status"], id="bare"),
        pytest.param(["status", "--site-packages", "/x/site"], id="site-packages"),
        pytest.param(["status", "--site-packages=/x/site", "--json"], id="equals and json"),
        pytest.param(["status", "--json", "--python", "/usr/bin/python3", "--patches", "p"], id="python, patches"),
        pytest.param(["status", "--lock-timeout", "2.5", "--site-packages", "s"], id="lock timeout"),
        pytest.param(["check", "--site-packages", "s", "--max-fuzz", "2", "--strict"], id="check"),
        pytest.param(["check", "--json", "--force", "--patches=p"], id="check json"),
        pytest.param(["apply"], id="apply"),
        pytest.param(["apply", "--dry-run", "--site-packages", "s", "--max-fuzz=0"], id="apply dry run"),
    ],
)
def test_a_plain_line_is_read_without_argparse_as_argparse_reads_it(line: list[str]) -> None:
    from sitepatch import cli

    quick = cli._quick_arguments(line, "patches")
    assert quick is not None
    full = cli._build_parser(Path("patches")).parse_args(line)
    if line[0] == "status":  # status takes its paths as strings
        assert {k: str(v) if isinstance(v, Path) else v for k, v in vars(full).items()} == vars(quick)
    else:
        assert vars(full) == vars(quick)


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(["status", "--site", "s"], id="abbreviated"),
        pytest.param(["status", "--site-packages", "a", "--site-packages", "b"], id="twice"),
        pytest.param(["status", "--site-packages", "a", "--python", "p"], id="exclusive"),
        pytest.param(["status", "--site-packages"], id="no value"),
        pytest.param(["status", "--site-packages", "-x"], id="value like an option"),
        pytest.param(["status", "--json=1"], id="switch with a value"),
        pytest.param(["status", "--lock-timeout", "nan"], id="bad timeout"),
        pytest.param(["status", "-h"], id="help"),
        pytest.param(["check", "--dry-run"], id="apply's option on check"),
        pytest.param(["check", "--max-fuzz", "x"], id="bad fuzz"),
        pytest.param(["list", "--site-packages", "s"], id="another command"),
    ],
)
def test_any_other_line_is_left_to_argparse(line: list[str]) -> None:
    from sitepatch import cli

    assert cli._quick_arguments(line, "patches") is None


def test_the_origin_check_imports_nothing_heavy(applied: Path, bare: set[str]) -> None:
    # With the target on this interpreter's sys.path, status finds each patched module's origin (issue 19 item
    # 6) with the path finder loaded at start: no importlib.machinery, importlib.util or warnings.
    command = [sys.executable, "-X", "importtime", str(REPO / "apply_patches.py"), "status", "--site-packages"]
    env = environment()
    env["PYTHONPATH"] = str(applied)
    done = subprocess.run([*command, str(applied)], capture_output=True, text=True, check=False, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    modules = imported(done.stderr) - bare
    assert "sitepatch.origins" in modules
    assert (
        sorted(modules & (STATUS_FORBIDDEN | {"importlib.machinery", "importlib.util", "warnings", "subprocess"})) == []
    )
