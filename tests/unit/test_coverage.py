"""The guard against unprotected installs, the coverage record, and ``constraints``."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.version import Version

from fakesite import SOURCE, make_diff, write_patch
from sitepatch.coverage import CoverageRecord, check_coverage, constraints_text, covered_releases, pairings_of
from sitepatch.errors import ManifestError, PatchSetError
from sitepatch.parse import load_patches

FIXED = SOURCE.replace(b"line 20\n", b"line 20 fixed\n")
Run = Callable[..., tuple[int, str, str]]


def add_patch(patches: Path, versions: str, **extra: str) -> None:
    write_patch(patches, "0001-fix.diff", make_diff(SOURCE, FIXED, "demo/mod.py"), versions=versions, extra=extra)


def write_record(patches: Path, releases: dict[str, dict[str, str]], **more: object) -> Path:
    loaded = load_patches(patches)
    doc = {
        "schema_version": 1,
        "package": "demo",
        "generated": "2026-12-01T00:00:00Z",
        "variants": {p.name: p.sha256 for p in loaded},
        "releases": {
            version: {"paired": {}, "group": i, "verdicts": {"0001": verdict}}
            for i, (version, verdict) in enumerate(releases.items())
        },
        "evidence": [],
        **more,
    }
    path = patches.parent / "coverage.json"
    path.write_text(json.dumps(doc))
    return path


def test_an_install_no_variant_covers_is_reported_unprotected(run: Run, patches: Path) -> None:
    add_patch(patches, ">=0.5,<1.0")

    code, out, _ = run("check")

    assert code == 0
    assert "warning: this install is NOT protected: no variant of patch 0001 covers demo 1.0" in out


def test_json_lists_uncovered_patches(run: Run, patches: Path) -> None:
    add_patch(patches, ">=0.5,<1.0")

    _, out, _ = run("check", "--json")

    (entry,) = json.loads(out)["uncovered"]
    assert entry == {"patch": "0001", "package": "demo", "version": "1.0", "reason": entry["reason"]}
    assert entry["reason"] == "no variant's Versions admit it"


@pytest.mark.parametrize("command", ["check", "apply"])
def test_strict_exits_1_on_an_uncovered_install(run: Run, patches: Path, command: str) -> None:
    add_patch(patches, ">=0.5,<1.0")

    code, out, _ = run(command, "--strict")

    assert code == 1
    assert "strict: 1 uncovered patch(es); nothing written; exit 1" in out


@pytest.mark.parametrize(
    ("versions", "extra"),
    [
        pytest.param(">=0.5,<1.0", {"Applied-Upstream": "1.0"}, id="fixed upstream"),
        pytest.param(">=0.5,<1.0", {"Affects": "<1.0"}, id="outside Affects"),
        pytest.param(">=1.1", {}, id="older than every variant"),
        pytest.param(">=1.0", {}, id="a variant is selected"),
    ],
)
def test_a_covered_or_unaffected_install_passes_strict(
    run: Run, patches: Path, versions: str, extra: dict[str, str]
) -> None:
    add_patch(patches, versions, **extra)

    code, out, _ = run("check", "--strict", "--json")

    assert code == 0, out
    assert json.loads(out)["uncovered"] == []


def test_affects_naming_the_installed_version_makes_it_uncovered(run: Run, patches: Path) -> None:
    add_patch(patches, ">=2.0", Affects=">=0.9")

    code, _, _ = run("check", "--strict")

    assert code == 1


def test_a_version_newer_than_every_swept_release_is_uncovered(run: Run, patches: Path) -> None:
    add_patch(patches, ">=0.5,<1.0")
    write_record(patches, {"0.9": {"status": "applies", "variant": "0001-fix.diff"}})

    _, out, _ = run("check")

    assert "newer than every swept release (0.9)" in out


@pytest.mark.parametrize(
    "extra",
    [pytest.param({}, id="no Affects"), pytest.param({"Affects": ">=1.1"}, id="Affects above the install")],
)
def test_a_version_older_than_every_swept_release_is_not_verified_and_fails_strict(
    run: Run, patches: Path, extra: dict[str, str]
) -> None:
    """Below the record's floor nothing was swept or tested: unknown is not protected, whatever Affects says."""
    add_patch(patches, ">=1.1", **extra)
    write_record(patches, {"1.1": {"status": "applies", "variant": "0001-fix.diff"}})

    code, out, _ = run("check", "--strict")

    assert code == 1
    assert "no variant of patch 0001 covers demo 1.0 (not verified: older than every swept release (demo 1.1))" in out


def test_a_companion_older_than_every_paired_release_is_not_verified(run: Run, patches: Path) -> None:
    """The floor of a companion distribution is the oldest version a swept release was paired with."""
    add_patch(patches, ">=1.1", Affects=">=1.1")
    path = write_record(patches, {"1.1": {"status": "applies", "variant": "0001-fix.diff"}})
    doc = json.loads(path.read_text())
    doc["package"] = "other"
    doc["releases"]["1.1"]["paired"] = {"demo": "1.1", "unrelated": "not a version"}
    path.write_text(json.dumps(doc))

    code, out, _ = run("check", "--strict")

    assert code == 1
    assert "not verified: older than every swept release (demo 1.1)" in out


def test_the_floor_of_a_companion_counts_every_pairing_not_only_the_default(run: Run, patches: Path) -> None:
    add_patch(patches, ">=1.0", Affects=">=1.0")
    path = write_record(patches, {"1.1": {"status": "applies", "variant": "0001-fix.diff"}})
    doc = json.loads(path.read_text())
    doc["package"] = "other"
    doc["releases"]["1.1"]["paired"] = {"demo": "1.1"}
    doc["releases"]["1.1"]["pairings"] = [
        {"paired": {"demo": "1.0"}, "chosen": "admitted", "group": 9, "verdicts": {"0001": {"status": "applies"}}}
    ]
    path.write_text(json.dumps(doc))
    record = CoverageRecord.load(path)
    assert record is not None

    assert record.oldest("demo") == Version("1.0")
    code, _, _ = run("check", "--strict")
    assert code == 0


def test_a_gap_in_another_pairing_is_a_problem_of_the_record(patches: Path) -> None:
    add_patch(patches, ">=1.0")
    path = write_record(patches, {"1.0": {"status": "applies", "variant": "0001-fix.diff"}})
    doc = json.loads(path.read_text())
    doc["releases"]["1.0"]["paired"] = {"ent": "0.2"}
    doc["releases"]["1.0"]["pairings"] = [
        {"paired": {"ent": "0.3"}, "group": 5, "verdicts": {"0001": {"status": "not-selected", "gap": True}}}
    ]
    path.write_text(json.dumps(doc))
    record = CoverageRecord.load(path)
    assert record is not None

    (problem,) = check_coverage(record, load_patches(patches))

    assert problem.startswith("coverage record: 0001 leaves demo 1.0 with ent 0.3 unprotected (a gap")
    assert covered_releases(record, load_patches(patches)) == (
        [],
        {"1.0": "with ent 0.3: 0001 not covered (no variant's Versions admit it)"},
    )


def test_evidence_that_the_tests_pass_unpatched_clears_the_guard(run: Run, patches: Path) -> None:
    add_patch(patches, ">=0.5,<1.0")
    evidence = [{"release": "1.0", "patch": "0001", "variant": "0001-fix.diff", "unpatched": "passed"}]
    write_record(patches, {"1.0": {"status": "not-selected"}}, evidence=evidence)

    code, _, _ = run("check", "--strict")

    assert code == 0


def test_constraints_admit_only_covered_releases(run: Run, patches: Path) -> None:
    add_patch(patches, ">=1.0,<1.2")
    write_record(
        patches,
        {
            "1.0": {"status": "applies", "variant": "0001-fix.diff", "fuzz": 0},
            "1.1": {"status": "applies", "variant": "0001-fix.diff", "fuzz": 1},
            "1.1.1": {"status": "applies", "variant": "0001-fix.diff", "fuzz": 0},
            "1.2": {"status": "not-selected"},
        },
    )

    code, out, _ = run("constraints")

    assert code == 0
    assert out.splitlines()[-1] == "demo>=1.0,<=1.1.1,!=1.1"
    assert "#   1.1: 0001 applies only with fuzz 1" in out
    assert "#   1.2: 0001 not covered (no variant's Versions admit it)" in out


def test_constraints_without_a_record_say_how_to_make_one(run: Run, patches: Path) -> None:
    add_patch(patches, ">=1.0")

    code, _, err = run("constraints")

    assert code == 2
    assert "run `apply_patches.py sweep --record" in err


def test_no_covered_release_is_an_error(patches: Path) -> None:
    add_patch(patches, ">=1.0")
    path = write_record(patches, {"1.0": {"status": "conflicts", "variant": "0001-fix.diff"}})
    record = CoverageRecord.load(path)
    assert record is not None

    with pytest.raises(ManifestError, match="no swept demo release is covered"):
        constraints_text(record, load_patches(patches))
    assert covered_releases(record, load_patches(patches))[1] == {"1.0": "0001: conflicts"}


def test_lock_check_reports_a_stale_coverage_record(patches: Path) -> None:
    add_patch(patches, ">=1.0")
    path = write_record(patches, {"1.0": {"status": "conflicts", "variant": "0001-fix.diff"}})
    add_patch(patches, ">=1.0", Affects=">=1.0")
    record = CoverageRecord.load(path)
    assert record is not None

    problems = check_coverage(record, load_patches(patches))

    assert problems == [
        "coverage record: 0001-fix.diff changed since it was swept; rerun sweep --record",
        "coverage record: 0001 conflicts on demo 1.0 (0001-fix.diff); fix the variant's Versions or refresh it",
    ]


def test_an_invalid_affects_header_is_refused(patches: Path) -> None:
    add_patch(patches, ">=1.0", Affects="1.0")

    with pytest.raises(PatchSetError, match=re.escape("did you mean '==1.0'")):
        load_patches(patches)


def test_a_record_of_another_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "coverage.json"
    path.write_text(json.dumps({"schema_version": 9}))

    with pytest.raises(ManifestError, match="schema_version must be 1"):
        CoverageRecord.load(path)


def test_evidence_of_a_group_speaks_for_its_releases(patches: Path) -> None:
    add_patch(patches, ">=1.0,<1.2", **{"Applied-Upstream": "1.2"})
    evidence = [
        {
            "release": "1.0",
            "patch": "0001",
            "variant": "0001-fix.diff",
            "unpatched": "defect-shown",
            "patched": "failed",
        },
        {"release": "1.2", "patch": "0001", "variant": "", "unpatched": "defect-shown", "patched": "not-applied"},
    ]
    path = write_record(
        patches,
        {
            "1.0": {"status": "applies", "variant": "0001-fix.diff"},
            "1.0.1": {"status": "applies", "variant": "0001-fix.diff"},
            "1.2": {"status": "fixed-upstream"},
            "1.3": {"status": "fixed-upstream"},
        },
        evidence=evidence,
    )
    doc = json.loads(path.read_text())
    doc["releases"]["1.0.1"]["group"] = doc["releases"]["1.0"]["group"]
    path.write_text(json.dumps(doc))
    record = CoverageRecord.load(path)
    assert record is not None

    good, bad = covered_releases(record, load_patches(patches))

    assert good == [Version("1.3")]
    assert bad == {
        "1.0": "0001: tests do not pass patched on 1.0 (failed)",
        "1.0.1": "0001: tests do not pass patched on 1.0 (failed)",
        "1.2": "0001: marked fixed upstream, but its tests fail unpatched on 1.2",
    }


def test_a_fixed_patch_whose_dependency_is_still_needed_is_not_contradicted_by_failing_unpatched(
    patches: Path,
) -> None:
    # 0005-like: fixed upstream at 1.2, but it Depends on 0001, which 1.2 still needs; its tests go through
    # 0001's code too, so they cannot pass on the unpatched 1.2 and say nothing against the upstream fix.
    add_patch(patches, ">=1.0,<1.3")
    other = SOURCE.replace(b"line 40\n", b"line 40 fixed\n")
    extra = {"Applied-Upstream": "1.2", "Depends": "0001"}
    write_patch(patches, "0002-dep.diff", make_diff(SOURCE, other, "demo/other.py"), versions=">=1.0", extra=extra)
    evidence = [
        {"release": "1.2", "patch": "0002", "variant": "", "unpatched": "defect-shown", "patched": "not-applied"}
    ]
    path = write_record(patches, {"1.2": {"status": "applies", "variant": "0001-fix.diff"}}, evidence=evidence)
    doc = json.loads(path.read_text())
    doc["releases"]["1.2"]["verdicts"]["0002"] = {"status": "fixed-upstream"}
    path.write_text(json.dumps(doc))
    record = CoverageRecord.load(path)
    assert record is not None

    good, bad = covered_releases(record, load_patches(patches))

    assert good == [Version("1.2")]
    assert bad == {}

    # ... but its tests must pass once the dependency is applied (evidence's patched run, without 0002 itself).
    doc["evidence"][0]["patched"] = "failed"
    path.write_text(json.dumps(doc))
    record = CoverageRecord.load(path)
    assert record is not None
    assert covered_releases(record, load_patches(patches)) == (
        [],
        {"1.2": "0002: marked fixed upstream, but its tests fail with the set applied on 1.2"},
    )


REPO = Path(__file__).resolve().parents[2]


def test_the_repositorys_coverage_record_matches_the_patch_set_and_has_no_gap() -> None:
    record = CoverageRecord.load(REPO / "coverage.json")
    if record is None:
        pytest.skip("no coverage.json (run: python apply_patches.py sweep --record coverage.json)")
    patches = load_patches(REPO / "patches")

    assert check_coverage(record, patches) == [], "rerun: python apply_patches.py sweep --record coverage.json"
    gaps = [
        (version, pairing["paired"], number)
        for version, row in record.releases.items()
        for pairing in pairings_of(row)
        for number, cell in pairing["verdicts"].items()
        if cell.get("status") in ("conflicts", "error") or cell.get("gap")
    ]
    assert gaps == []


def test_lock_check_reports_a_gap_in_the_record(patches: Path) -> None:
    add_patch(patches, ">=1.0")
    path = write_record(patches, {"1.0": {"status": "not-selected", "gap": True}})
    record = CoverageRecord.load(path)
    assert record is not None

    (problem,) = check_coverage(record, load_patches(patches))

    assert problem.startswith("coverage record: 0001 leaves demo 1.0 unprotected (a gap")


def _two_variants(patches: Path) -> None:
    """0001 in two variants: ``+a`` for 1.0, ``+b`` for 1.1 (as 0010 has ``+1.105`` for the newest releases)."""
    diff = make_diff(SOURCE, FIXED, "demo/mod.py")
    write_patch(patches, "0001-fix+a.diff", diff, versions=">=1.0,<1.1")
    write_patch(patches, "0001-fix+b.diff", diff, versions=">=1.1")


def _record_of_two_variants(patches: Path) -> Path:
    _two_variants(patches)
    return write_record(
        patches,
        {
            "1.0": {"status": "applies", "variant": "0001-fix+a.diff"},
            "1.1": {"status": "applies", "variant": "0001-fix+b.diff"},
        },
    )


def test_constraints_admit_both_variants_releases_while_the_record_matches(run: Run, patches: Path) -> None:
    _record_of_two_variants(patches)

    code, out, err = run("constraints")

    assert code == 0, err
    assert out.splitlines()[-1] == "demo>=1.0,<=1.1"


def test_constraints_refuse_a_record_whose_variant_was_deleted(run: Run, patches: Path) -> None:
    # Issue 19 item 5: with 0010 +1.105 deleted, the record still admitted 1.105 to 1.110.2, which
    # `check --strict` calls NOT protected.
    path = _record_of_two_variants(patches)
    (patches / "0001-fix+b.diff").unlink()

    code, out, err = run("constraints")

    assert code == 2
    assert out == ""
    assert "0001-fix+b.diff was swept but is no longer in the patch set" in err
    assert f"rerun `apply_patches.py sweep --record {path}`" in err
    assert "Traceback" not in err


def test_constraints_refuse_a_record_whose_variant_changed(run: Run, patches: Path) -> None:
    _record_of_two_variants(patches)
    diff = make_diff(SOURCE, SOURCE.replace(b"line 21\n", b"line 21 other\n"), "demo/mod.py")
    write_patch(patches, "0001-fix+b.diff", diff, versions=">=1.1")

    code, _, err = run("constraints", "--output", str(patches.parent / "c.txt"))

    assert code == 2
    assert "0001-fix+b.diff changed since it was swept" in err
    assert not (patches.parent / "c.txt").exists()


def test_constraints_refuse_a_record_that_never_saw_a_variant(run: Run, patches: Path) -> None:
    _record_of_two_variants(patches)
    write_patch(patches, "0001-fix+c.diff", make_diff(SOURCE, FIXED, "demo/mod.py"), versions="==0.9")

    code, _, err = run("constraints")

    assert code == 2
    assert "0001-fix+c.diff was never swept" in err


def test_the_constraints_text_itself_refuses_a_stale_record(patches: Path) -> None:
    path = _record_of_two_variants(patches)
    (patches / "0001-fix+a.diff").unlink()
    record = CoverageRecord.load(path)
    assert record is not None

    with pytest.raises(ManifestError, match=re.escape("0001-fix+a.diff was swept but is no longer")):
        constraints_text(record, load_patches(patches))
