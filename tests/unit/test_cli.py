"""End-to-end runs of the command line on fake site-packages trees."""

from __future__ import annotations

import json
import os
import py_compile
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from fakesite import SOURCE, make_diff, make_site, snapshot, write_patch

Run = Callable[..., tuple[int, str, str]]
REPO = Path(__file__).resolve().parents[2]


def change(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) == 1
    return data.replace(old, new)


PATCHED = change(SOURCE, b"line 20\n", b"line twenty\n")


@pytest.fixture
def one_patch(patches: Path) -> Path:
    return write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))


def test_apply_writes_the_patched_file_and_a_manifest(run: Run, site: Path, one_patch: Path) -> None:
    code, out, _ = run()
    assert code == 0
    assert (site / "demo/mod.py").read_bytes() == PATCHED
    assert "applied  0001-twenty.diff" in out
    assert "summary: 1 applied, 0 already applied, 0 skipped, 0 failed; 1 file(s) changed; written" in out
    manifest = json.loads((site / ".sitepatch/manifest.json").read_text())
    assert manifest["schema_version"] == 1
    assert manifest["distributions"] == {"demo": "1.0"}
    (patch,) = manifest["patches"]
    assert patch["name"] == "0001-twenty.diff"
    assert patch["header"]["Subject"] == "A fix"
    assert patch["files"][0]["hunks"] == [{"index": 1, "status": "applied", "line": 17, "offset": 0, "fuzz": 0}]
    (record,) = manifest["files"]
    assert record["path"] == "demo/mod.py"
    assert record["pre_sha256"] != record["post_sha256"]
    assert (site / ".sitepatch/pristine/demo/mod.py").read_bytes() == SOURCE


def test_a_second_run_reports_already_applied_and_writes_nothing(run: Run, site: Path, one_patch: Path) -> None:
    assert run()[0] == 0
    before = (site / ".sitepatch/manifest.json").read_bytes()
    code, out, _ = run("--json")
    doc = json.loads(out)
    assert code == 0
    assert doc["patches"][0]["status"] == "already-applied"
    assert doc["written"] is False
    assert (site / ".sitepatch/manifest.json").read_bytes() == before


def test_json_output_has_the_documented_shape(run: Run, site: Path, one_patch: Path) -> None:
    code, out, _ = run("apply", "--dry-run", "--json")
    doc = json.loads(out)
    assert code == 0
    assert {"ok", "dry_run", "target", "patches"} <= doc.keys()
    assert doc["ok"] is True
    assert doc["dry_run"] is True
    assert doc["target"] == str(site.resolve())
    (patch,) = doc["patches"]
    assert {"name", "status", "reason", "files"} <= patch.keys()
    hunk = patch["files"][0]["hunks"][0]
    assert {k: hunk[k] for k in ("index", "status", "line", "offset", "fuzz")} == {
        "index": 1,
        "status": "applied",
        "line": 17,
        "offset": 0,
        "fuzz": 0,
    }


@pytest.mark.parametrize("args", [("check",), ("apply", "--dry-run"), ("--dry-run",)])
def test_a_dry_run_writes_nothing_at_all(run: Run, site: Path, one_patch: Path, args: tuple[str, ...]) -> None:
    before = snapshot(site)
    code, out, _ = run(*args)
    assert code == 0
    assert "dry run: nothing written" in out
    assert snapshot(site) == before
    assert not (site / ".sitepatch").exists()


def test_a_failing_patch_writes_nothing_and_shows_expected_and_actual_lines(
    run: Run, site: Path, patches: Path
) -> None:
    write_patch(patches, "0001-ok.diff", make_diff(SOURCE, change(SOURCE, b"line 5\n", b"five\n"), "demo/mod.py"))
    other = change(SOURCE, b"line 30\n", b"line thirty\n")
    bad = make_diff(SOURCE, other, "demo/mod.py").replace(b" line 29\n", b" line 29 (changed upstream)\n")
    write_patch(patches, "0002-bad.diff", bad)
    before = snapshot(site)
    code, out, err = run()
    assert code == 1
    assert snapshot(site) == before
    assert not (site / ".sitepatch/manifest.json").exists()
    assert "failed   0002-bad.diff" in out
    assert "hunk #1 (" in out
    assert "0002-bad.diff:7) FAILED: expected at line 27, nearest match at line 27 (6 of 7 lines agree)" in out
    assert "! patch: 'line 29 (changed upstream)'" in out
    assert "! file:  'line 29'" in out
    assert "nothing written" in out
    assert "error:" not in err


def test_an_ambiguous_hunk_is_refused_with_its_candidate_lines(run: Run, site: Path, patches: Path) -> None:
    block = b"a\nb\nc\nd\ne\nf\ng\n"
    data = b"x\n" * 10 + block + b"y\n" * 10 + block + b"z\n" * 10
    (site / "demo/mod.py").write_bytes(data)
    record = site / "demo-1.0.dist-info/RECORD"
    from fakesite import record_hash

    record.write_text(
        record.read_text().replace(
            next(ln for ln in record.read_text().splitlines() if ln.startswith("demo/mod.py")),
            f"demo/mod.py,{record_hash(data)},{len(data)}",
        )
    )
    write_patch(
        patches,
        "0001-amb.diff",
        b"--- a/demo/mod.py\n+++ b/demo/mod.py\n@@ -50,7 +50,7 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n",
    )
    code, out, _ = run("--json")
    assert code == 1
    hunk = json.loads(out)["patches"][0]["files"][0]["hunks"][0]
    assert hunk["status"] == "ambiguous"
    assert hunk["candidates"] == [11, 28]


def test_skipped_patches_say_why(run: Run, site: Path, patches: Path) -> None:
    diff = make_diff(SOURCE, PATCHED, "demo/mod.py")
    write_patch(patches, "0001-other.diff", diff, package="not-here")
    write_patch(patches, "0002-range.diff", diff, versions=">=2")
    write_patch(patches, "0003-upstream.diff", diff, extra={"Applied-Upstream": "0.9"})
    write_patch(patches, "0004-requires.diff", diff, extra={"Requires": "other>=1"})
    code, out, _ = run("--json")
    assert code == 0
    reasons = {p["name"]: (p["status"], p["reason"]) for p in json.loads(out)["patches"]}
    assert reasons == {
        "0001-other.diff": ("skipped", "not-here is not installed"),
        "0002-range.diff": ("skipped", "demo 1.0 is outside Versions >=2"),
        "0003-upstream.diff": ("skipped", "fixed upstream in demo 0.9 (installed 1.0)"),
        "0004-requires.diff": ("skipped", "requires other>=1, which is not installed"),
    }


def test_list_shows_selection_and_reasons(run: Run, one_patch: Path, patches: Path) -> None:
    write_patch(patches, "0002-later.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"), versions=">=3")
    code, out, _ = run("list")
    assert code == 0
    assert "selected  0001-twenty.diff  [demo >=1.0]" in out
    assert "skipped   0002-later.diff  [demo >=3]: demo 1.0 is outside Versions >=3" in out


def test_two_matching_variants_of_one_patch_are_an_error_naming_both(run: Run, site: Path, patches: Path) -> None:
    diff = make_diff(SOURCE, PATCHED, "demo/mod.py")
    write_patch(patches, "0001-x.diff", diff, versions=">=0.5")
    write_patch(patches, "0001-x+new.diff", diff, versions=">=1.0")
    before = snapshot(site)
    code, _, err = run()
    assert code == 1
    assert "0001-x+new.diff and" in err
    assert "0001-x.diff are variants of patch 0001 and both match demo 1.0" in err
    assert snapshot(site) == before


def test_variants_with_disjoint_ranges_select_one(run: Run, patches: Path) -> None:
    diff = make_diff(SOURCE, PATCHED, "demo/mod.py")
    write_patch(patches, "0001-x.diff", diff, versions="<1.0")
    write_patch(patches, "0001-x+new.diff", diff, versions=">=1.0")
    code, out, _ = run("--json")
    assert code == 0
    assert [(p["name"], p["status"]) for p in json.loads(out)["patches"]] == [
        ("0001-x+new.diff", "applied"),
        ("0001-x.diff", "skipped"),
    ]


def test_a_parse_error_changes_nothing(run: Run, site: Path, one_patch: Path, patches: Path) -> None:
    (patches / "0002-broken.diff").write_bytes(b"Subject: x\n\n--- a/demo/mod.py\n")
    before = snapshot(site)
    code, _, err = run()
    assert code == 1
    assert "0002-broken.diff" in err
    assert snapshot(site) == before


def test_a_locally_modified_file_is_refused_unless_forced(run: Run, site: Path, one_patch: Path) -> None:
    target = site / "demo/mod.py"
    target.write_bytes(SOURCE + b"# local edit\n")
    code, _, err = run()
    assert code == 1
    assert "demo/mod.py: modified since demo 1.0 was installed" in err
    assert target.read_bytes() == SOURCE + b"# local edit\n"
    code, out, _ = run("--force")
    assert code == 0
    assert "warning: demo/mod.py: modified since" in out
    assert target.read_bytes() == PATCHED + b"# local edit\n"


def test_a_legacy_source_install_is_refused(tmp_path: Path, patches: Path, one_patch: Path, run: Run) -> None:
    site = tmp_path / "egg"
    (site / "demo").mkdir(parents=True)
    (site / "demo/mod.py").write_bytes(SOURCE)
    (site / "demo-1.0-py3.11.egg-info").mkdir()
    (site / "demo-1.0-py3.11.egg-info/PKG-INFO").write_text("Metadata-Version: 1.1\nName: demo\nVersion: 1.0\n")
    code, _, err = run("--site-packages", str(site))
    assert code == 1
    assert "editable or source install (demo-1.0-py3.11.egg-info)" in err
    assert not (site / ".sitepatch").exists()


def test_an_editable_install_is_refused(tmp_path: Path, patches: Path, one_patch: Path, run: Run) -> None:
    site = make_site(tmp_path / "editable", {"demo/mod.py": SOURCE}, editable=True)
    code, _, err = run("--site-packages", str(site))
    assert code == 1
    assert "editable or source install" in err
    assert not (site / ".sitepatch").exists()


def test_status_reports_applied_lost_and_modified(run: Run, site: Path, one_patch: Path) -> None:
    assert run("status")[0] == 3  # nothing applied yet: not patched
    assert run()[0] == 0
    code, out, _ = run("status")
    assert code == 0
    assert "applied  0001-twenty.diff" in out
    (site / "demo/mod.py").write_bytes(SOURCE)  # what a force-reinstall does
    code, out, _ = run("status", "--json")
    doc = json.loads(out)
    assert code == 1
    assert doc["patches"][0]["status"] == "lost"
    (site / "demo/mod.py").write_bytes(b"something else\n")
    code, out, _ = run("status", "--json")
    assert json.loads(out)["patches"][0]["status"] == "modified"
    assert code == 1


def test_status_reports_a_changed_version(run: Run, site: Path, one_patch: Path) -> None:
    assert run()[0] == 0
    dist_info = site / "demo-1.0.dist-info"
    meta = dist_info / "METADATA"
    meta.write_text(meta.read_text().replace("Version: 1.0", "Version: 1.1"))
    code, out, _ = run("status", "--json")
    assert code == 1
    patch = json.loads(out)["patches"][0]
    assert patch["status"] == "version-changed"
    assert "demo is now 1.1" in patch["reason"]


def test_reinstall_then_apply_patches_again(run: Run, site: Path, one_patch: Path) -> None:
    assert run()[0] == 0
    (site / "demo/mod.py").write_bytes(SOURCE)
    code, out, _ = run()
    assert code == 0
    assert "applied  0001-twenty.diff" in out
    assert (site / "demo/mod.py").read_bytes() == PATCHED


def test_revert_restores_pristine_bytes(run: Run, site: Path, one_patch: Path) -> None:
    before = snapshot(site)
    assert run()[0] == 0
    code, out, _ = run("revert")
    assert code == 0
    assert "restored  demo/mod.py" in out
    assert snapshot(site) == before
    assert not (site / ".sitepatch/manifest.json").exists()
    assert not list((site / ".sitepatch").glob("pristine/**/*.py"))
    assert run("status")[0] == 3  # reverted: not patched
    assert "nothing to revert" in run("revert")[1]


def test_revert_refuses_a_file_changed_since_unless_forced(run: Run, site: Path, one_patch: Path) -> None:
    assert run()[0] == 0
    (site / "demo/mod.py").write_bytes(PATCHED + b"# edit\n")
    code, _, err = run("revert")
    assert code == 1
    assert "changed since sitepatch patched it" in err
    assert (site / "demo/mod.py").read_bytes() == PATCHED + b"# edit\n"
    assert run("revert", "--force")[0] == 0
    assert (site / "demo/mod.py").read_bytes() == SOURCE


def test_revert_dry_run_writes_nothing(run: Run, site: Path, one_patch: Path) -> None:
    assert run()[0] == 0
    before = snapshot(site)
    code, out, _ = run("revert", "--dry-run")
    assert code == 0
    assert "would restore  demo/mod.py" in out
    assert snapshot(site) == before


def test_patches_on_one_file_apply_in_order_on_each_others_result(run: Run, site: Path, patches: Path) -> None:
    first = change(SOURCE, b"line 20\n", b"line twenty\n")
    second = change(first, b"line twenty\n", b"line 20 (twice patched)\n")
    write_patch(patches, "0001-a.diff", make_diff(SOURCE, first, "demo/mod.py"))
    write_patch(patches, "0002-b.diff", make_diff(first, second, "demo/mod.py"))
    assert run()[0] == 0
    assert (site / "demo/mod.py").read_bytes() == second
    manifest = json.loads((site / ".sitepatch/manifest.json").read_text())
    assert manifest["files"][0]["patches"] == ["0001-a.diff", "0002-b.diff"]
    assert run("revert")[0] == 0
    assert (site / "demo/mod.py").read_bytes() == SOURCE


def test_a_patch_added_later_goes_on_top_and_one_removed_is_undone(run: Run, site: Path, patches: Path) -> None:
    five = change(SOURCE, b"line 5\n", b"five\n")
    write_patch(patches, "0001-a.diff", make_diff(SOURCE, five, "demo/mod.py"))
    assert run()[0] == 0
    b = write_patch(patches, "0002-b.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))
    code, out, _ = run("--json")
    assert code == 0
    assert [(p["name"], p["status"]) for p in json.loads(out)["patches"]] == [
        ("0001-a.diff", "already-applied"),
        ("0002-b.diff", "applied"),
    ]
    assert (site / "demo/mod.py").read_bytes() == change(five, b"line 20\n", b"line twenty\n")
    b.unlink()
    code, out, _ = run()
    assert code == 0
    assert "undone: 0002-b.diff (no longer selected)" in out
    assert (site / "demo/mod.py").read_bytes() == five


def test_files_are_created_deleted_renamed_and_chmodded(run: Run, tmp_path: Path, patches: Path) -> None:
    site = make_site(
        tmp_path / "s",
        {"demo/__init__.py": b"", "demo/old.py": b"bye\n", "demo/a.py": b"x = 1\n", "demo/run.sh": b"echo\n"},
    )
    body = (
        b"diff --git a/demo/new.py b/demo/new.py\nnew file mode 100644\n--- /dev/null\n+++ b/demo/new.py\n@@ -0,0 +1 @@\n+hi\n"
        b"diff --git a/demo/old.py b/demo/old.py\ndeleted file mode 100644\n--- a/demo/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n"
        b"diff --git a/demo/a.py b/demo/b.py\nsimilarity index 50%\nrename from demo/a.py\nrename to demo/b.py\n"
        b"--- a/demo/a.py\n+++ b/demo/b.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
        b"diff --git a/demo/run.sh b/demo/run.sh\nold mode 100644\nnew mode 100755\n"
    )
    write_patch(patches, "0001-files.diff", body)
    before = snapshot(site)
    code, out, err = run("--site-packages", str(site))
    assert code == 0, out + err
    assert (site / "demo/new.py").read_bytes() == b"hi\n"
    assert not (site / "demo/old.py").exists()
    assert not (site / "demo/a.py").exists()
    assert (site / "demo/b.py").read_bytes() == b"x = 2\n"
    assert os.stat(site / "demo/run.sh").st_mode & 0o777 == 0o755
    code, out, _ = run("--site-packages", str(site))
    assert "already-applied  0001-files.diff" in out
    assert run("revert", "--site-packages", str(site))[0] == 0
    assert snapshot(site) == before
    assert os.stat(site / "demo/run.sh").st_mode & 0o777 == 0o644


def test_a_path_through_a_symlink_is_refused(run: Run, site: Path, patches: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "mod.py").write_bytes(SOURCE)
    (site / "demo/link").symlink_to(outside)
    write_patch(patches, "0001-link.diff", make_diff(SOURCE, PATCHED, "demo/link/mod.py"))
    code, out, _ = run()
    assert code == 1
    assert "0001-link.diff:5: demo/link/mod.py: refusing to write through the symbolic link demo/link" in out
    assert (outside / "mod.py").read_bytes() == SOURCE


def test_a_file_of_another_distribution_is_refused(run: Run, site: Path, patches: Path) -> None:
    make_site(site, {"other/x.py": b"x\n"}, name="other")
    write_patch(patches, "0001-x.diff", make_diff(b"x\n", b"y\n", "other/x.py"))
    code, out, _ = run()
    assert code == 1
    assert "other/x.py is not a file of demo" in out
    assert (site / "other/x.py").read_bytes() == b"x\n"


def test_hard_links_to_site_files_keep_their_content(run: Run, site: Path, one_patch: Path, tmp_path: Path) -> None:
    cache = tmp_path / "uv-cache-copy.py"
    os.link(site / "demo/mod.py", cache)
    assert run()[0] == 0
    assert cache.read_bytes() == SOURCE
    assert (site / "demo/mod.py").read_bytes() == PATCHED
    assert os.stat(site / "demo/mod.py").st_ino != os.stat(cache).st_ino
    assert run("revert")[0] == 0
    assert cache.read_bytes() == SOURCE


def test_stale_unchecked_hash_bytecode_cannot_run_old_code(run: Run, site: Path, patches: Path) -> None:
    module = site / "demo/mod.py"
    old = b"VALUE = 'old'\n"
    module.write_bytes(old)
    record = site / "demo-1.0.dist-info/RECORD"
    from fakesite import record_hash

    lines = [
        f"demo/mod.py,{record_hash(old)},{len(old)}" if ln.startswith("demo/mod.py") else ln
        for ln in record.read_text().splitlines()
    ]
    record.write_text("\n".join(lines) + "\n")
    py_compile.compile(str(module), invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH, doraise=True)
    write_patch(patches, "0001-value.diff", make_diff(old, b"VALUE = 'new'\n", "demo/mod.py"))
    assert run()[0] == 0
    done = subprocess.run(
        [sys.executable, "-c", "import demo.mod; print(demo.mod.VALUE)"],
        cwd=site,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(site)},
    )
    assert done.stdout.strip() == "new"


def test_an_unknown_manifest_schema_is_a_clear_environment_error(run: Run, site: Path, one_patch: Path) -> None:
    assert run()[0] == 0
    path = site / ".sitepatch/manifest.json"
    path.write_text(path.read_text().replace('"schema_version": 1', '"schema_version": 99'))
    code, _, err = run("status")
    assert code == 2
    assert "schema_version 99 is not 1" in err


def test_a_missing_site_packages_is_a_usage_error(run: Run, tmp_path: Path) -> None:
    code, _, err = run("--site-packages", str(tmp_path / "nope"))
    assert code == 2
    assert "not a directory" in err


def test_python_option_asks_that_interpreter(run: Run) -> None:
    code, out, _ = run("list", "--python", sys.executable, "--json")
    assert code == 0
    import sysconfig

    assert json.loads(out)["target"] == str(Path(sysconfig.get_path("purelib")).resolve())


def test_the_repo_entry_point_runs_without_installing(
    tmp_path: Path, site: Path, one_patch: Path, patches: Path
) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "apply_patches.py"),
            "check",
            "--site-packages",
            str(site),
            "--patches",
            str(patches),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "would apply  0001-twenty.diff" in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "sitepatch", "--version"], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert done.stdout.startswith("sitepatch ")
