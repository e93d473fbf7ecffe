"""The patch lifecycle: new, refresh, import, export, upstream-status (fake installs, no network)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from fakesite import SOURCE, make_diff, make_site, snapshot, write_patch
from sitepatch.dist import Target
from sitepatch.wheels import PristineFinder

Run = Callable[..., tuple[int, str, str]]
PATCHED = SOURCE.replace(b"line 20\n", b"line twenty\n")
GIT = shutil.which("git")


@pytest.fixture
def uv_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A uv cache holding the unpacked wheel of demo 1.0 (as uv's archive-v0 does)."""
    cache = tmp_path / "uv-cache"
    make_site(cache / "archive-v0" / "k3y", {"demo/__init__.py": b"", "demo/mod.py": SOURCE})
    monkeypatch.setenv("UV_CACHE_DIR", str(cache))
    monkeypatch.setenv("PIP_CACHE_DIR", str(tmp_path / "no-pip-cache"))
    return cache


def test_new_writes_a_patch_from_an_edited_install_and_records_it(
    run: Run, site: Path, patches: Path, uv_cache: Path
) -> None:
    (site / "demo/mod.py").write_bytes(PATCHED)
    code, out, err = run("new", "twenty-fix", "--package", "demo", "--subject", "Say twenty", "--offline")
    assert code == 0, err
    assert "wrote" in out
    text = (patches / "0001-twenty-fix.diff").read_text()
    assert text.startswith("Subject: Say twenty\nPackage: demo\nVersions: >=1.0,<1.1\n")
    assert "-line 20\n+line twenty\n" in text
    assert run("status")[0] == 0
    code, out, _ = run()
    assert (code, "already-applied  0001-twenty-fix.diff" in out) == (0, True)
    assert run("revert")[0] == 0
    assert (site / "demo/mod.py").read_bytes() == SOURCE
    assert run()[0] == 0
    assert (site / "demo/mod.py").read_bytes() == PATCHED


def test_new_diffs_against_what_the_patch_set_already_made(run: Run, site: Path, patches: Path, uv_cache: Path) -> None:
    write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))
    assert run()[0] == 0
    (site / "demo/mod.py").write_bytes(PATCHED.replace(b"line 30\n", b"line thirty\n"))
    code, _, err = run("new", "thirty", "--package", "demo", "--offline")
    assert code == 0, err
    text = (patches / "0002-thirty.diff").read_text()
    assert "+line thirty" in text
    assert "twenty" not in text.split("\n\n", 1)[1].replace(" line twenty", "")  # only as context, never as a change
    assert run("status")[0] == 0


def test_new_refuses_when_no_pristine_copy_can_be_had(
    run: Run, site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-uv"))
    monkeypatch.setenv("PIP_CACHE_DIR", str(tmp_path / "empty-pip"))
    (site / "demo/mod.py").write_bytes(PATCHED)
    code, _, err = run("new", "x", "--package", "demo", "--offline")
    assert code == 2
    assert "cannot get the pristine content of demo/mod.py" in err
    assert "uv cache" in err
    assert "reinstall demo==1.0" in err


def test_new_refuses_when_nothing_was_edited(run: Run, uv_cache: Path) -> None:
    code, _, err = run("new", "x", "--package", "demo", "--offline")
    assert code == 2
    assert "differs from its RECORD" in err


def test_pristine_files_come_from_pip_cache_or_a_download(site: Path, tmp_path: Path) -> None:
    import zipfile

    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    wheelsrc = make_site(tmp_path / "wheelsrc", {"demo/__init__.py": b"", "demo/mod.py": SOURCE})
    with zipfile.ZipFile(wheel, "w") as archive:
        for path in wheelsrc.rglob("*"):
            if path.is_file():
                archive.write(path, path.relative_to(wheelsrc).as_posix())
    dist = Target.open(site).get("demo")
    assert dist is not None
    pip_cache = tmp_path / "pip" / "http-v2" / "a" / "b"
    pip_cache.mkdir(parents=True)
    shutil.copy(wheel, pip_cache / "0123456789abcdef.body")
    finder = PristineFinder(dist, uv_cache=tmp_path / "none", pip_cache=tmp_path / "pip")
    assert finder.find(["demo/mod.py"]) == ({"demo/mod.py": SOURCE}, [])

    def download(name: str, version: str, directory: Path) -> list[Path]:
        assert (name, version) == ("demo", "1.0")
        return [Path(shutil.copy(wheel, directory))]

    finder = PristineFinder(dist, uv_cache=tmp_path / "none", pip_cache=tmp_path / "none", downloader=download)
    assert finder.find(["demo/mod.py"]) == ({"demo/mod.py": SOURCE}, [])
    # A wheel whose file does not match RECORD is never taken as pristine.
    (wheelsrc / "demo/mod.py").write_bytes(b"tampered\n")
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.write(wheelsrc / "demo/mod.py", "demo/mod.py")
    finder = PristineFinder(dist, uv_cache=tmp_path / "none", pip_cache=tmp_path / "none", downloader=download)
    assert finder.find(["demo/mod.py"]) == ({}, ["demo/mod.py"])


def newer_site(tmp_path: Path, data: bytes, version: str = "1.1") -> Path:
    return make_site(tmp_path / f"site-{version}", {"demo/__init__.py": b"", "demo/mod.py": data}, version=version)


SHIFTED = b"# a new header line\n# and another\n" + SOURCE


def test_refresh_writes_a_new_variant_for_a_version_where_the_patch_moved(
    run: Run, patches: Path, tmp_path: Path
) -> None:
    old = write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"), versions=">=1.0,<1.1")
    before = old.read_bytes()
    site = newer_site(tmp_path, SHIFTED)
    code, out, err = run("refresh", "0001", "--site-packages", str(site))
    assert code == 0, out + err
    assert "new variant 0001-twenty+1.1.diff for >=1.1;" in out  # no invented upper bound
    assert old.read_bytes() == before  # the old pins keep their patch byte for byte
    variant = (patches / "0001-twenty+1.1.diff").read_text()
    assert "Versions: >=1.1\n" in variant
    assert "@@ -19,7 +19,7 @@" in variant
    code, out, _ = run("--site-packages", str(site), "--json")
    doc = json.loads(out)
    assert code == 0
    hunk = next(p for p in doc["patches"] if p["status"] == "applied")["files"][0]["hunks"][0]
    assert (hunk["offset"], hunk["fuzz"]) == (0, 0)


def test_refresh_narrows_the_old_range_when_it_held_the_installed_version(
    run: Run, patches: Path, tmp_path: Path
) -> None:
    old = write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"), versions=">=1.0,<2")
    site = newer_site(tmp_path, SHIFTED)
    code, _, _ = run("refresh", "0001-twenty.diff", "--site-packages", str(site))
    assert code == 0
    assert "Versions: >=1.0,<1.1\n" in old.read_text()
    assert "Versions: >=1.1,<2\n" in (patches / "0001-twenty+1.1.diff").read_text()
    assert run("lock", "check", "--lockfile", str(tmp_path / "none"))[0] == 2  # (no lock here: just no crash)
    assert run("check", "--site-packages", str(site))[0] == 0


def test_refresh_widen_rewrites_in_place(run: Run, patches: Path, tmp_path: Path) -> None:
    old = write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"), versions=">=1.0,<1.1")
    site = newer_site(tmp_path, SHIFTED)
    assert run("refresh", "--all", "--widen", "--site-packages", str(site))[0] == 0
    text = old.read_text()
    # No upper bound is invented: how far the diff keeps working is for the sweep to say.
    assert "Versions: >=1.0\n" in text
    assert "@@ -19,7 +19,7 @@" in text
    assert sorted(p.name for p in patches.iterdir()) == ["0001-twenty.diff"]


def test_refresh_refuses_a_patch_that_does_not_apply(run: Run, patches: Path, tmp_path: Path) -> None:
    write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"), versions=">=1.0,<1.1")
    site = newer_site(tmp_path, SOURCE.replace(b"line 20\n", b"line 20 rewritten upstream\n"))
    before = snapshot(patches)
    code, out, _ = run("refresh", "0001", "--site-packages", str(site))
    assert code == 1
    assert "hunk #1" in out
    assert "FAILED" in out
    assert snapshot(patches) == before


def test_refresh_leaves_an_exact_patch_alone(run: Run, patches: Path, one_patch_exact: None) -> None:
    code, out, _ = run("refresh", "--all")
    assert code == 0
    assert "applies exactly; nothing to refresh" in out


@pytest.fixture
def one_patch_exact(patches: Path) -> None:
    write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))


UPSTREAM = b"""From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001
From: Dev <dev@example.invalid>
Date: Mon, 1 Jan 2026 00:00:00 +0000
Subject: [PATCH] fix(files): say twenty and
 fix the hook

The hook lost the file object.
---
 litellm/mod.py | 2 +-

"""


@pytest.fixture
def two_dists(tmp_path: Path) -> Path:
    site = make_site(
        tmp_path / "two", {"litellm/__init__.py": b"", "litellm/mod.py": SOURCE}, name="litellm", version="1.81.0"
    )
    return make_site(site, {"litellm_enterprise/hook.py": b"a\nb\nc\n"}, name="litellm-enterprise", version="0.1.27")


def upstream_diff() -> bytes:
    return (
        UPSTREAM
        + make_diff(SOURCE, PATCHED, "litellm/mod.py")
        + make_diff(b"a\nb\nc\n", b"a\nB\nc\n", "enterprise/litellm_enterprise/hook.py")
        + make_diff(b"x\n", b"y\n", "tests/test_mod.py")
        + b"-- \n2.39.5\n"
    )


def test_import_maps_the_repository_layout_and_splits_per_distribution(
    run: Run, patches: Path, two_dists: Path, tmp_path: Path
) -> None:
    source = tmp_path / "upstream.patch"
    source.write_bytes(upstream_diff())
    code, out, err = run("import", str(source), "--site-packages", str(two_dists))
    assert code == 0, out + err
    assert "left out (not in an installed package): tests/test_mod.py" in out
    names = sorted(p.name for p in patches.iterdir())
    assert names == [
        "0001-fix-files-say-twenty-and-fix-the-hook-litellm.diff",
        "0002-fix-files-say-twenty-and-fix-the-hook-litellm-enterprise.diff",
    ]
    enterprise = (patches / names[1]).read_text()
    assert "Package: litellm-enterprise\nVersions: >=0.1.27,<0.2\n" in enterprise
    assert "+++ b/litellm_enterprise/hook.py" in enterprise
    assert "Origin: " in enterprise
    assert "commit 1111111111111111111111111111111111111111" in enterprise
    assert "Description: The hook lost the file object." in enterprise
    assert run("--site-packages", str(two_dists))[0] == 0
    assert (two_dists / "litellm_enterprise/hook.py").read_bytes() == b"a\nB\nc\n"
    assert (two_dists / "litellm/mod.py").read_bytes() == PATCHED


def test_import_of_a_change_that_does_not_apply_writes_nothing(
    run: Run, patches: Path, two_dists: Path, tmp_path: Path
) -> None:
    (two_dists / "litellm/mod.py").write_bytes(b"different\n")
    source = tmp_path / "upstream.patch"
    source.write_bytes(upstream_diff())
    code, out, _ = run("import", str(source), "--site-packages", str(two_dists))
    assert code == 1
    assert "does not apply" in out
    assert not list(patches.iterdir())


def test_import_plans_on_the_pristine_files_where_the_set_is_applied(
    run: Run, site: Path, patches: Path, tmp_path: Path
) -> None:
    # Our own fix is applied; upstream fixed the same line its own way. Replacing ours by upstream's diff:
    # take ours out of the directory and import upstream's, which is made against the pristine file.
    write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))
    assert run()[0] == 0
    (patches / "0001-twenty.diff").unlink()
    source = tmp_path / "upstream.diff"
    source.write_bytes(make_diff(SOURCE, SOURCE.replace(b"line 20\n", b"line 20 (upstream)\n"), "demo/mod.py"))

    code, out, err = run("import", str(source), "--name", "upstream-twenty")

    assert code == 0, out + err
    assert (patches / "0001-upstream-twenty.diff").is_file()
    assert (site / "demo/mod.py").read_bytes() == PATCHED  # import writes patch files, never the target
    code, out, _ = run()
    assert code == 0, out
    assert (site / "demo/mod.py").read_bytes() == SOURCE.replace(b"line 20\n", b"line 20 (upstream)\n")


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


@pytest.mark.skipif(GIT is None, reason="git is not installed")
def test_export_gives_a_patch_git_am_accepts_on_the_upstream_tag(
    run: Run, patches: Path, two_dists: Path, tmp_path: Path
) -> None:
    write_patch(
        patches,
        "0004-hook.diff",
        make_diff(b"a\nb\nc\n", b"a\nB\nc\n", "litellm_enterprise/hook.py"),
        package="litellm-enterprise",
        versions=">=0.1.27,<0.1.28",
        extra={"Description": "The hook lost the file object.", "Test": "tests/regression/test_0004.py"},
    )
    assert run("--site-packages", str(two_dists))[0] == 0
    repo = tmp_path / "upstream"
    (repo / "enterprise/litellm_enterprise").mkdir(parents=True)
    (repo / "enterprise/litellm_enterprise/hook.py").write_bytes(b"a\nb\nc\n")
    (repo / "litellm").mkdir()
    (repo / "litellm/mod.py").write_bytes(SOURCE)
    git("init", "-q", "-b", "main", cwd=repo)
    git("-c", "user.name=t", "-c", "user.email=t@t", "add", ".", cwd=repo)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "release", cwd=repo)
    git("tag", "v0.1.27", cwd=repo)
    out_dir = tmp_path / "export"
    code, out, _ = run("export", "0004", "--output", str(out_dir), "--repo", str(repo))
    assert code == 0
    assert "would run (pass --execute): git -C" in out
    assert git("branch", "--list", cwd=repo).strip() == "* main"  # a dry run touches nothing
    text = (out_dir / "0004-hook.patch").read_text()
    assert "Subject: [PATCH] A fix" in text
    assert "enterprise/litellm_enterprise/hook.py | " in text
    body = (out_dir / "0004-hook.md").read_text()
    assert "The hook lost the file object." in body
    assert "litellm-enterprise <0.1.28,>=0.1.27" in body
    env_args = ("-c", "user.name=t", "-c", "user.email=t@t")
    del env_args
    subprocess.run(["git", "config", "user.name", "t"], cwd=repo, check=True)
    subprocess.run(["git", "config", "user.email", "t@t"], cwd=repo, check=True)
    code, out, err = run("export", "0004", "--output", str(out_dir), "--repo", str(repo), "--execute")
    assert code == 0, out + err
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=repo).strip() == "sitepatch/0004-hook"
    assert (repo / "enterprise/litellm_enterprise/hook.py").read_bytes() == (
        two_dists / "litellm_enterprise/hook.py"
    ).read_bytes()
    assert "A fix" in git("log", "-1", "--format=%s", cwd=repo)


def test_upstream_status_recommends_keep_refresh_or_retire(run: Run, patches: Path, tmp_path: Path) -> None:
    write_patch(patches, "0001-exact.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"), versions="<1.1")
    other = SOURCE.replace(b"line 5\n", b"five\n")
    write_patch(patches, "0002-moved.diff", make_diff(SOURCE, other, "demo/mod.py"), versions="<1.1")
    gone = SOURCE.replace(b"line 35\n", b"thirty-five\n")
    write_patch(
        patches,
        "0003-upstream.diff",
        make_diff(SOURCE, gone, "demo/mod.py"),
        versions="<1.1",
        extra={"Forwarded": "https://example.invalid/pr/1"},
    )
    conflict = SOURCE.replace(b"line 12\n", b"twelve\n")
    write_patch(patches, "0004-conflict.diff", make_diff(SOURCE, conflict, "demo/mod.py"), versions="<1.1")
    newer = SOURCE.replace(b"line 35\n", b"thirty-five\n").replace(b"line 12\n", b"line 12 upstream\n")
    site = newer_site(tmp_path, newer)
    code, out, _ = run("upstream-status", "--site-packages", str(site), "--json")
    assert code == 0
    rows = {r["name"]: (r["status"], r["recommendation"]) for r in json.loads(out)["patches"]}
    assert rows == {
        "0001-exact.diff": ("applies", "keep"),
        "0002-moved.diff": ("applies", "keep"),
        "0003-upstream.diff": ("already-applied", "retire"),
        "0004-conflict.diff": ("conflicts", "refresh"),
    }


OTHER = b"".join(f"other {i}\n".encode() for i in range(1, 41))


def test_refresh_starts_from_the_variant_nearest_the_installed_version(run: Run, patches: Path, tmp_path: Path) -> None:
    base = write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"), versions=">=1.0,<1.1")
    later = make_diff(OTHER, OTHER.replace(b"other 20\n", b"other twenty\n"), "demo/mod.py")
    write_patch(patches, "0001-twenty+3.0.diff", later, versions=">=3.0")
    site = newer_site(tmp_path, SHIFTED, version="1.3")

    code, out, err = run("refresh", "0001", "--widen", "--site-packages", str(site))

    assert code == 0, out + err
    assert "from 0001-twenty.diff; rewritten against demo 1.3" in out
    # Widened up to where the next variant starts, not to an invented bound.
    assert "Versions: >=1.0,<3.0\n" in base.read_text()


def test_refresh_tries_each_variant_and_says_which_applied(run: Run, patches: Path, tmp_path: Path) -> None:
    write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"), versions=">=1.0,<1.1")
    later = make_diff(OTHER, OTHER.replace(b"other 20\n", b"other twenty\n"), "demo/mod.py")
    write_patch(patches, "0001-twenty+3.0.diff", later, versions=">=3.0")
    site = newer_site(tmp_path, SHIFTED, version="2.95")

    code, out, err = run("refresh", "0001", "--site-packages", str(site))

    assert code == 0, out + err
    assert "from 0001-twenty.diff (tried first: 0001-twenty+3.0.diff: failed)" in out


def test_refresh_names_every_variant_when_none_applies(run: Run, patches: Path, tmp_path: Path) -> None:
    write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"), versions=">=1.0,<1.1")
    later = make_diff(OTHER, OTHER.replace(b"other 20\n", b"other twenty\n"), "demo/mod.py")
    write_patch(patches, "0001-twenty+3.0.diff", later, versions=">=3.0")
    site = newer_site(tmp_path, SOURCE.replace(b"line 20\n", b"line 20 rewritten upstream\n"), version="2.0")

    code, out, err = run("refresh", "0001", "--site-packages", str(site))

    assert code == 1
    assert "no variant applies (0001-twenty.diff: failed; 0001-twenty+3.0.diff: failed)" in out + err


EXTRA = b"".join(f"hook {i}\n".encode() for i in range(1, 21))


def test_new_works_on_a_two_distribution_install_with_the_set_applied(
    run: Run, site: Path, patches: Path, uv_cache: Path
) -> None:
    # litellm + litellm-enterprise in small: patches on both distributions are applied, then demo is edited.
    make_site(site, {"demo_extra/__init__.py": b"", "demo_extra/hook.py": EXTRA}, name="demo-extra", version="0.1")
    write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))
    extra_fixed = EXTRA.replace(b"hook 10\n", b"hook ten\n")
    write_patch(
        patches,
        "0002-hook.diff",
        make_diff(EXTRA, extra_fixed, "demo_extra/hook.py"),
        package="demo-extra",
        versions=">=0.1",
    )
    assert run("apply")[0] == 0
    (site / "demo/mod.py").write_bytes(PATCHED.replace(b"line 30\n", b"line thirty\n"))

    code, out, err = run("new", "thirty", "--package", "demo", "--offline")

    assert code == 0, out + err
    text = (patches / "0003-thirty.diff").read_text()
    assert "+line thirty" in text
    assert "twenty" not in text.split("\n\n", 1)[1].replace(" line twenty", "")  # only as context
    assert "recorded the install as patched" in out
    code, out, _ = run("status", "--json")
    assert code == 0, out
    assert {p["name"]: p["status"] for p in json.loads(out)["patches"]} == {
        "0001-twenty.diff": "applied",
        "0002-hook.diff": "applied",
        "0003-thirty.diff": "applied",
    }
    assert (site / "demo_extra/hook.py").read_bytes() == extra_fixed


def test_refresh_works_on_a_two_distribution_install_with_the_set_applied(
    run: Run, site: Path, patches: Path, tmp_path: Path
) -> None:
    make_site(site, {"demo_extra/__init__.py": b"", "demo_extra/hook.py": EXTRA}, name="demo-extra", version="0.1")
    write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"), versions=">=1.0,<1.1")
    extra_fixed = EXTRA.replace(b"hook 10\n", b"hook ten\n")
    write_patch(
        patches,
        "0002-hook.diff",
        make_diff(EXTRA, extra_fixed, "demo_extra/hook.py"),
        package="demo-extra",
        versions=">=0.1",
    )
    assert run("apply")[0] == 0

    code, out, err = run("refresh", "--all", "--json")

    assert code == 0, out + err
    assert {p["name"]: p["action"] for p in json.loads(out)["patches"]} == {
        "0001-twenty.diff": "current",
        "0002-hook.diff": "current",
    }


def test_upstream_status_does_not_mistake_the_sets_own_changes_for_upstreams(
    run: Run, site: Path, patches: Path
) -> None:
    write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"), versions=">=1.0,<1.1")
    assert run("apply")[0] == 0

    code, out, _ = run("upstream-status", "--json")

    assert code == 0
    (row,) = json.loads(out)["patches"]
    assert (row["status"], row["recommendation"]) == ("applies", "keep")
