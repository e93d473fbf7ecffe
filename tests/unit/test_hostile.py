"""The hostile corpus (tests/data/bad/): every file is refused with its name and line, and nothing changes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from fakesite import SOURCE, make_site
from sitepatch.cli import main

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad"
CASES = [
    line.split("\t")
    for line in (CORPUS / "expected.tsv").read_text(encoding="utf-8").splitlines()
    if line and not line.startswith("#")
]


def tree_hash(root: Path) -> dict[str, str]:
    """Every entry under ``root`` with its content hash, mode and link target; sitepatch's lock file aside."""
    result = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel.endswith(".sitepatch/lock"):
            continue
        info = path.lstat()
        if path.is_symlink():
            result[rel] = f"link {os.readlink(path)}"
        elif path.is_dir():
            result[rel] = f"dir {oct(info.st_mode)}"
        else:
            result[rel] = f"{oct(info.st_mode)} {hashlib.sha256(path.read_bytes()).hexdigest()}"
    for rel in [k for k in result if k.endswith(".sitepatch")]:
        if not any(k.startswith(rel + "/") for k in result):
            del result[rel]  # the lock's directory may be created; it holds nothing else
    return result


@pytest.fixture
def world(tmp_path: Path) -> Path:
    """A target with ``demo`` 1.0 and ``other`` 1.0, plus links from inside ``demo`` to files outside it."""
    site = make_site(tmp_path / "site", {"demo/__init__.py": b"", "demo/mod.py": SOURCE})
    make_site(site, {"other/x.py": b"x = 1\n"}, name="other")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_bytes(SOURCE)
    (site / "demo/linked.py").symlink_to(outside / "secret.py")
    (site / "demo/outdir").symlink_to(outside, target_is_directory=True)
    return tmp_path


def test_the_corpus_has_at_least_fifty_cases_and_every_file_is_listed() -> None:
    assert len(CASES) >= 50
    assert sorted(name for name, *_ in CASES) == sorted(p.name for p in CORPUS.glob("*.diff"))


@pytest.mark.parametrize(("name", "line", "fragment"), [pytest.param(*c, id=c[0].removesuffix(".diff")) for c in CASES])
@pytest.mark.parametrize("command", ["apply", "check"])
def test_a_hostile_patch_is_refused_with_its_file_and_line_and_changes_nothing(
    world: Path, name: str, line: str, fragment: str, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    patches = world / "patches"
    patches.mkdir()
    (patches / name).write_bytes((CORPUS / name).read_bytes())
    before = tree_hash(world)
    code = main([command, "--site-packages", str(world / "site"), "--patches", str(patches)])
    out, err = capsys.readouterr()
    assert code == 1, out + err
    shown = out + err
    where = f"{patches / name}:{line}: " if line != "0" else f"{patches / name}: "
    assert where in shown, shown
    assert fragment in shown, shown
    assert tree_hash(world) == before
    assert not (world / "site/.sitepatch/manifest.json").exists()
