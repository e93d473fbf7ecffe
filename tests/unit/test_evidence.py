"""``evidence``: which releases get installed, how junit results are read, caching, shards (no uv, no venv)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from fakesite import SOURCE, make_diff, write_patch
from sitepatch.cli import main
from sitepatch.evidence import classify_junit, merge_evidence, plan_tasks, run_tasks, shard
from sitepatch.parse import load_patches

FIXED = SOURCE.replace(b"line 20\n", b"line 20 fixed\n")


def cell(status: str, variant: str = "", candidates: Sequence[str] = ()) -> dict[str, object]:
    doc: dict[str, object] = {"status": status}
    if variant:
        doc["variant"] = variant
    if candidates:
        doc["candidates"] = list(candidates)
    return doc


SWEEP = {
    "releases": [
        {
            "version": "1.0",
            "upload_time": "2026-01-01T10:00:00Z",
            "paired": {},
            "group": 1,
            "verdicts": {"0001": cell("applies", "0001-fix.diff")},
        },
        {
            "version": "1.1",
            "upload_time": "2026-01-05T10:00:00Z",
            "paired": {},
            "group": 1,
            "verdicts": {"0001": cell("applies", "0001-fix.diff")},
        },
        {
            "version": "1.2",
            "upload_time": "2026-02-01T10:00:00Z",
            "paired": {"demo-extra": "0.3"},
            "group": 2,
            "verdicts": {"0001": cell("not-selected", candidates=["0001-fix.diff"])},
        },
        {
            "version": "1.3",
            "upload_time": "2026-03-01T10:00:00Z",
            "paired": {},
            "group": 3,
            "verdicts": {"0001": cell("fixed-upstream")},
        },
    ],
    "ranges": {
        "0001": [
            {"status": "applies", "variant": "0001-fix.diff", "first": "1.0", "last": "1.1"},
            {"status": "not-selected", "variant": "", "first": "1.2", "last": "1.2"},
            {"status": "fixed-upstream", "variant": "", "first": "1.3", "last": "1.3"},
        ]
    },
}

JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="tests.regression.test_0001_fix" name="test_a">{a}</testcase>
<testcase classname="tests.regression.test_0001_fix" name="test_b">{b}</testcase>
</testsuite></testsuites>"""
FAIL = '<failure message="assert 1 == 2">assert 1 == 2</failure>'
ERROR = '<error message="failed on setup with ImportError">ImportError</error>'


class FakeRunner:
    """Stands in for uv, pytest and apply_patches.py; writes junit files as a real pytest would."""

    def __init__(self, unpatched: tuple[str, str] = (FAIL, FAIL), patched: tuple[str, str] = ("", "")) -> None:
        self.commands: list[list[str]] = []
        self.applied: set[str] = set()
        self.unpatched = unpatched
        self.patched = patched
        self.install_failures = 0
        self.install_errors: list[str] = []

    def __call__(self, command: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        command = list(command)
        self.commands.append(command)
        code = 0
        if command[:3] == ["uv", "pip", "install"] and self.install_errors:
            return subprocess.CompletedProcess(command, 1, "", self.install_errors.pop(0))
        if command[:3] == ["uv", "pip", "install"] and self.install_failures:
            self.install_failures -= 1
            code = 1
        elif "apply_patches.py" in " ".join(command):
            self.applied.add(command[command.index("--python") + 1])
            patches = Path(command[command.index("--patches") + 1])
            assert sorted(p.name for p in patches.iterdir()) == ["0001-fix.diff"]
        elif command[1:3] == ["-m", "pytest"]:
            report = next(a.split("=", 1)[1] for a in command if a.startswith("--junitxml="))
            a, b = self.patched if command[0] in self.applied else self.unpatched
            Path(report).write_text(JUNIT.format(a=a, b=b))
        return subprocess.CompletedProcess(command, code, "", "boom" if code else "")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    write_patch(root / "patches", "0001-fix.diff", make_diff(SOURCE, FIXED, "demo/mod.py"), versions=">=1.0,<1.2")
    (root / "tests" / "regression").mkdir(parents=True)
    (root / "tests" / "regression" / "test_0001_fix.py").write_text("def test_a(): pass\n")
    return root


def test_each_group_representative_and_range_end_is_tested() -> None:
    tasks = plan_tasks(SWEEP)

    assert [(t.release, t.patches) for t in tasks] == [
        ("1.0", (("0001", "0001-fix.diff", "applies"),)),
        ("1.1", (("0001", "0001-fix.diff", "applies"),)),
        ("1.2", (("0001", "0001-fix.diff", "candidate"),)),
        ("1.3", (("0001", "", "fixed-upstream"),)),
    ]
    assert tasks[0].why == "group 1 representative; 0001 applies range end"


def test_shards_split_the_tasks_without_overlap() -> None:
    tasks = plan_tasks(SWEEP)

    parts = [shard(tasks, f"{i}/3") for i in (1, 2, 3)]

    assert sorted(t.release for part in parts for t in part) == ["1.0", "1.1", "1.2", "1.3"]
    with pytest.raises(ValueError, match="1 <= i <= n"):
        shard(tasks, "4/3")


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        pytest.param(FAIL, FAIL, {"test_a": "failed", "test_b": "failed"}, id="failures in the body"),
        pytest.param(ERROR, "", {"test_a": "error", "test_b": "passed"}, id="setup error"),
        pytest.param('<skipped message="x"/>', "", {"test_a": "skipped", "test_b": "passed"}, id="skipped"),
    ],
)
def test_junit_results_are_classified_per_patch(a: str, b: str, expected: dict[str, str]) -> None:
    outcomes = classify_junit(JUNIT.format(a=a, b=b))

    assert {k.rsplit("::", 1)[1]: v for k, v in outcomes["0001"].items()} == expected


def test_a_release_is_installed_as_of_its_upload_date_and_tested_both_ways(repo: Path, tmp_path: Path) -> None:
    runner = FakeRunner()
    task = plan_tasks(SWEEP)[2]  # 1.2: a candidate forced in

    (entry,) = run_tasks([task], repo=repo, patches=load_patches(repo / "patches"), work=tmp_path / "w", runner=runner)

    install = next(c for c in runner.commands if c[:3] == ["uv", "pip", "install"])
    assert install[install.index("--exclude-newer") + 1] == "2026-02-02"
    assert "litellm[proxy]==1.2" in install
    assert "demo-extra==0.3" in install
    assert entry["unpatched"] == "defect-shown"
    assert entry["patched"] == "passed"
    assert entry["patch_sha256"] == load_patches(repo / "patches")[0].sha256
    forced = (tmp_path / "w" / "patches" / "1.2" / "0001-fix.diff").read_text()
    assert "Versions: ==1.2" in forced


@pytest.mark.parametrize(
    ("unpatched", "patched", "verdicts"),
    [
        pytest.param((FAIL, ""), ("", ""), ("partly-failed", "passed"), id="one test passes unpatched"),
        pytest.param((ERROR, FAIL), ("", ""), ("harness-error", "passed"), id="setup error is not evidence"),
        pytest.param(("", ""), ("", ""), ("passed", "passed"), id="no defect"),
        pytest.param((FAIL, FAIL), (FAIL, ""), ("defect-shown", "failed"), id="the fix does not work"),
        pytest.param((FAIL, FAIL), (ERROR, ""), ("defect-shown", "failed"), id="the patched module breaks set-up"),
        pytest.param((ERROR, FAIL), (ERROR, ""), ("harness-error", "harness-error"), id="set-up broken either way"),
    ],
)
def test_verdicts_follow_the_junit_outcomes(
    repo: Path, tmp_path: Path, unpatched: tuple[str, str], patched: tuple[str, str], verdicts: tuple[str, str]
) -> None:
    runner = FakeRunner(unpatched, patched)

    (entry,) = run_tasks(
        plan_tasks(SWEEP)[:1], repo=repo, patches=load_patches(repo / "patches"), work=tmp_path / "w", runner=runner
    )

    assert (entry["unpatched"], entry["patched"]) == verdicts


def test_results_are_cached_per_release_patch_and_test_file(repo: Path, tmp_path: Path) -> None:
    patches = load_patches(repo / "patches")
    tasks = plan_tasks(SWEEP)[:1]
    run_tasks(tasks, repo=repo, patches=patches, work=tmp_path / "w", runner=FakeRunner())
    again = FakeRunner()

    run_tasks(tasks, repo=repo, patches=patches, work=tmp_path / "w", runner=again)
    assert again.commands == []

    (repo / "tests" / "regression" / "test_0001_fix.py").write_text("def test_a(): assert True\n")
    run_tasks(tasks, repo=repo, patches=patches, work=tmp_path / "w", runner=again)
    assert again.commands != []


def test_an_install_that_fails_twice_is_reported(repo: Path, tmp_path: Path) -> None:
    runner = FakeRunner()
    runner.install_failures = 2

    (entry,) = run_tasks(
        plan_tasks(SWEEP)[:1], repo=repo, patches=load_patches(repo / "patches"), work=tmp_path / "w", runner=runner
    )

    assert entry["unpatched"] == "install-failed"
    assert entry["note"] == ["boom"]


def test_newer_evidence_replaces_older() -> None:
    old = [{"release": "1.0", "patch": "0001", "unpatched": "passed"}]
    new = [{"release": "1.0", "patch": "0001", "unpatched": "defect-shown"}, {"release": "0.9", "patch": "0001"}]

    merged = merge_evidence(old, new)

    assert [(e["release"], e.get("unpatched")) for e in merged] == [("0.9", None), ("1.0", "defect-shown")]


def test_dry_run_lists_the_releases(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = tmp_path / "sweep.json"
    sweep.write_text(json.dumps(SWEEP))

    code = main(["evidence", "--patches", str(repo / "patches"), "--sweep", str(sweep), "--dry-run", "--shard", "2/2"])

    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[-1] == "dry run: 2 release(s) to install and test"
    assert out.startswith("1.1 ")


def test_pins_the_index_lacks_are_overridden_and_recorded(repo: Path, tmp_path: Path) -> None:
    runner = FakeRunner()
    extras = "Because there is no version of litellm-proxy-extras==0.4.113 and litellm[proxy]==1.0 depends on it"
    runner.install_errors = [
        extras,  # with the paired companion
        extras,  # without it
        "Because litellm-proxy was not found in the package registry and litellm[proxy]==1.0 depends on it",
    ]

    (entry,) = run_tasks(
        plan_tasks(SWEEP)[:1], repo=repo, patches=load_patches(repo / "patches"), work=tmp_path / "w", runner=runner
    )

    assert entry["unpatched"] == "defect-shown"
    assert entry["overrides"] == ["litellm-proxy-extras<=0.4.113", 'litellm-proxy ; sys_platform == "never"']
    last_install = [c for c in runner.commands if c[:3] == ["uv", "pip", "install"]][-1]
    assert "--override" in last_install


def test_evidence_results_are_merged_into_the_record(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import functools

    import sitepatch.evidence

    monkeypatch.setattr(
        sitepatch.evidence, "run_tasks", functools.partial(sitepatch.evidence.run_tasks, runner=FakeRunner())
    )
    sweep = tmp_path / "sweep.json"
    sweep.write_text(json.dumps(SWEEP))
    record = repo / "coverage.json"
    record.write_text(json.dumps({"schema_version": 1, "package": "demo", "releases": {}, "variants": {}}))

    code = main(
        [
            "evidence",
            "--patches",
            str(repo / "patches"),
            "--sweep",
            str(sweep),
            "--releases",
            "1.0",
            "--work-dir",
            str(tmp_path / "w"),
        ]
    )

    out = capsys.readouterr().out
    assert code == 0, out
    assert "unpatched defect-shown" in out
    (entry,) = json.loads(record.read_text())["evidence"]
    assert (entry["release"], entry["patch"], entry["patched"]) == ("1.0", "0001", "passed")


def test_the_harness_classifier_decides_where_the_conftest_has_one(repo: Path, tmp_path: Path) -> None:
    (repo / "tests" / "regression" / "conftest.py").write_text("# parser.addoption('--verdicts')\n")

    class VerdictRunner(FakeRunner):
        def __call__(self, command: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
            done = super().__call__(command, cwd)
            target = next((a.split("=", 1)[1] for a in command if a.startswith("--verdicts=")), None)
            if target is not None:
                # An AssertionError in one test, another exception (a harness fault) in the other.
                tests = {
                    "tests/regression/test_0001_fix.py::test_a": {"patch": "0001", "verdict": "failed"},
                    "tests/regression/test_0001_fix.py::test_b": {"patch": "0001", "verdict": "error"},
                }
                Path(target).write_text(json.dumps({"tests": tests}))
            return done

    (entry,) = run_tasks(
        plan_tasks(SWEEP)[:1],
        repo=repo,
        patches=load_patches(repo / "patches"),
        work=tmp_path / "w",
        runner=VerdictRunner(),
    )

    assert entry["unpatched"] == "harness-error"


def test_jobs_must_be_at_least_one(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["evidence", "--patches", str(repo / "patches"), "--sweep", str(tmp_path / "s.json"), "--jobs", "0"])

    assert code == 2
    assert "give 1 or more" in capsys.readouterr().err


def test_a_known_import_breakage_of_the_upload_day_is_repaired_and_recorded(repo: Path, tmp_path: Path) -> None:
    class BrokenFastapi(FakeRunner):
        """fastapi of the upload day lacks what litellm imports until ``fastapi<0.140`` is installed."""

        repaired = False

        def __call__(self, command: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
            if list(command[-1:]) == ["fastapi<0.140"]:
                self.repaired = True
            done = super().__call__(command, cwd)
            if command[1:3] == ["-m", "pytest"] and not self.repaired:
                report = next(a.split("=", 1)[1] for a in command if a.startswith("--junitxml="))
                Path(report).write_text(JUNIT.format(a=ERROR, b=ERROR))
                message = "ImportError: cannot import name 'get_flat_dependant' from 'fastapi.dependencies.utils'"
                return subprocess.CompletedProcess(list(command), 1, message, "")
            return done

    runner = BrokenFastapi()
    (entry,) = run_tasks(
        plan_tasks(SWEEP)[:1], repo=repo, patches=load_patches(repo / "patches"), work=tmp_path / "w", runner=runner
    )

    assert (entry["unpatched"], entry["patched"]) == ("defect-shown", "passed")
    assert entry["repairs"] == ["fastapi<0.140"]
    repair = next(c for c in runner.commands if c[-1:] == ["fastapi<0.140"])
    assert repair[:3] == ["uv", "pip", "install"]
    assert "--exclude-newer" in repair


def test_evidence_names_the_patch_and_test_files_it_was_made_with(repo: Path, tmp_path: Path) -> None:
    (entry,) = run_tasks(
        plan_tasks(SWEEP)[:1],
        repo=repo,
        patches=load_patches(repo / "patches"),
        work=tmp_path / "w",
        runner=FakeRunner(),
    )

    (patch,) = load_patches(repo / "patches")
    assert entry["patch_sha256"] == patch.sha256
    assert len(entry["test_sha256"]) == 64


def test_a_fixed_upstream_id_is_judged_by_its_tests_with_the_set_applied(repo: Path, tmp_path: Path) -> None:
    # 1.3 is 0001's fixed-upstream range end: nothing of 0001 is applied there, but its tests run both times.
    (task,) = [t for t in plan_tasks(SWEEP) if t.release == "1.3"]
    (entry,) = run_tasks(
        [task],
        repo=repo,
        patches=load_patches(repo / "patches"),
        work=tmp_path / "w",
        runner=FakeRunner(("", ""), ("", "")),
    )

    assert (entry["variant"], entry["unpatched"], entry["patched"]) == ("", "passed", "passed")


def test_a_cached_entry_of_an_unapplied_id_is_judged_by_its_patched_run(repo: Path, tmp_path: Path) -> None:
    (task,) = [t for t in plan_tasks(SWEEP) if t.release == "1.3"]
    patches = load_patches(repo / "patches")
    run_tasks([task], repo=repo, patches=patches, work=tmp_path / "w", runner=FakeRunner(("", ""), ("", "")))
    cache = tmp_path / "w" / "evidence-cache.json"
    doc = json.loads(cache.read_text())
    (key,) = doc
    doc[key]["patched"] = "not-applied"  # as an older version recorded it
    cache.write_text(json.dumps(doc))

    (entry,) = run_tasks([task], repo=repo, patches=patches, work=tmp_path / "w", runner=FakeRunner())

    assert entry["patched"] == "passed"


@pytest.mark.parametrize(
    ("code", "needed"), [("def is_prisma_engine_internal_error(e): import prisma\n", ["prisma"]), ("\n", [])]
)
def test_what_the_installed_code_needs_is_installed_before_the_tests(
    repo: Path, tmp_path: Path, code: str, needed: list[str]
) -> None:
    class Installs(FakeRunner):
        """uv that installs a release whose auth error path imports prisma (or not)."""

        def __call__(self, command: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
            if list(command[:3]) == ["uv", "pip", "install"] and "litellm[proxy]==1.0" in command:
                venv = Path(command[command.index("--python") + 1]).parents[1]
                handler = venv / "lib/python3.11/site-packages/litellm/proxy/db/exception_handler.py"
                handler.parent.mkdir(parents=True, exist_ok=True)
                handler.write_text(code)
            return super().__call__(command, cwd)

    runner = Installs()
    (entry,) = run_tasks(
        plan_tasks(SWEEP)[:1], repo=repo, patches=load_patches(repo / "patches"), work=tmp_path / "w", runner=runner
    )

    installs = [c for c in runner.commands if c[:3] == ["uv", "pip", "install"]]
    assert [c[-1] for c in installs[1:]] == needed
    assert "prisma" not in installs[0]
    assert entry.get("needed", []) == needed
