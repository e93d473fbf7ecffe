"""Issue 9: no run may delete, downgrade or write outside its target.

Each test names the item of the issue it covers; every one of them failed on 8392390.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fakesite import SOURCE, make_diff, make_site, snapshot, write_patch
from sitepatch.apply import StateDir

Run = Callable[..., tuple[int, str, str]]
REPO = Path(__file__).resolve().parents[2]

PATCHED = SOURCE.replace(b"line 20\n", b"line twenty\n")
OTHER = b"".join(f"other {i}\n".encode() for i in range(1, 11))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upgrade(site: Path, files: dict[str, bytes], version: str = "2.0") -> None:
    """Replace the installed ``demo`` with another release (a pip upgrade, in short)."""
    for dist_info in site.glob("demo-*.dist-info"):
        shutil.rmtree(dist_info)
    make_site(site, files, version=version)


# -- 1. deletions verify the whole pre-image -------------------------------------------------------------


def test_a_deletion_of_other_content_fails_and_deletes_nothing(run: Run, site: Path, patches: Path) -> None:
    write_patch(patches, "0001-drop.diff", make_diff(OTHER, None, "demo/mod.py"))
    code, out, _ = run("--json")
    doc = json.loads(out)
    assert code == 1
    assert (site / "demo/mod.py").read_bytes() == SOURCE
    (file,) = doc["patches"][0]["files"]
    assert file["status"] == "failed"
    assert "the file is not the one the patch deletes" in file["reason"]
    assert {h["status"] for h in file["hunks"]} == {"failed"}


def test_a_deletion_of_a_modified_file_fails_even_with_force(run: Run, site: Path, patches: Path) -> None:
    write_patch(patches, "0001-drop.diff", make_diff(SOURCE, None, "demo/mod.py"))
    (site / "demo/mod.py").write_bytes(SOURCE + b"local change\n")
    code, out, err = run("--force")
    assert code == 1
    assert (site / "demo/mod.py").read_bytes() == SOURCE + b"local change\n"
    assert "0001-drop.diff:7: demo/mod.py: not deleting" in out + err


def test_a_zero_context_deletion_that_does_not_match_fails(run: Run, site: Path, patches: Path) -> None:
    diff = b"--- a/demo/mod.py\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-nothing 1\n-nothing 2\n"
    write_patch(patches, "0001-drop.diff", diff)
    code, out, _ = run("--json")
    assert code == 1
    assert json.loads(out)["patches"][0]["status"] == "failed"
    assert (site / "demo/mod.py").read_bytes() == SOURCE


def test_a_deletion_of_exactly_the_file_deletes_it_and_a_gone_file_is_already_applied(
    run: Run, site: Path, patches: Path
) -> None:
    write_patch(patches, "0001-drop.diff", make_diff(SOURCE, None, "demo/mod.py"))
    code, out, _ = run("--json")
    assert code == 0
    (file,) = json.loads(out)["patches"][0]["files"]
    assert (file["status"], {h["status"] for h in file["hunks"]}) == ("applied", {"applied"})
    assert not (site / "demo/mod.py").exists()
    code, out, _ = run("--json")
    (file,) = json.loads(out)["patches"][0]["files"]
    assert code == 0
    assert (file["status"], {h["status"] for h in file["hunks"]}) == ("already-applied", {"already-applied"})


# -- 2. a version change never writes the old release back -----------------------------------------------


@pytest.fixture
def applied(run: Run, site: Path, patches: Path) -> Path:
    write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))
    assert run()[0] == 0
    return site


def test_after_an_upgrade_with_the_fix_upstream_apply_writes_nothing_old(run: Run, applied: Path) -> None:
    release = PATCHED + b"# 2.0\n"
    upgrade(applied, {"demo/__init__.py": b"", "demo/mod.py": release})
    code, out, _ = run()
    assert code == 0, out
    assert (applied / "demo/mod.py").read_bytes() == release
    assert "demo/mod.py: dropped the record made against demo 1.0 (installed: demo 2.0)" in out
    assert not (applied / ".sitepatch/pristine/demo/mod.py").exists()
    manifest = json.loads((applied / ".sitepatch/manifest.json").read_text())
    assert manifest["files"] == []
    assert run("status")[0] == 0


def test_after_an_upgrade_revert_does_not_write_the_old_release(run: Run, applied: Path) -> None:
    release = PATCHED + b"# 2.0\n"
    upgrade(applied, {"demo/__init__.py": b"", "demo/mod.py": release})
    for args in (("revert",), ("revert", "--force")):
        code, out, _ = run(*args)
        assert code == 0, out
        assert (applied / "demo/mod.py").read_bytes() == release
    assert "dropped the record made against demo 1.0" in out or "nothing to revert" in out


def test_after_an_upgrade_apply_patches_the_new_release(run: Run, applied: Path) -> None:
    release = SOURCE.replace(b"line 1\n", b"line one\n")
    upgrade(applied, {"demo/__init__.py": b"", "demo/mod.py": release})
    assert run()[0] == 0
    assert (applied / "demo/mod.py").read_bytes() == release.replace(b"line 20\n", b"line twenty\n")
    record = json.loads((applied / ".sitepatch/manifest.json").read_text())["files"][0]
    assert (record["version"], record["pre_sha256"]) == ("2.0", sha(release))
    assert run("revert")[0] == 0
    assert (applied / "demo/mod.py").read_bytes() == release


# -- 3 and 11. state files are untrusted input -----------------------------------------------------------


def edit_manifest(site: Path, change: Callable[[dict[str, object]], None]) -> None:
    path = site / ".sitepatch/manifest.json"
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize("evil", ["../outside.txt", "/tmp/sitepatch-never/outside.txt", "demo/../../outside.txt"])
@pytest.mark.parametrize("command", [("revert",), ("revert", "--force"), ("apply",), ("status",)])
def test_a_manifest_path_outside_the_target_is_refused(
    run: Run, applied: Path, evil: str, command: tuple[str, ...]
) -> None:
    outside = applied.parent / "outside.txt"
    outside.write_bytes(b"precious\n")
    if evil.startswith("/"):
        evil = str(outside)

    def add(doc: dict[str, object]) -> None:
        files = doc["files"]
        assert isinstance(files, list)
        files.append({**files[0], "path": evil, "pre_sha256": None, "post_sha256": sha(b"precious\n")})

    edit_manifest(applied, add)
    before = snapshot(applied)
    code, out, err = run(*command)
    assert code == 2
    assert "manifest.json: files[1].path" in out + err
    assert outside.read_bytes() == b"precious\n"
    assert snapshot(applied) == before


@pytest.mark.parametrize(
    ("content", "field"),
    [
        pytest.param(b"\xff\xfe not utf-8", "not UTF-8", id="not utf-8"),
        pytest.param(None, "not a regular file", id="a directory"),
        pytest.param({"path": None}, "files[0].path", id="null path"),
        pytest.param({"pre_mode": "644"}, "files[0].pre_mode", id="string mode"),
        pytest.param({"pre_sha256": "zz"}, "files[0].pre_sha256", id="bad digest"),
        pytest.param({"path": "demo-1.0.dist-info/RECORD"}, "files[0].path", id="dist-info path"),
        pytest.param({"path": ".sitepatch/manifest.json"}, "files[0].path", id="state path"),
    ],
)
def test_an_unreadable_manifest_is_exit_2_naming_file_and_field(
    run: Run, applied: Path, content: object, field: str
) -> None:
    path = applied / ".sitepatch/manifest.json"
    if content is None:
        path.unlink()
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        assert isinstance(content, dict)
        edit_manifest(applied, lambda doc: doc["files"][0].update(content))  # type: ignore[index]
    before = snapshot(applied)
    for command in ("apply", "revert", "status"):
        code, out, err = run(command, "--json")
        assert code == 2, (command, err)
        doc = json.loads(out)
        assert doc["ok"] is False
        assert str(path) in doc["error"]
        assert field in doc["error"]
        assert "Traceback" not in err
    assert snapshot(applied) == before


def test_a_state_directory_that_is_a_symlink_is_refused(run: Run, site: Path, patches: Path, tmp_path: Path) -> None:
    write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (site / ".sitepatch").symlink_to(elsewhere, target_is_directory=True)
    for command in ("apply", "revert"):
        code, _, err = run(command)
        assert code == 2
        assert ".sitepatch: not a directory (a symbolic link or a file)" in err
    assert list(elsewhere.iterdir()) == []
    assert (site / "demo/mod.py").read_bytes() == SOURCE


def interrupted(run: Run, site: Path) -> dict[str, object]:
    """Leave the journal of a run killed midway through writing ``demo/mod.py``."""

    class Killed(BaseException):
        pass

    def die(step: str) -> None:
        if step == "manifest":
            raise Killed

    with pytest.raises(Killed):
        run(hook=die)
    doc: dict[str, object] = json.loads((site / ".sitepatch/journal.json").read_text())
    return doc


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"path": "../outside.txt"}, "files[0].path", id="path outside"),
        pytest.param({"path": None}, "files[0].path", id="null path"),
        pytest.param({"before_sha256": "absent"}, "files[0].before_sha256", id="missing before_sha256"),
        pytest.param({"before_mode": "644"}, "files[0].before_mode", id="string mode"),
        pytest.param({"txn": "missing"}, "files[0]: its copy", id="missing roll-back copy"),
    ],
)
def test_a_bad_journal_is_exit_2_with_a_way_out_and_writes_nothing(
    run: Run, site: Path, patches: Path, change: dict[str, object], field: str
) -> None:
    write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))
    outside = site.parent / "outside.txt"
    outside.write_bytes(b"precious\n")
    journal = interrupted(run, site)
    entries = journal["files"]
    assert isinstance(entries, list)
    if change.get("txn") == "missing":
        # A first apply rolls back from the pristine copy (the file before the run), kept for revert too.
        assert entries[0]["kept"] is True
        (site / ".sitepatch/pristine/demo/mod.py").unlink()
    elif change.get("before_sha256") == "absent":
        del entries[0]["before_sha256"]
    else:
        entries[0].update(change)
    (site / ".sitepatch/journal.json").write_text(json.dumps(journal))
    before = snapshot(site)
    for command in ("apply", "revert"):
        code, out, err = run(command, "--json")
        assert code == 2, err
        message = json.loads(out)["error"]
        assert "journal.json" in message
        assert field in message
        assert "remove the .sitepatch directory" in message
        assert "Traceback" not in err
    assert snapshot(site) == before
    assert outside.read_bytes() == b"precious\n"


# -- 4. removing the only patch --------------------------------------------------------------------------


def test_removing_the_only_patch_restores_the_files_and_status_is_clean(run: Run, applied: Path, patches: Path) -> None:
    (patches / "0001-twenty.diff").unlink()
    code, out, _ = run()
    assert code == 0, out
    assert (applied / "demo/mod.py").read_bytes() == SOURCE
    manifest = json.loads((applied / ".sitepatch/manifest.json").read_text())
    assert (manifest["patches"], manifest["files"]) == ([], [])
    assert not list((applied / ".sitepatch").glob("pristine/**/*.py"))
    code, out, _ = run("status")
    assert code == 0, out


# -- 5, 6, 9. patch files that must be refused -----------------------------------------------------------


@pytest.mark.parametrize(("key", "line"), [("Versions", 3), ("Package", 2)])
def test_an_empty_required_header_is_refused(run: Run, site: Path, patches: Path, key: str, line: int) -> None:
    path = write_patch(patches, "0001-x.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))
    value = {"Versions": ">=1.0", "Package": "demo"}[key]
    path.write_text(path.read_text().replace(f"{key}: {value}\n", f"{key}:\n"))
    code, out, err = run()
    assert code == 1
    assert f"0001-x.diff:{line}: {key}: is empty" in out + err
    assert (site / "demo/mod.py").read_bytes() == SOURCE


def test_different_paths_without_git_rename_headers_are_refused(run: Run, site: Path, patches: Path) -> None:
    diff = make_diff(SOURCE, PATCHED, "demo/mod.py").replace(b"+++ b/demo/mod.py", b"+++ b/demo/other.py")
    write_patch(patches, "0001-x.diff", diff)
    code, out, err = run()
    assert code == 1
    assert "0001-x.diff:5: --- a/demo/mod.py and +++ b/demo/other.py name different files" in out + err
    assert (site / "demo/mod.py").read_bytes() == SOURCE
    assert not (site / "demo/other.py").exists()


def test_a_git_rename_still_renames(run: Run, site: Path, patches: Path) -> None:
    diff = b"diff --git a/demo/mod.py b/demo/other.py\nsimilarity index 100%\nrename from demo/mod.py\n"
    diff += b"rename to demo/other.py\n"
    write_patch(patches, "0001-x.diff", diff)
    assert run()[0] == 0
    assert (site / "demo/other.py").read_bytes() == SOURCE
    assert not (site / "demo/mod.py").exists()


@pytest.mark.parametrize("name", ["METADATA", "RECORD"])
@pytest.mark.parametrize("force", [(), ("--force",)])
def test_dist_info_files_are_never_patched(
    run: Run, site: Path, patches: Path, name: str, force: tuple[str, ...]
) -> None:
    path = f"demo-1.0.dist-info/{name}"
    old = (site / path).read_bytes()
    write_patch(patches, "0001-x.diff", make_diff(old, old + b"X: y\n", path))
    code, out, err = run(*force)
    assert code == 1
    assert f"0001-x.diff:5: unsafe path 'a/{path}'" in out + err
    assert "dist-info" in out + err
    assert (site / path).read_bytes() == old


# -- 7. --force over an edited patched file keeps the pristine copy --------------------------------------


def test_force_over_an_edited_patched_file_keeps_its_pristine_copy(run: Run, applied: Path) -> None:
    edited = PATCHED.replace(b"line 30\n", b"line thirty (local)\n")
    (applied / "demo/mod.py").write_bytes(edited)
    assert run()[0] == 1
    code, out, _ = run("--force")
    assert code == 0, out
    assert (applied / "demo/mod.py").read_bytes() == edited
    assert (applied / ".sitepatch/pristine/demo/mod.py").read_bytes() == SOURCE
    assert run("revert")[0] == 0
    assert (applied / "demo/mod.py").read_bytes() == SOURCE


# -- 8. ownership is by directory, not by top-level name -------------------------------------------------


def test_a_patch_cannot_create_files_in_another_distributions_namespace_directory(
    run: Run, tmp_path: Path, patches: Path
) -> None:
    site = make_site(
        tmp_path / "ns", {"google/protobuf/__init__.py": b"", "google/protobuf/x.py": b"x\n"}, name="protobuf"
    )
    make_site(site, {"google/auth/__init__.py": b""}, name="google-auth")
    evil = make_diff(None, b"evil = 1\n", "google/auth/evil.py")
    write_patch(patches, "0001-x.diff", evil, package="protobuf")
    code, out, err = run("--site-packages", str(site))
    assert code == 1
    assert "google/auth/evil.py is not a file of protobuf" in out + err
    assert not (site / "google/auth/evil.py").exists()
    (patches / "0001-x.diff").unlink()
    fine = make_diff(None, b"fine = 1\n", "google/protobuf/fine.py") + make_diff(None, b"", "google/protobuf/sub/a.py")
    write_patch(patches, "0002-y.diff", fine, package="protobuf")
    code, out, err = run("--site-packages", str(site))
    assert code == 0, out + err
    assert (site / "google/protobuf/fine.py").read_bytes() == b"fine = 1\n"


# -- 10. signals while writing ---------------------------------------------------------------------------

SLOW_RUN = """
import sys, time
from pathlib import Path
from sitepatch.cli import main
marker = Path(sys.argv[1])
def hook(step):
    if step.startswith("write "):
        if step.endswith("m3.py"):
            marker.write_text("writing")
        time.sleep(0.2)
sys.exit(main(sys.argv[2:], hook=hook))
"""


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_while_writing_rolls_back_before_exit(
    tmp_path: Path, patches: Path, signum: signal.Signals, code: int
) -> None:
    files = {f"demo/m{i}.py": b"".join(f"m{i} {n}\n".encode() for n in range(20)) for i in range(8)}
    site = make_site(tmp_path / "sig", {"demo/__init__.py": b"", **files})
    for i, (path, data) in enumerate(files.items()):
        write_patch(patches, f"{i + 1:04d}-m{i}.diff", make_diff(data, data.replace(b" 10\n", b" ten\n"), path))
    pristine = snapshot(site)
    marker = tmp_path / "marker"
    args = ["--site-packages", str(site), "--patches", str(patches)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", SLOW_RUN, str(marker), *args], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert b"every file was restored" in err
    assert snapshot(site) == pristine
    assert not (site / ".sitepatch/journal.json").exists()
    assert not (site / ".sitepatch/manifest.json").exists()
    assert not list(site.rglob("*.sitepatch-tmp"))
    assert not list((site / ".sitepatch").glob("pristine/**/*.py"))


@pytest.mark.parametrize(
    ("step", "outcome", "message"),
    [
        pytest.param("journal", SOURCE, "nothing in the target had been changed", id="before writing"),
        pytest.param("write demo/mod.py", SOURCE, "every file was restored", id="while writing"),
        pytest.param("finish", PATCHED, "passed its commit point, so it finished first", id="after the commit"),
    ],
)
def test_a_sigterm_in_process_is_deferred_to_a_clean_stop(
    run: Run, site: Path, patches: Path, step: str, outcome: bytes, message: str
) -> None:
    write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))

    def signal_at(name: str) -> None:
        if name == step:
            os.kill(os.getpid(), signal.SIGTERM)

    code, out, _ = run("--json", hook=signal_at)
    assert code == 143
    assert message in json.loads(out)["error"]
    assert (site / "demo/mod.py").read_bytes() == outcome
    assert not (site / ".sitepatch/journal.json").exists()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    kept = list((site / ".sitepatch").glob("pristine/**/*.py"))
    assert bool(kept) == (outcome == PATCHED)


def test_a_run_in_another_thread_writes_without_deferring_signals(site: Path, patches: Path) -> None:
    import threading

    from sitepatch.cli import main

    write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))
    codes: list[int] = []
    args = ["--site-packages", str(site), "--patches", str(patches)]
    worker = threading.Thread(target=lambda: codes.append(main(args)))
    worker.start()
    worker.join()
    assert codes == [0]
    assert (site / "demo/mod.py").read_bytes() == PATCHED


# -- 12. the output contract -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(("apply", "--max-fuzz", "-1"), "--max-fuzz", id="negative fuzz"),
        pytest.param(("apply", "--lock-timeout", "nan"), "--lock-timeout", id="nan timeout"),
        pytest.param(("apply", "--lock-timeout", "inf"), "--lock-timeout", id="infinite timeout"),
        pytest.param(("apply", "--no-such-option"), "unrecognized arguments", id="unknown option"),
        pytest.param(("lock", "nonsense"), "invalid choice", id="bad choice"),
    ],
)
def test_usage_errors_with_json_print_a_json_error_and_exit_2(run: Run, args: tuple[str, ...], message: str) -> None:
    code, out, err = run(*args, "--json")
    assert code == 2
    doc = json.loads(out)
    assert doc["ok"] is False
    assert message in doc["error"]
    assert message in err


def test_usage_errors_without_json_exit_2_with_usage(run: Run) -> None:
    code, out, err = run("apply", "--max-fuzz", "-1")
    assert code == 2
    assert out == ""
    assert "usage:" in out + err
    assert "--max-fuzz" in out + err


def test_a_missing_patch_directory_is_an_environment_error(run: Run, tmp_path: Path) -> None:
    code, out, _ = run("--patches", str(tmp_path / "nowhere"), "--json")
    assert code == 2
    assert "patch directory not found" in json.loads(out)["error"]


def test_a_site_packages_with_nothing_installed_is_exit_2(run: Run, tmp_path: Path, patches: Path) -> None:
    write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))
    empty = tmp_path / "empty"
    empty.mkdir()
    for command in ("apply", "check"):
        code, out, err = run(command, "--site-packages", str(empty))
        assert code == 2
        assert "nothing is installed" in out + err
    assert list(empty.iterdir()) == []


def test_a_crlf_patch_file_applies_like_gnu_patch(run: Run, site: Path, patches: Path) -> None:
    path = write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    code, out, err = run()
    assert code == 0, out + err
    assert (site / "demo/mod.py").read_bytes() == PATCHED


def test_a_malformed_hunk_header_is_reported_at_its_own_line(run: Run, site: Path, patches: Path) -> None:
    diff = make_diff(SOURCE, PATCHED, "demo/mod.py").replace(b"@@ -17,7 +17,7 @@", b"@@ -17,7 +17,7 @")
    write_patch(patches, "0001-x.diff", diff)
    code, out, err = run()
    assert code == 1
    assert "0001-x.diff:7: malformed" in out + err


def test_a_failed_write_leaves_no_pristine_copies(run: Run, site: Path, patches: Path) -> None:
    write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))

    def fail(step: str) -> None:
        if step == "manifest":
            raise OSError(28, "No space left on device")

    code, _, _ = run(hook=fail)
    assert code == 2
    assert not list((site / ".sitepatch").glob("pristine/**/*.py"))
    assert (site / "demo/mod.py").read_bytes() == SOURCE


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_named_like_a_patch_is_refused_without_opening_it(run: Run, site: Path, patches: Path) -> None:
    os.mkfifo(patches / "0001-fifo.diff")
    assert stat.S_ISFIFO((patches / "0001-fifo.diff").stat().st_mode)
    code, out, err = run()
    assert code == 1
    assert "0001-fifo.diff: not a regular file" in out + err


def test_an_identical_creation_reports_its_hunks_already_applied(run: Run, site: Path, patches: Path) -> None:
    write_patch(patches, "0001-new.diff", make_diff(None, b"new = 1\n", "demo/new.py"))
    (site / "demo/new.py").write_bytes(b"new = 1\n")
    code, out, _ = run("--json", "--force")
    (file,) = json.loads(out)["patches"][0]["files"]
    assert code == 0
    assert (file["status"], {h["status"] for h in file["hunks"]}) == ("already-applied", {"already-applied"})


# -- deliberate differences from GNU patch -----------------------------------------------------------------


def test_a_partly_applied_patch_fails_naming_its_hunks(run: Run, site: Path, patches: Path) -> None:
    new = PATCHED.replace(b"line 35\n", b"line thirty-five\n")
    write_patch(patches, "0001-two.diff", make_diff(SOURCE, new, "demo/mod.py"))
    half = SOURCE.replace(b"line 35\n", b"line thirty-five\n")  # GNU patch judges by hunk #1 alone
    (site / "demo/mod.py").write_bytes(half)
    code, out, err = run("--force")
    assert code == 1
    assert "partly applied: hunks #2 are already applied, the others are not" in out + err
    assert (site / "demo/mod.py").read_bytes() == half


# -- A. Depends: ---------------------------------------------------------------------------------------------


def test_a_patch_whose_dependency_is_not_selected_is_refused_before_any_write(
    run: Run, site: Path, patches: Path
) -> None:
    write_patch(patches, "0004-base.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"), versions="<1.0")
    later = make_diff(SOURCE, SOURCE.replace(b"line 2\n", b"line two\n"), "demo/mod.py")
    write_patch(patches, "0005-on-top.diff", later, extra={"Depends": "0004"})
    code, out, err = run()
    assert code == 1
    assert "0005-on-top.diff:4: Depends: 0004" in out + err
    assert "0004-base.diff" in out + err
    assert "is not selected" in out + err
    assert (site / "demo/mod.py").read_bytes() == SOURCE
    assert not (site / ".sitepatch").exists()


def test_a_dependency_on_a_patch_that_does_not_exist_is_refused(run: Run, site: Path, patches: Path) -> None:
    later = make_diff(SOURCE, PATCHED, "demo/mod.py")
    write_patch(patches, "0005-on-top.diff", later, extra={"Depends": "0004"})
    code, out, err = run()
    assert code == 1
    assert "0005-on-top.diff:4: Depends: 0004, but patch 0004 is not selected" in out + err
    assert "there is no patch 0004" in out + err
    assert (site / "demo/mod.py").read_bytes() == SOURCE


def test_a_dependency_that_is_selected_is_fine_and_a_bad_depends_value_is_refused(
    run: Run, site: Path, patches: Path
) -> None:
    write_patch(patches, "0004-base.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))
    later = PATCHED.replace(b"line 2\n", b"line two\n")
    path = write_patch(patches, "0005-on-top.diff", make_diff(PATCHED, later, "demo/mod.py"), extra={"Depends": "0004"})
    assert run()[0] == 0
    assert (site / "demo/mod.py").read_bytes() == later
    path.write_text(path.read_text().replace("Depends: 0004", "Depends: 4, 0004"))
    code, out, err = run()
    assert code == 1
    assert "0005-on-top.diff:4: Depends: '4' is not a patch id" in out + err


def test_a_dependency_that_upstream_ships_holds(run: Run, site: Path, patches: Path) -> None:
    """``Depends: 0004`` where the installed release already has 0004's fix (its ``Applied-Upstream``
    reached): the dependent patch applies alone, and the dependency is reported as fixed upstream."""
    write_patch(patches, "0004-base.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"), extra={"Applied-Upstream": "1.0"})
    later = make_diff(SOURCE, SOURCE.replace(b"line 2\n", b"line two\n"), "demo/mod.py")
    write_patch(patches, "0005-on-top.diff", later, extra={"Depends": "0004"})
    code, out, err = run()
    assert code == 0, out + err
    assert (site / "demo/mod.py").read_bytes() == SOURCE.replace(b"line 2\n", b"line two\n")
    assert "fixed upstream" in out + err


# -- roll-back copies ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "second", [pytest.param(False, id="first apply"), pytest.param(True, id="apply over an apply")]
)
def test_a_killed_run_rolls_back_from_the_pristine_copy_or_its_own_copy(
    run: Run, site: Path, patches: Path, second: bool
) -> None:
    first = write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))
    if second:
        assert run()[0] == 0
        # The set grows: the file before the run is the first patch's result, not the pristine image.
        both = PATCHED.replace(b"line 30\n", b"line thirty\n")
        first.unlink()
        write_patch(patches, "0001-twenty.diff", make_diff(SOURCE, both, "demo/mod.py"))
    before = snapshot(site)
    journal = interrupted(run, site)
    (entry,) = journal["files"]  # type: ignore[misc]
    assert entry["kept"] is (not second)
    assert (site / ".sitepatch/txn/demo/mod.py").exists() is second
    # The next run rolls the killed one back first, from whichever copy the journal names.
    state = StateDir(site)
    with state.lock():
        assert state.recover().startswith("rolled back")
    assert snapshot(site) == before
    assert not (site / ".sitepatch/txn").exists()


def test_a_new_sub_package_inside_the_distributions_own_package_is_its_own(
    run: Run, tmp_path: Path, patches: Path
) -> None:
    # As upstream's 1.80.11 adds litellm/llms/litellm_proxy/skills/ where litellm_proxy/ holds only packages.
    site = make_site(tmp_path / "own", {"pkg/__init__.py": b"", "pkg/llms/proxy/chat/a.py": b"a\n"}, name="pkg")
    write_patch(
        patches, "0001-x.diff", make_diff(None, b"new = 1\n", "pkg/llms/proxy/skills/__init__.py"), package="pkg"
    )
    code, out, err = run("--site-packages", str(site))
    assert code == 0, out + err
    assert (site / "pkg/llms/proxy/skills/__init__.py").read_bytes() == b"new = 1\n"


# -- B. durability without os.sync() ---------------------------------------------------------------------------


def test_a_run_fsyncs_its_files_and_directories_and_never_calls_sync(
    run: Run, tmp_path: Path, patches: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {f"demo/sub{i % 2}/m{i}.py": f"m{i} 1\nm{i} 2\nm{i} 3\n".encode() for i in range(8)}
    site = make_site(tmp_path / "durable", {"demo/__init__.py": b"", **files})
    for i, (path, data) in enumerate(files.items()):
        write_patch(patches, f"{i + 1:04d}-m{i}.diff", make_diff(data, data.replace(b" 2\n", b" two\n"), path))

    def no_sync() -> None:
        raise AssertionError("os.sync() flushes the whole machine")

    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "sync", no_sync)
    monkeypatch.setattr(os, "fsync", fsync)
    code, out, _ = run("--site-packages", str(site))
    assert code == 0, out
    root = str(site.resolve())
    for path in files:
        assert f"{root}/{path}" in synced  # the patched file
        # On a first apply its pristine copy is also its roll-back copy (no txn/ copy): synced before the
        # journal names it.
        assert f"{root}/.sitepatch/pristine/{path}" in synced
        assert f"{root}/.sitepatch/txn/{path}" not in synced
    for directory in ("demo/sub0", "demo/sub1", "demo", ".sitepatch", ".sitepatch/pristine/demo/sub0"):
        assert synced.count(f"{root}/{directory}") >= 1, directory
    # Once per directory per step: the two directories of the patched files, once each.
    assert synced.count(f"{root}/demo/sub0") == 1
    # The journal and the manifest are synced as their temporary files, before they replace the old ones.
    assert f"{root}/.sitepatch/.journal.json.sitepatch-tmp" in synced
    assert f"{root}/.sitepatch/.manifest.json.sitepatch-tmp" in synced
