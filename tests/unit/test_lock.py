"""versions.lock: checking it against the patch set, verifying and refreshing a pin from a manifest."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from fakesite import SOURCE, make_diff, write_patch
from sitepatch.lockfile import Lock, check_lock
from sitepatch.parse import load_patches

REPO = Path(__file__).resolve().parents[2]
Run = Callable[..., tuple[int, str, str]]
PATCHED = SOURCE.replace(b"line 20\n", b"line twenty\n")


def lock_text(patches: dict[str, str] | None = None, files: dict[str, str | None] | None = None) -> str:
    pin = {
        "python": "3.11",
        "requirements": "pins/demo.txt",
        "notes": "kept as written",
        "distributions": {"demo": "1.0"},
        "patches": patches or {},
        "files": files or {},
    }
    return json.dumps({"schema_version": 1, "pins": {"1.0": pin}})


def test_the_repository_lock_matches_the_patch_set() -> None:
    """A patch added, changed or re-ranged without refreshing versions.lock fails here."""
    lock = Lock.from_json((REPO / "versions.lock").read_text(), where="versions.lock")
    assert check_lock(lock, load_patches(REPO / "patches")) == []


def test_every_pin_selects_at_most_one_variant_of_each_patch() -> None:
    from sitepatch.selection import select_patches

    lock = Lock.from_json((REPO / "versions.lock").read_text(), where="versions.lock")
    patches = load_patches(REPO / "patches")
    for pin in lock.pins:
        chosen = [d.patch.number for d in select_patches(patches, pin.versions) if d.selected]
        assert len(chosen) == len(set(chosen)), pin.id


def test_check_reports_unlisted_changed_and_stale_patches(tmp_path: Path) -> None:
    patches = tmp_path / "patches"
    a = write_patch(patches, "0001-a.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))
    write_patch(patches, "0002-b.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))
    lock = Lock.from_json(lock_text({"0001-a.diff": "0" * 64, "0003-gone.diff": "1" * 64}), where="x")
    problems = check_lock(lock, load_patches(patches))
    assert problems == [
        "pin 1.0: 0002-b.diff is selected there but not in versions.lock; refresh the lock",
        "pin 1.0: 0001-a.diff changed since versions.lock was written; refresh the lock",
        "pin 1.0: versions.lock lists 0003-gone.diff, which is not in patches/; refresh the lock",
    ]
    del a


def test_lock_update_then_verify_round_trips(run: Run, site: Path, patches: Path, tmp_path: Path) -> None:
    write_patch(patches, "0001-a.diff", make_diff(SOURCE, PATCHED, "demo/mod.py"))
    lockfile = tmp_path / "versions.lock"
    lockfile.write_text(lock_text())
    code, _, err = run("lock", "check", "--lockfile", str(lockfile))
    assert code == 1
    assert "0001-a.diff is selected there but not in versions.lock" in err
    assert run()[0] == 0
    assert run("lock", "verify", "--pin", "1.0", "--lockfile", str(lockfile))[0] == 1
    code, out, _ = run("lock", "update", "--pin", "1.0", "--lockfile", str(lockfile))
    assert code == 0
    assert "recorded 1 patch(es), 1 file(s)" in out
    doc = json.loads(lockfile.read_text())
    assert list(doc["pins"]["1.0"]["patches"]) == ["0001-a.diff"]
    assert doc["pins"]["1.0"]["notes"] == "kept as written"
    assert run("lock", "verify", "--pin", "1.0", "--lockfile", str(lockfile))[0] == 0
    assert run("lock", "check", "--lockfile", str(lockfile))[0] == 0
    (site / "demo/mod.py").write_bytes(PATCHED + b"# drift\n")
    assert run("--force")[0] == 0
    code, _, err = run("lock", "verify", "--pin", "1.0", "--lockfile", str(lockfile))
    assert code == 1
    assert "patched files differ from versions.lock: ['demo/mod.py']" in err


def test_unknown_pins_and_missing_locks_are_clear_errors(run: Run, tmp_path: Path) -> None:
    lockfile = tmp_path / "versions.lock"
    lockfile.write_text(lock_text())
    code, _, err = run("lock", "verify", "--pin", "9.9", "--lockfile", str(lockfile))
    assert code == 2
    assert "no pin '9.9' (pins: 1.0)" in err
    code, _, err = run("lock", "verify", "--lockfile", str(lockfile))
    assert code == 2
    assert "needs --pin ID" in err
    code, _, err = run("lock", "check", "--lockfile", str(tmp_path / "none.lock"))
    assert code == 2
    assert "no lock file" in err


@pytest.mark.parametrize("text", ["{", '{"schema_version": 2, "pins": {}}', '{"schema_version": 1}'])
def test_a_broken_lock_is_a_clear_error(text: str) -> None:
    from sitepatch.errors import ManifestError

    with pytest.raises(ManifestError):
        Lock.from_json(text, where="versions.lock")


def test_every_patch_names_regression_tests_that_carry_its_marker() -> None:
    for patch in load_patches(REPO / "patches"):
        assert patch.tests, f"{patch.name} has no Test: field"
        for node in patch.tests:
            module = REPO / node.split("::")[0]
            assert module.is_file(), f"{patch.name}: Test names {node}, which does not exist"
            text = module.read_text()
            assert f'patch("{patch.number}")' in text, f"{module.name} is not marked with patch {patch.number}"
            if "::" in node:
                assert f"def {node.split('::')[1].split('[')[0]}(" in text, f"{patch.name}: no test {node}"
