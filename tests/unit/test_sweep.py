"""``sweep``: every release on a (fake, local) index planned without installing; range requests; the cache."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fakeindex import FakeIndex, make_wheel, serve
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from fakesite import SOURCE, make_diff, write_patch
from sitepatch.cli import main
from sitepatch.coverage import CoverageRecord, check_coverage, covered_releases
from sitepatch.parse import load_patches
from sitepatch.remote import HttpFetcher, Release, ReleaseCache, list_releases
from sitepatch.sweep import choose_releases, enterprise_pin

FIXED = SOURCE.replace(b"line 20\n", b"line 20 fixed\n")
MOVED = b"".join(f"new {i}\n".encode() for i in range(5)) + SOURCE
CHANGED = SOURCE.replace(b"line 19\n", b"line nineteen\n")
ENT = b"".join(f"ent {i}\n".encode() for i in range(1, 21))
ENT_FIXED = ENT.replace(b"ent 10\n", b"ent 10 fixed\n")


def demo_wheel(version: str, source: bytes, *, requires: tuple[str, ...] = (), padding: int = 0) -> bytes:
    return make_wheel(
        "demo", version, {"demo/__init__.py": b"", "demo/mod.py": source}, requires=requires, padding=padding
    )


@pytest.fixture
def index() -> Iterator[FakeIndex]:
    fake = FakeIndex()
    pin = ('demo-extra (==0.2) ; extra == "proxy"',)
    fake.add("demo", "1.0", demo_wheel("1.0", SOURCE, requires=pin, padding=200_000))
    fake.add("demo", "1.1", demo_wheel("1.1", SOURCE, requires=pin, padding=200_000))
    fake.add("demo", "1.2", demo_wheel("1.2", MOVED, requires=('demo-extra (==0.3) ; extra == "proxy"',)))
    fake.add("demo", "1.3", demo_wheel("1.3", CHANGED))
    fake.add("demo", "1.4", demo_wheel("1.4", FIXED))
    fake.add("demo", "1.5rc1", demo_wheel("1.5rc1", FIXED))
    fake.add("demo-extra", "0.2", make_wheel("demo-extra", "0.2", {"demo_extra/hook.py": ENT}))
    fake.add("demo-extra", "0.3", make_wheel("demo-extra", "0.3", {"demo_extra/hook.py": ENT_FIXED}))
    with serve(fake):
        yield fake


@pytest.fixture
def patch_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "patches"
    write_patch(directory, "0001-fix.diff", make_diff(SOURCE, FIXED, "demo/mod.py"), versions=">=1.0,<1.2")
    write_patch(
        directory,
        "0002-extra.diff",
        make_diff(ENT, ENT_FIXED, "demo_extra/hook.py"),
        package="demo-extra",
        versions=">=0.1,<0.3",
        extra={"Applied-Upstream": "0.3"},
    )
    return directory


@pytest.fixture
def sweep_json(
    index: FakeIndex, patch_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, dict[str, object]]]:
    def invoke(*extra: str) -> tuple[int, dict[str, object]]:
        argv = ["sweep", "--json", "--patches", str(patch_dir), "--index", index.url]
        argv += ["--cache-dir", str(tmp_path / "cache"), "--package", "demo", "--companion", "demo-extra", *extra]
        code = main(argv)
        out, _ = capsys.readouterr()
        return code, json.loads(out)

    return invoke


def verdicts(doc: dict[str, object], patch: str) -> dict[str, str]:
    releases = doc["releases"]
    assert isinstance(releases, list)
    return {r["version"]: r["verdicts"][patch]["status"] for r in releases}


def test_sweep_gives_each_release_a_verdict_per_patch(sweep_json: Callable[..., tuple[int, dict]]) -> None:
    code, doc = sweep_json()

    assert code == 0
    assert verdicts(doc, "0001") == {
        "1.0": "applies",
        "1.1": "applies",
        "1.2": "not-selected",
        "1.3": "not-selected",
        "1.4": "not-selected",
    }
    by_version = {r["version"]: r for r in doc["releases"]}
    # 1.2 has the same lines five lines further down: outside Versions, but the diff would apply there.
    assert by_version["1.2"]["verdicts"]["0001"]["candidates"] == ["0001-fix.diff"]
    assert "outside Versions" in by_version["1.2"]["verdicts"]["0001"]["reason"]
    # 1.3 changed the context, 1.4 has the fix: neither is a candidate.
    assert "candidates" not in by_version["1.3"]["verdicts"]["0001"]
    content_14 = str(by_version["1.4"]["content"])
    assert doc["contents"][content_14]["probes"]["0001-fix.diff"]["status"] == "already-present"
    content_13 = str(by_version["1.3"]["content"])
    probe = doc["contents"][content_13]["probes"]["0001-fix.diff"]
    assert probe["status"] == "conflicts"
    assert probe["hunks"][0]["file"] == "demo/mod.py"


def test_sweep_pairs_each_release_with_the_companion_its_extra_pins(
    sweep_json: Callable[..., tuple[int, dict]],
) -> None:
    _, doc = sweep_json()

    paired = {r["version"]: r["paired"] for r in doc["releases"]}
    assert paired["1.0"] == {"demo-extra": "0.2"}
    assert paired["1.2"] == {"demo-extra": "0.3"}
    assert paired["1.3"] == {}
    assert verdicts(doc, "0002") == {
        "1.0": "applies",
        "1.1": "applies",
        "1.2": "fixed-upstream",
        "1.3": "not-selected",
        "1.4": "not-selected",
    }


def test_releases_with_identical_touched_files_share_one_group(sweep_json: Callable[..., tuple[int, dict]]) -> None:
    _, doc = sweep_json()

    groups = {r["version"]: r["group"] for r in doc["releases"]}
    assert groups["1.0"] == groups["1.1"]
    assert len(set(groups.values())) == 4
    assert doc["summary"]["groups"] == 4


def test_ranges_summarise_consecutive_releases(sweep_json: Callable[..., tuple[int, dict]]) -> None:
    _, doc = sweep_json()

    runs = doc["ranges"]["0001"]
    assert runs[0] == {
        "status": "applies",
        "variant": "0001-fix.diff",
        "candidates": [],
        "gap": False,
        "first": "1.0",
        "last": "1.1",
        "releases": 2,
    }
    # 1.2 .. 1.4 have no variant; 1.2 is a candidate, all three are gaps (the defect is assumed until shown fixed).
    assert [(r["first"], r["last"], r["gap"]) for r in runs[1:]] == [("1.2", "1.2", True), ("1.3", "1.4", True)]
    assert doc["summary"]["gaps"] == 3  # 0001 on 1.2-1.4; 0002 where demo-extra is not paired is no gap
    assert doc["summary"]["gap_releases"] == 3


def test_only_the_central_directory_and_needed_members_are_fetched(
    sweep_json: Callable[..., tuple[int, dict]], index: FakeIndex
) -> None:
    code, doc = sweep_json("--releases", "1.0")

    assert code == 0
    wheel_size = len(index.projects["demo"]["1.0"][1])
    fetched = doc["fetch"]["max_bytes_per_release"]
    assert 0 < fetched < wheel_size / 2
    assert all(r is not None for path, r, _ in index.log if path.startswith("/files/"))


def test_a_second_sweep_is_served_from_the_cache(sweep_json: Callable[..., tuple[int, dict]], index: FakeIndex) -> None:
    _, first = sweep_json()
    index.log.clear()

    _, second = sweep_json("--offline")

    assert index.log == []
    assert second["releases"] == first["releases"]
    assert second["fetch"]["bytes"] == 0


def test_a_server_without_ranges_sends_each_wheel_once(
    sweep_json: Callable[..., tuple[int, dict]], index: FakeIndex, tmp_path: Path
) -> None:
    index.ranges = False

    code, doc = sweep_json("--releases", "1.0,1.3")

    assert code == 0
    assert verdicts(doc, "0001") == {"1.0": "applies", "1.3": "not-selected"}
    assert set(doc["fetch"]["whole_wheels"]) == {
        "demo_extra-0.2-py3-none-any.whl",
        "demo-1.0-py3-none-any.whl",
        "demo-1.3-py3-none-any.whl",
    }
    assert (tmp_path / "cache" / "wheels" / "demo-1.0-py3-none-any.whl").is_file()
    wheel_requests = [p for p, _, _ in index.log if p.startswith("/files/")]
    assert len(wheel_requests) == 3


def test_a_selected_variant_that_conflicts_fails_the_sweep(
    sweep_json: Callable[..., tuple[int, dict]], patch_dir: Path
) -> None:
    text = (patch_dir / "0001-fix.diff").read_text()
    (patch_dir / "0001-fix.diff").write_text(text.replace("Versions: >=1.0,<1.2", "Versions: >=1.0"))

    code, doc = sweep_json()

    assert code == 1
    assert doc["ok"] is False
    cell = next(r for r in doc["releases"] if r["version"] == "1.3")["verdicts"]["0001"]
    assert cell["status"] == "conflicts"
    assert cell["hunks"][0]["hunk"] == 1
    assert cell["hunks"][0]["nearest_line"] is not None
    assert next(r for r in doc["releases"] if r["version"] == "1.4")["verdicts"]["0001"]["status"] == (
        "already-present"
    )


def test_overlapping_variants_are_an_error_verdict(
    sweep_json: Callable[..., tuple[int, dict]], patch_dir: Path
) -> None:
    write_patch(patch_dir, "0001-fix+other.diff", make_diff(SOURCE, FIXED, "demo/mod.py"), versions=">=1.1,<1.2")

    code, doc = sweep_json("--releases", "1.0,1.1")

    assert code == 1
    assert verdicts(doc, "0001") == {"1.0": "applies", "1.1": "error"}


def test_range_options_pick_the_releases(sweep_json: Callable[..., tuple[int, dict]]) -> None:
    _, doc = sweep_json("--from", "1.1", "--to", "1.3")

    assert [r["version"] for r in doc["releases"]] == ["1.1", "1.2", "1.3"]


def test_prereleases_are_swept_only_when_asked(sweep_json: Callable[..., tuple[int, dict]]) -> None:
    _, doc = sweep_json("--from", "1.4", "--pre")

    assert [r["version"] for r in doc["releases"]] == ["1.4", "1.5rc1"]


def test_offline_without_a_cache_says_what_to_do(
    sweep_json: Callable[..., tuple[int, dict]], capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = sweep_json("--offline")

    assert code == 2
    assert "run once without --offline" in doc["error"]


def test_text_output_lists_releases_and_ranges(
    index: FakeIndex, patch_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["sweep", "-q", "--patches", str(patch_dir), "--index", index.url, "--cache-dir", str(tmp_path / "c")]
    code = main([*argv, "--package", "demo", "--companion", "demo-extra", "--output", str(tmp_path / "s.json")])

    out = capsys.readouterr().out
    assert code == 0
    assert "1.0        0.2  " in out
    assert "1.2 .. 1.4" not in out
    assert "would apply: 0001-fix.diff" in out
    assert json.loads((tmp_path / "s.json").read_text())["command"] == "sweep"


def test_list_releases_resolves_relative_urls_and_flags_yanked(index: FakeIndex, tmp_path: Path) -> None:
    index.yanked.add(("demo", "1.1"))
    fetcher = HttpFetcher()

    releases = list_releases("demo", fetcher, index=index.url, cache=ReleaseCache(tmp_path, fetcher))

    assert releases[0].url.startswith(index.url.removesuffix("/pypi") + "/files/")
    chosen, left_out = choose_releases(releases)
    assert [str(r.version) for r in chosen] == ["1.0", "1.2", "1.3", "1.4"]
    assert left_out == (("1.1", "yanked"),)


def test_enterprise_pin_reads_the_proxy_extra() -> None:
    requires = ["litellm-enterprise==0.1.83.post1 ; extra == 'proxy'", "litellm-enterprise>=0.1; extra == 'dev'"]
    assert enterprise_pin(requires) == SpecifierSet("==0.1.83.post1")
    assert enterprise_pin(["httpx"]) is None


def test_a_pin_missing_from_the_index_pairs_with_the_same_release(tmp_path: Path) -> None:
    from sitepatch.sweep import _fitting

    def release(version: str) -> Release:
        return Release("demo-extra", Version(version), "w.whl", "http://x/w.whl", 1, "")

    companions = [release("0.1.82"), release("0.1.83")]
    assert [str(r.version) for r in _fitting(SpecifierSet("==0.1.83.post1"), companions)] == ["0.1.83"]


def test_record_then_constraints_admit_the_covered_releases(
    index: FakeIndex, patch_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = tmp_path / "coverage.json"
    argv = ["--patches", str(patch_dir), "--index", index.url, "--cache-dir", str(tmp_path / "c")]
    assert main(["sweep", "-q", *argv, "--package", "demo", "--companion", "demo-extra", "--record", str(record)]) == 0
    assert "recorded:" in capsys.readouterr().out
    doc = json.loads(record.read_text())
    assert sorted(doc["releases"]) == ["1.0", "1.1", "1.2", "1.3", "1.4"]
    assert doc["variants"]["0001-fix.diff"]

    code = main(
        ["constraints", "--patches", str(patch_dir), "--record", str(record), "--output", str(tmp_path / "c.txt")]
    )

    assert code == 0
    assert "2 release(s) admitted, 3 excluded" in capsys.readouterr().out
    assert (tmp_path / "c.txt").read_text().splitlines()[-1] == "demo>=1.0,<=1.1"
    # lock check validates the record beside the patch directory.
    (patch_dir.parent / "coverage.json").write_text(record.read_text())
    (patch_dir / "0001-fix.diff").write_text((patch_dir / "0001-fix.diff").read_text().replace("A fix", "A fix!"))
    lock = patch_dir.parent / "versions.lock"
    lock.write_text(json.dumps({"schema_version": 1, "pins": {}}))
    assert main(["lock", "check", "--patches", str(patch_dir)]) == 1
    assert "0001-fix.diff changed since it was swept" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(("--from", "one"), "--from 'one' is not a version", id="bad version"),
        pytest.param(("--from", "9.0"), "no release of demo between 9.0 and the newest", id="empty range"),
    ],
)
def test_sweep_arguments_are_checked(
    sweep_json: Callable[..., tuple[int, dict]], args: tuple[str, ...], message: str
) -> None:
    code, doc = sweep_json(*args)

    assert code == 2
    assert message in doc["error"]


def test_evidence_arguments_are_checked(patch_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["evidence", "--patches", str(patch_dir), "--dry-run"]
    assert main([*base, "--sweep", str(tmp_path / "none.json")]) == 2
    assert "write one with sweep --output FILE" in capsys.readouterr().err
    (tmp_path / "s.json").write_text(json.dumps({"releases": [], "ranges": {}}))
    assert main([*base, "--sweep", str(tmp_path / "s.json"), "--shard", "3/2"]) == 2
    assert "1 <= i <= n" in capsys.readouterr().err


def test_the_lowest_pin_is_the_default_start(sweep_json: Callable[..., tuple[int, dict]], patch_dir: Path) -> None:
    lock = {
        "schema_version": 1,
        "pins": {"p": {"python": "3.11", "requirements": "x", "distributions": {"demo": "1.2"}}},
    }
    (patch_dir.parent / "versions.lock").write_text(json.dumps(lock))

    _, doc = sweep_json()

    assert [r["version"] for r in doc["releases"]] == ["1.2", "1.3", "1.4"]
    assert doc["range"] == {"from": "1.2", "to": None}


ENT_CHANGED = ENT.replace(b"ent 9\n", b"ent nine\n")


def add_ranged_release(index: FakeIndex, extras: dict[str, tuple[bytes, str]]) -> None:
    """demo 1.6, whose extra admits a range of demo-extra, uploaded on 2026-01-01, and more demo-extra releases."""
    ranged = ('demo-extra (>=0.2,<1.0) ; extra == "proxy"',)
    index.add("demo", "1.6", demo_wheel("1.6", SOURCE, requires=ranged), "2026-01-01T00:00:00Z")
    for version, (source, uploaded) in extras.items():
        index.add("demo-extra", version, make_wheel("demo-extra", version, {"demo_extra/hook.py": source}), uploaded)


def pairings(doc: dict[str, object], release: str) -> dict[str, dict[str, object]]:
    """The extra pairings of ``release``: the companion's version -> the pairing."""
    releases = doc["releases"]
    assert isinstance(releases, list)
    row = next(r for r in releases if r["version"] == release)
    return {p["paired"]["demo-extra"]: p for p in row.get("pairings", [])}


def test_a_release_whose_extra_admits_a_range_is_swept_with_every_admitted_companion(
    sweep_json: Callable[..., tuple[int, dict]], index: FakeIndex
) -> None:
    add_ranged_release(index, {"0.4": (ENT_FIXED, "2026-03-01T00:00:00Z")})
    index.projects["demo-extra"]["0.3"] = (*index.projects["demo-extra"]["0.3"][:2], "2026-02-01T00:00:00Z")

    code, doc = sweep_json("--releases", "1.2,1.6")

    assert code == 0
    row = next(r for r in doc["releases"] if r["version"] == "1.6")
    # The default pairing is what an install a day after the upload got: 0.2 (0.3 and 0.4 came later).
    assert row["paired"] == {"demo-extra": "0.2"}
    assert row["verdicts"]["0002"]["status"] == "applies"
    others = pairings(doc, "1.6")
    assert sorted(others) == ["0.3", "0.4"]
    assert {v: p["verdicts"]["0002"]["status"] for v, p in others.items()} == {
        "0.3": "fixed-upstream",
        "0.4": "fixed-upstream",
    }
    assert {p["chosen"] for p in others.values()} == {"admitted"}
    assert row["admitted"] == {"demo-extra": {"specifier": "<1.0,>=0.2", "on_index": 3}}
    # A pin admits one release: no extra pairings there, and no new key for old readers.
    assert "pairings" not in next(r for r in doc["releases"] if r["version"] == "1.2")
    assert doc["summary"]["pairings"] == 4
    assert doc["summary"]["extra_pairings"] == 2
    assert doc["summary"]["extra_verdicts"]["fixed-upstream"] == 2


def test_with_pairings_ends_a_long_range_is_swept_at_its_lowest_default_and_newest(
    sweep_json: Callable[..., tuple[int, dict]], index: FakeIndex
) -> None:
    later = {f"0.{n}": (ENT_FIXED, f"2026-0{n}-01T00:00:00Z") for n in range(4, 9)}
    add_ranged_release(index, {"0.2.1": (ENT, "2026-01-01T12:00:00Z"), **later})

    _, doc = sweep_json("--releases", "1.6", "--pairings", "ends")

    row = doc["releases"][0]
    assert row["paired"] == {"demo-extra": "0.3"}  # the newest on the index a day after the upload
    assert {v: p["chosen"] for v, p in pairings(doc, "1.6").items()} == {
        "0.2": "lowest admitted",
        "0.8": "newest admitted",
    }
    assert row["admitted"]["demo-extra"]["on_index"] == 8

    _, every = sweep_json("--releases", "1.6")

    assert sorted(pairings(every, "1.6"), key=Version) == ["0.2", "0.2.1", "0.4", "0.5", "0.6", "0.7", "0.8"]


def test_a_yanked_companion_is_not_admitted_by_a_range(
    sweep_json: Callable[..., tuple[int, dict]], index: FakeIndex
) -> None:
    add_ranged_release(index, {"0.4": (ENT_FIXED, "2026-03-01T00:00:00Z")})
    index.yanked.add(("demo-extra", "0.4"))

    _, doc = sweep_json("--releases", "1.6")

    assert doc["releases"][0]["paired"] == {"demo-extra": "0.3"}
    assert sorted(pairings(doc, "1.6")) == ["0.2"]


def test_a_conflict_in_a_non_default_pairing_fails_the_sweep_the_record_and_the_constraints(
    index: FakeIndex, patch_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 0.2.1 came out after demo 1.6: pip installs it today, and 0002 (Versions <0.3) is selected on its changed code.
    add_ranged_release(index, {"0.2.1": (ENT_CHANGED, "2026-02-01T00:00:00Z")})
    text = (patch_dir / "0001-fix.diff").read_text()
    (patch_dir / "0001-fix.diff").write_text(text.replace("Versions: >=1.0,<1.2", "Versions: >=1.0"))
    record = tmp_path / "coverage.json"
    argv = ["sweep", "--patches", str(patch_dir), "--index", index.url, "--cache-dir", str(tmp_path / "c")]
    argv += ["--package", "demo", "--companion", "demo-extra", "--releases", "1.6", "--record", str(record)]

    code = main(argv)

    out = capsys.readouterr().out
    assert code == 1
    assert "+0.2.1" in out
    assert "pairings: 3 planned, 2 of them besides each release's default" in out
    stored = json.loads(record.read_text())["releases"]["1.6"]
    assert stored["paired"] == {"demo-extra": "0.3"}
    assert stored["verdicts"]["0002"]["status"] == "fixed-upstream"
    by_version = {p["paired"]["demo-extra"]: p for p in stored["pairings"]}
    assert by_version["0.2.1"]["verdicts"]["0002"]["status"] == "conflicts"
    assert by_version["0.2"]["verdicts"]["0002"]["status"] == "applies"

    loaded = CoverageRecord.load(record)
    assert loaded is not None
    problems = check_coverage(loaded, load_patches(patch_dir))
    assert any("0002 conflicts on demo 1.6 with demo-extra 0.2.1" in p for p in problems)
    # The default pairing alone is covered (0001 applies, 0002 fixed upstream): the other pairing excludes 1.6.
    good, bad = covered_releases(loaded, load_patches(patch_dir))
    assert good == []
    assert bad == {"1.6": "with demo-extra 0.2.1: 0002: conflicts"}
