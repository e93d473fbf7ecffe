"""Issue 19, items 3 and 4: nothing from an index or a sweep document names a path outside the cache or work dir.

Every test here failed on 85bf5bf: a wheel file name such as ``../../x/evil-1.0-py3-none-any.whl`` from the
index was written outside the cache with the server's bytes, and a sweep document's ``version`` made
``evidence`` remove (and then fill) a directory outside its work directory.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from fakeindex import FakeIndex, make_wheel, serve

from fakesite import SOURCE, make_diff, write_patch
from sitepatch import remote
from sitepatch.cli import main
from sitepatch.errors import TargetError
from sitepatch.evidence import EvidenceTask, plan_tasks, run_tasks
from sitepatch.parse import load_patches

FIXED = SOURCE.replace(b"line 20\n", b"line 20 fixed\n")


class HostileIndex(FakeIndex):
    """Lists each wheel under ``listed`` as its file name, while its URL still serves the real wheel."""

    listed: str = ""

    def page(self, name: str) -> bytes:
        doc = json.loads(super().page(name))
        for files in doc["releases"].values():
            for entry in files:
                entry["filename"] = self.listed.replace("{real}", entry["filename"])
        return json.dumps(doc).encode()


@pytest.fixture
def hostile() -> Iterator[HostileIndex]:
    index = HostileIndex(ranges=False)  # the server sends wheels whole: the sweep keeps them in its cache
    index.add("demo", "1.0", make_wheel("demo", "1.0", {"demo/__init__.py": b"", "demo/mod.py": SOURCE}))
    with serve(index):
        yield index


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    "listed",
    [
        pytest.param("../../x/evil-1.0-py3-none-any.whl", id="relative path"),
        pytest.param("{tmp}/abs/evil-1.0-py3-none-any.whl", id="absolute path"),
        pytest.param("..\\..\\evil-1.0-py3-none-any.whl", id="backslashes"),
        pytest.param("evil-1.whl", id="not a wheel name"),
        pytest.param(".hidden-1.0-py3-none-any.whl", id="dot file"),
    ],
)
def test_a_wheel_file_name_that_is_not_a_plain_basename_is_refused_and_nothing_is_written_outside_the_cache(
    hostile: HostileIndex, tmp_path: Path, capsys: pytest.CaptureFixture[str], listed: str
) -> None:
    hostile.listed = listed.replace("{tmp}", str(tmp_path))
    patches = tmp_path / "patches"
    write_patch(patches, "0001-fix.diff", make_diff(SOURCE, FIXED, "demo/mod.py"), versions=">=1.0")
    before = files_under(tmp_path)
    argv = ["sweep", "--json", "--patches", str(patches), "--index", hostile.url, "--package", "demo"]

    code = main([*argv, "--cache-dir", str(tmp_path / "cache"), "--releases", "1.0"])

    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert "Traceback" not in err
    message = json.loads(out)["error"]
    assert f"{hostile.url}/demo/json" in message
    assert repr(hostile.listed) in message
    written = {p for p in files_under(tmp_path) - before if not p.startswith("cache/")}
    assert written == set()
    assert not [p for p in hostile.log if p[0].startswith("/files/")]  # the wheel was never even asked for


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("demo-1.0-py3-none-any.whl", True),
        ("litellm-1.96.2-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", True),
        ("demo-1.0-1build-py3-none-any.whl", True),
        ("demo/../demo-1.0-py3-none-any.whl", False),
        ("/demo-1.0-py3-none-any.whl", False),
        ("C:demo-1.0-py3-none-any.whl", False),
        ("demo-1.0-py3-none-any.whl\n", False),
        ("", False),
        ("..", False),
    ],
)
def test_only_plain_wheel_file_names_pass(name: str, ok: bool) -> None:
    assert (remote.wheel_filename_problem(name) is None) is ok


# -- 4. evidence: a sweep document's version is a path inside the work dir, always -----------------------


def sweep_document(version: str, paired: dict[str, str] | None = None) -> dict[str, object]:
    row = {
        "version": version,
        "upload_time": "2026-01-01T10:00:00Z",
        "paired": paired or {},
        "group": 1,
        "verdicts": {"0001": {"status": "applies", "variant": "0001-fix.diff"}},
    }
    return {"releases": [row], "ranges": {}}


class Runner:
    """Stands in for uv, pytest and apply_patches.py; only records the commands."""

    def __init__(self) -> None:
        self.commands: list[list[str]] = []

    def __call__(self, command: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        self.commands.append(list(command))
        return subprocess.CompletedProcess(list(command), 0, "", "")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    write_patch(root / "patches", "0001-fix.diff", make_diff(SOURCE, FIXED, "demo/mod.py"), versions=">=1.0")
    (root / "tests" / "regression").mkdir(parents=True)
    (root / "tests" / "regression" / "test_0001_fix.py").write_text("def test_a(): pass\n")
    return root


@pytest.fixture
def precious(tmp_path: Path) -> Path:
    directory = tmp_path / "precious"
    directory.mkdir()
    (directory / "keep.txt").write_bytes(b"precious\n")
    return directory


BAD_VERSIONS = [
    pytest.param("{precious}", id="absolute path"),
    pytest.param("../../precious", id="dot-dot path"),
    pytest.param("1.0/../../../precious", id="version then dot-dot"),
    pytest.param(" 1.0", id="not as the sweep writes it"),
    pytest.param("", id="empty"),
]


@pytest.mark.parametrize("version", BAD_VERSIONS)
def test_a_sweep_version_that_is_a_path_is_refused_by_evidence_and_nothing_is_removed(
    repo: Path,
    tmp_path: Path,
    precious: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    version: str,
) -> None:
    ran = Runner()
    monkeypatch.setattr(subprocess, "run", lambda command, **_: ran(command, tmp_path))  # never uv, never pytest
    version = version.replace("{precious}", str(precious))
    sweep = tmp_path / "sweep.json"
    sweep.write_text(json.dumps(sweep_document(version)))
    argv = ["evidence", "--json", "--patches", str(repo / "patches"), "--sweep", str(sweep)]

    code = main([*argv, "--work-dir", str(tmp_path / "work"), "--record", str(tmp_path / "coverage.json")])

    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert "Traceback" not in err
    message = json.loads(out)["error"]
    assert str(sweep) in message
    assert repr(version) in message
    assert "PEP 440" in message
    assert (precious / "keep.txt").read_bytes() == b"precious\n"
    assert not (tmp_path / "work").exists()
    assert ran.commands == []


def test_a_paired_version_that_is_not_a_version_is_refused(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"paired\.demo-extra"):
        plan_tasks(sweep_document("1.0", {"demo-extra": "0.3 --index-url http://evil"}))


def test_a_range_end_without_its_release_row_is_refused() -> None:
    document = sweep_document("1.0")
    document["ranges"] = {"0001": [{"status": "applies", "first": "1.0", "last": "../../precious"}]}

    with pytest.raises(ValueError, match=r"ranges\.0001\[0\]: '\.\./\.\./precious' is not the version"):
        plan_tasks(document)


@pytest.mark.parametrize("version", BAD_VERSIONS)
def test_a_task_built_by_hand_cannot_reach_outside_the_work_dir(
    repo: Path, tmp_path: Path, precious: Path, version: str
) -> None:
    task = EvidenceTask(
        release=version.replace("{precious}", str(precious)),
        upload_time="",
        paired=(),
        patches=(("0001", "0001-fix.diff", "applies"),),
        why="test",
    )
    runner = Runner()

    with pytest.raises(TargetError, match="PEP 440"):
        run_tasks([task], repo=repo, patches=load_patches(repo / "patches"), work=tmp_path / "work", runner=runner)

    assert runner.commands == []
    assert (precious / "keep.txt").read_bytes() == b"precious\n"
