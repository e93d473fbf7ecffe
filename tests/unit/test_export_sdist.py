"""Export against LiteLLM's real repository layout: a git repository built from the sdist of a pinned version.

Runs in the ``export_upstream`` nox session, which installs and patches the pin, downloads its sdist (the
sdist has the upstream layout: ``litellm/``, ``enterprise/``) and points the environment variables below at
them. Skipped elsewhere: the unit suite never uses the network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SDIST = os.environ.get("SITEPATCH_SDIST")
SITE = os.environ.get("SITEPATCH_SITE")

pytestmark = pytest.mark.skipif(
    not (SDIST and SITE and shutil.which("git")), reason="needs the export_upstream session"
)


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=sitepatch", "-c", "user.email=ci@sitepatch.invalid", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert SDIST is not None
    root = tmp_path_factory.mktemp("upstream")
    with tarfile.open(SDIST) as archive:
        archive.extractall(root, filter="data")
    (repo,) = [p for p in root.iterdir() if p.is_dir()]
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "sdist", cwd=repo)
    version = repo.name.rsplit("-", 1)[1]
    git("tag", f"v{version}", cwd=repo)
    return repo


def exportable(*, alone: bool) -> list[str]:
    """The litellm patches applied to the session's install (the sdist has litellm's own layout).

    :param alone: only those whose files no other applied patch touches, so that the patched site-packages
        file is the result of that one patch.
    """
    import json

    assert SITE is not None
    manifest = json.loads((Path(SITE) / ".sitepatch/manifest.json").read_text())
    names = [p["name"] for p in manifest["patches"] if p["package"] == "litellm" and p["status"] == "applied"]
    if not alone:
        return names
    owners = {f["path"]: f["patches"] for f in manifest["files"]}
    return [
        n
        for n in names
        if all(owners[f["path"]] == [n] for p in manifest["patches"] if p["name"] == n for f in p["files"])
    ]


def test_git_am_of_every_export_in_order_gives_the_patched_site_packages(upstream: Path, tmp_path: Path) -> None:
    assert SITE is not None
    names = exportable(alone=False)
    files = []
    for name in names:
        done = subprocess.run(
            [sys.executable, str(REPO / "apply_patches.py"), "export", name, "--output", str(tmp_path)],
            capture_output=True,
            text=True,
            check=True,
        )
        assert "nothing is pushed" in done.stdout
        files.append(tmp_path / (name.removesuffix(".diff") + ".patch"))
    version = upstream.name.rsplit("-", 1)[1]
    git("checkout", "-q", "-b", "all-patches", f"v{version}", cwd=upstream)
    try:
        git("am", *map(str, files), cwd=upstream)
        from sitepatch.parse import parse_patch

        for name in names:
            patch = parse_patch((REPO / "patches" / name).read_bytes(), path=REPO / "patches" / name)
            for fp in patch.files:
                assert (upstream / fp.path).read_bytes() == (Path(SITE) / fp.path).read_bytes(), fp.path
    finally:
        git("checkout", "-q", "main", cwd=upstream)


@pytest.mark.parametrize("name", exportable(alone=True) if SITE else [])
def test_git_am_of_the_export_gives_the_patched_site_packages_file(upstream: Path, name: str, tmp_path: Path) -> None:
    assert SITE is not None
    out = tmp_path / "export"
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "apply_patches.py"),
            "export",
            name,
            "--output",
            str(out),
            "--repo",
            str(upstream),
            "--tag",
            f"v{upstream.name.rsplit('-', 1)[1]}",
            "--execute",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
        # git am commits; CI machines have no git identity configured.
        env={**os.environ, "GIT_COMMITTER_NAME": "sitepatch", "GIT_COMMITTER_EMAIL": "ci@sitepatch.invalid"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    try:
        from sitepatch.parse import parse_patch

        patch = parse_patch((REPO / "patches" / name).read_bytes(), path=REPO / "patches" / name)
        for fp in patch.files:
            assert (upstream / fp.path).read_bytes() == (Path(SITE) / fp.path).read_bytes(), fp.path
    finally:
        git("checkout", "-q", "main", cwd=upstream)
