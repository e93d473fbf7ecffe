"""Sessions for the engine and for the LiteLLM patch set.

Engine: ``tests`` (unit and property tests) and ``lint``. Patch set, for every pin in ``versions.lock``:
``patched`` (install the pin, apply the set, verify against the lock, run the regression tests: all pass),
``unpatched`` (the same install without patches: every test of every selected patch shows its defect, every
test of a patch fixed upstream passes) and ``isolation`` (by default on 1.80.10, every pin weekly: each selected
patch left out in turn: its tests show its defect, every other patch's tests pass). Verdicts come from
``tests/regression/conftest.py`` and are judged by ``tools/verdicts.py``: a harness error never counts as a
defect. ``matrix`` prints the pins x patches result. ``latest`` tries the newest LiteLLM on the index (not
pinned, not default).

Run ``nox`` for the default sessions, ``nox -l`` to list them all.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import nox

sys.path.insert(0, str(Path(__file__).resolve().parent / "tools"))
import verdicts  # tools/ is on the path from the line above

nox.needs_version = ">=2024.4.15"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = False
nox.options.sessions = [
    "tests",
    "lowest",
    "lint",
    "patched",
    "unpatched",
    # Leave-one-out on the pin with the most selected patches (16, every managed-files one among them), where
    # cascades were seen; every pin with `nox -s isolation` (one test run per selected patch and pin), weekly
    # in the scheduled workflow (.github/workflows/sweep.yml), to keep the default run inside CI's budget.
    "isolation(1.80.10)",
    # The authorization-differential suite on every pin (no patch may widen access).
    "authz",
    # The real proxy for 0010's three meanings of an unset `auth` and its base/+1.84/+1.105 variants; every
    # pin with `nox -s e2e`.
    "e2e(1.81.0)",
    "e2e(1.84.0)",
    "e2e(1.110.2)",
    "export_upstream",
    "matrix",
    "report",
]

ROOT = Path(__file__).resolve().parent
REPORTS = ROOT / "reports"
PATCHES = ROOT / "patches"
RUNTIME = ["unidiff>=1.0.1", "packaging>=22"]
TEST = ["pytest>=8", "hypothesis>=6.100", "pytest-cov>=5"]
LOCK: dict[str, Any] = json.loads((ROOT / "versions.lock").read_text(encoding="utf-8"))
PINS: list[str] = list(LOCK["pins"])
# The regression tests run LiteLLM, whose own deprecation warnings are not ours to fail on.
REGRESSION_OPTIONS = [
    "tests/regression",
    "-p",
    "no:cacheprovider",
    "-o",
    "filterwarnings=default",
    "-o",
    "testpaths=tests/regression",
    "-ra",
]


@nox.session
def tests(session: nox.Session) -> None:
    """Run the engine's unit and property tests with branch coverage (no network, no LiteLLM)."""
    session.install(*RUNTIME, *TEST)
    session.run("pytest", "--cov=sitepatch", "--cov-branch", "--cov-report=term", *session.posargs)


@nox.session
def lowest(session: nox.Session) -> None:
    """Run the unit tests on the lowest runtime dependencies pyproject.toml admits (unidiff 1.0.1, packaging 22).

    The floor is what the code needs: unidiff 1.0.0 crashes on a hunk line before any file header, 0.7.5
    lacks ``PatchedFile.diff_line_no``.
    """
    session.install(*(r.replace(">=", "==") for r in RUNTIME), *TEST)
    session.run("pytest", "tests/unit", "-p", "no:cacheprovider", *session.posargs)


@nox.session(python=["3.10", "3.11", "3.12", "3.13"], default=False)
def tests_all(session: nox.Session) -> None:
    """Run the engine's tests on every supported Python that is installed."""
    session.install(*RUNTIME, *TEST)
    session.run("pytest", *session.posargs)


@nox.session(default=False)
def stress(session: nox.Session) -> None:
    """The large reliability runs: property tests with many examples, 200 SIGKILLs, differential fuzzing.

    Writes reports/kill.json and reports/differential.json.
    """
    session.install(*RUNTIME, *TEST)
    session.run("pytest", "tests/property", *session.posargs, env={"SITEPATCH_HYPOTHESIS_PROFILE": "stress"})
    session.run(
        "pytest",
        "tests/stress",
        "-s",
        "-p",
        "no:cacheprovider",
        env={"SITEPATCH_KILL_TRIALS": "200", "SITEPATCH_DIFF_CASES": "5000"},
    )


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """The benchmarks against GNU patch and git apply (bench/); downloads three LiteLLM wheels.

    Workload 2 runs against the 1.80.10 pin installed into the session, or ``nox -s bench -- SITE_PACKAGES``.
    """
    _install_pin(session, PINS[0])
    session.install("pip")
    session.run("python", "bench/workload1.py", "--runs", "5")
    session.run("python", "bench/workload1.py", "--new", "1.80.11", "--suffix", ".py", "--runs", "5")
    purelib = session.run("python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", silent=True)
    site = session.posargs[0] if session.posargs else str(purelib).strip()
    session.run("python", "bench/workload2.py", "--site-packages", site, "--runs", "11")
    session.run("python", "bench/workload3.py", "--runs", "3", "--factors", "1,4,16")


@nox.session
def lint(session: nox.Session) -> None:
    """Check style and types: ruff (lint and format) and mypy --strict."""
    session.install(*RUNTIME, "ruff>=0.8", "mypy>=1.13", "nox", "pytest", "hypothesis")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


def _install_pin(session: nox.Session, pin: str) -> None:
    requirements = ROOT / LOCK["pins"][pin]["requirements"]
    # The requirements file is fully locked with hashes: install exactly it, resolving nothing.
    session.install("--no-deps", "-r", str(requirements))
    session.install(*RUNTIME)


def _pin_patches(pin: str) -> list[str]:
    return list(LOCK["pins"][pin]["patches"])


def _numbers(names: list[str]) -> str:
    return ",".join(sorted({name[:4] for name in names}))


def _run_regression(
    session: nox.Session,
    numbers: str,
    report: Path,
    success_codes: list[int] | None = None,
    *,
    harness_tests: bool = False,
) -> verdicts.Run | None:
    """Run the regression tests of the patches ``numbers`` (comma-separated); return their verdicts.

    Writes the outcomes per patch to ``report`` and every test's verdict with its reason next to it
    (``*-verdicts.json``). pytest's exit status 1 (tests failed) is expected; the callers judge the
    verdicts. Any other status (a collection or import error, no tests) fails the session, unless the
    caller allows it in ``success_codes``; ``None`` is returned when pytest wrote no verdicts.
    """
    REPORTS.mkdir(exist_ok=True)
    verdict_file = report.with_name(report.name.removesuffix(".json") + "-verdicts.json")
    report.unlink(missing_ok=True)
    verdict_file.unlink(missing_ok=True)
    session.run(
        "python",
        "-m",
        "pytest",
        *REGRESSION_OPTIONS,
        f"--patches={numbers}",
        f"--patch-report={report}",
        f"--verdicts={verdict_file}",
        *(["--harness-tests"] if harness_tests else []),
        *session.posargs,
        success_codes=success_codes or [0, 1],
    )
    return verdicts.Run.load(verdict_file) if verdict_file.exists() else None


def _fixed_upstream(session: nox.Session, pin: str) -> dict[str, str]:
    """Number -> Applied-Upstream of the patches fixed upstream on ``pin`` (run in the session's venv)."""
    out = session.run("python", "tools/verdicts.py", "fixed-upstream", pin, silent=True)
    found = json.loads(str(out))
    assert isinstance(found, dict)
    return {str(k): str(v) for k, v in found.items()}


def _outcomes(run: verdicts.Run) -> dict[str, dict[str, str]]:
    outcomes: dict[str, dict[str, str]] = {}
    for test in run.tests:
        outcomes.setdefault(test.patch, {})[test.nodeid] = test.verdict
    return outcomes


def _write_report(name: str, data: dict[str, Any]) -> None:
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / name).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _fail(session: nox.Session, problems: list[str]) -> None:
    if problems:
        session.error(f"{len(problems)} problem(s):\n" + "\n".join(problems))


@nox.session(python="3.11")
@nox.parametrize("pin", [nox.param(p, id=p) for p in PINS])
def patched(session: nox.Session, pin: str) -> None:
    """Install the pin, apply the patch set strictly (fuzz 0), verify it against versions.lock, run the tests.

    Every test of every applied patch must pass, and so must the tests of the patches fixed upstream on the
    pin (with the set applied and them not in it), and the harness's own tests.
    """
    _install_pin(session, pin)
    out = session.run(
        "python", "apply_patches.py", "--json", "--max-fuzz", "0", "--strict", silent=True, success_codes=[0, 1, 2]
    )
    doc = json.loads(str(out))
    for patch in doc.get("patches", []):
        session.log(f"{patch['status']:<16}{patch['name']}{': ' + patch['reason'] if patch['reason'] else ''}")
    if not doc.get("ok"):
        session.error(f"applying the patch set to {pin} failed: {doc.get('problems') or doc.get('error')}")
    if doc.get("uncovered"):
        # --strict: a pin that keeps a known defect is not a protected install, however well the rest applies.
        session.error(f"{pin} is NOT protected (no variant covers it): {doc['uncovered']}")
    session.run("python", "apply_patches.py", "lock", "verify", "--pin", pin)
    session.run("python", "apply_patches.py", "status")
    names = _pin_patches(pin)
    upstream = _fixed_upstream(session, pin)
    report = REPORTS / f"{pin}-patched-tests.json"
    numbers = sorted({n[:4] for n in names} | set(upstream))
    problems: list[str] = []
    if numbers:
        run = _run_regression(session, ",".join(numbers), report, harness_tests=True)
        assert run is not None
        problems = verdicts.judge_patched(run, pin=pin, selected=names, upstream=upstream)
    _write_report(
        f"{pin}-patched.json",
        {"pin": pin, "apply": doc, "patches": names, "fixed_upstream": upstream, "problems": problems},
    )
    _fail(session, problems)
    session.log(f"all tests of {len(names)} applied and {len(upstream)} fixed-upstream patch(es) pass")


@nox.session(python="3.11")
@nox.parametrize("pin", [nox.param(p, id=p) for p in PINS])
def unpatched(session: nox.Session, pin: str) -> None:
    """Install the pin without patches: every test of every selected patch must show its defect.

    And every test of a patch fixed upstream on the pin must pass: the proof that upstream fixed it (when
    such a patch depends on a patch the pin still needs, ``patched`` proves it instead).
    """
    _install_pin(session, pin)
    names = _pin_patches(pin)
    upstream = _fixed_upstream(session, pin)
    depends = verdicts.dependencies(sorted(PATCHES.glob("*.diff")))
    needed = {n[:4] for n in names}
    deferred = {n: sorted(depends.get(n, frozenset()) & needed) for n in upstream}
    deferred = {n: on for n, on in deferred.items() if on}
    checked = {n: v for n, v in upstream.items() if n not in deferred}
    if not names and not checked:
        session.skip(f"no patch is selected or fixed upstream for {pin}")
    report = REPORTS / f"{pin}-unpatched-tests.json"
    run = _run_regression(session, ",".join(sorted(needed | set(checked))), report)
    assert run is not None
    problems = verdicts.judge_unpatched(run, pin=pin, selected=names, upstream=checked)
    _write_report(
        f"{pin}-unpatched.json",
        {
            "pin": pin,
            "patches": names,
            "fixed_upstream": checked,
            "fixed_upstream_proved_patched": deferred,
            "tests": _outcomes(run),
            "problems": problems,
        },
    )
    _fail(session, problems)
    shown = sum(len(run.of(n)) for n in needed)
    proved = sum(len(run.of(n)) for n in checked)
    session.log(
        f"all {shown} test(s) of {len(needed)} patch(es) show their defect unpatched; "
        f"all {proved} test(s) of {len(checked)} fixed-upstream patch(es) pass"
    )


# Default only on the pins nox.options.sessions names: one pytest run per selected patch and pin.
@nox.session(python="3.11", default=False)
@nox.parametrize("pin", [nox.param(p, id=p) for p in PINS])
def isolation(session: nox.Session, pin: str) -> None:
    """Leave each selected patch out in turn (with the patches that depend on it) and run every test.

    The left-out patch's tests must show its defect, every applied patch's tests must pass: so each
    patch's tests fail for that patch's own defect, not another's. Writes reports/PIN-isolation.json.
    """
    _install_pin(session, pin)
    names = _pin_patches(pin)
    if len(names) < 2:
        session.skip(f"{pin} has {len(names)} selected patch(es): `unpatched` already leaves it out")
    # the Depends of the variants selected on this pin
    depends = verdicts.dependencies([PATCHES / name for name in names])
    tmp = Path(session.create_tmp())
    problems: list[str] = []
    rounds: dict[str, Any] = {}
    try:
        for number, also_out in verdicts.leave_one_out(names, depends):
            out = {number, *also_out}
            subset = tmp / f"patches-without-{number}"
            shutil.rmtree(subset, ignore_errors=True)
            subset.mkdir()
            for path in sorted(PATCHES.glob("*.diff")):
                if path.name[:4] not in out:
                    shutil.copy2(path, subset / path.name)
            applied = [n for n in names if n[:4] not in out]
            session.log(f"leaving out {', '.join(sorted(out))}; applying {', '.join(n[:4] for n in applied)}")
            result = session.run(
                "python",
                "apply_patches.py",
                "--json",
                "--max-fuzz",
                "0",
                "--patches",
                str(subset),
                silent=True,
                success_codes=[0, 1, 2],
            )
            doc = json.loads(str(result))
            if not doc.get("ok"):
                problems.append(
                    f"isolation({pin}) without {number}: the rest of the set does not apply: "
                    f"{doc.get('problems') or doc.get('error')}"
                )
                continue
            run = _run_regression(session, _numbers(names), REPORTS / f"{pin}-isolation-{number}-tests.json")
            assert run is not None
            found = verdicts.judge_isolation(run, pin=pin, left_out=number, also_out=also_out, applied=applied)
            problems.extend(found)
            rounds[number] = {
                "left_out": sorted(out),
                "applied": applied,
                "tests": _outcomes(run),
                "problems": found,
            }
    finally:
        session.run("python", "apply_patches.py", "revert", silent=True, success_codes=[0, 1])
    _write_report(f"{pin}-isolation.json", {"pin": pin, "patches": names, "rounds": rounds, "problems": problems})
    _fail(session, problems)
    session.log(f"each of {len(rounds)} patch(es) fails alone for its own defect; the others' tests pass")


@nox.session(python="3.11")
@nox.parametrize("pin", [nox.param(p, id=p) for p in PINS])
def e2e(session: nox.Session, pin: str) -> None:
    """Start the patched pin's real proxy (`litellm --config`) on loopback and test 0010 over HTTP.

    Config parsing, route registration and routing are only visible through the real server
    (tests/e2e: a small upstream on 127.0.0.1, no database, a master key; no network beyond loopback).
    """
    if not any(name.startswith("0010") for name in _pin_patches(pin)):
        session.skip(f"patch 0010 is not selected for {pin}")
    _install_pin(session, pin)
    session.run("python", "apply_patches.py", "--max-fuzz", "0")
    session.run(
        "python",
        "-m",
        "pytest",
        "tests/e2e",
        "-p",
        "no:cacheprovider",
        "-o",
        "filterwarnings=default",
        "-o",
        "testpaths=tests/e2e",
        "-ra",
        *session.posargs,
    )


# The suite's self-test (a deliberately widening change must be reported) runs on these pins.
AUTHZ_SELF_TEST_PINS = ("1.84.0",)


@nox.session(python="3.11")
@nox.parametrize("pin", [nox.param(p, id=p) for p in PINS])
def authz(session: nox.Session, pin: str) -> None:
    """The authorization-differential suite: patched access must not exceed unpatched access plus ``Opens:``.

    Records the matrix of tests/authz (configs x requests x methods x callers, real virtual keys) on the
    unpatched pin, applies the set (fuzz 0), records it again and compares (tests/authz/compare.py). On
    AUTHZ_SELF_TEST_PINS it then proves the suite can fail: the set is applied again with 0010's method check
    dropped (tests/authz/mutate.py), and the comparison must name the requests that opens. Writes
    reports/PIN-authz.json.
    """
    started = time.monotonic()
    _install_pin(session, pin)
    tmp = Path(session.create_tmp())
    REPORTS.mkdir(exist_ok=True)
    session.run("python", "apply_patches.py", "revert", silent=True, success_codes=[0, 1])
    unpatched = tmp / "authz-unpatched.json"
    session.run("python", "tests/authz/record.py", "--out", str(unpatched))
    applied = tmp / "authz-apply.json"
    _apply_json(session, applied)
    patched = tmp / "authz-patched.json"
    session.run("python", "tests/authz/record.py", "--out", str(patched))
    report = REPORTS / f"{pin}-authz.json"
    compare = ["python", "tests/authz/compare.py", "--unpatched", str(unpatched), "--applied", str(applied)]
    session.run(
        *compare, "--patched", str(patched), "--patches", str(PATCHES), "--out", str(report), success_codes=[0, 1]
    )
    result = json.loads(report.read_text(encoding="utf-8"))
    if pin in AUTHZ_SELF_TEST_PINS:
        session.run("python", "apply_patches.py", "revert", silent=True)
        mutated_dir = tmp / "patches-widened"
        out = session.run(
            *("python", "tests/authz/mutate.py", "--patches", str(PATCHES), "--applied", str(applied)),
            *("--out", str(mutated_dir)),
            silent=True,
        )
        expect = [line for line in str(out).splitlines() if line.strip()]
        mutated_apply = tmp / "authz-apply-widened.json"
        _apply_json(session, mutated_apply, "--patches", str(mutated_dir))
        mutated = tmp / "authz-widened.json"
        session.run("python", "tests/authz/record.py", "--out", str(mutated))
        session.run(
            *compare,
            *(
                "--patched",
                str(mutated),
                "--patches",
                str(mutated_dir),
                "--out",
                str(tmp / "authz-widened-report.json"),
            ),
            *(f"--expect-violations={text}" for text in expect),
        )
        result["self_test"] = {"mutation": "0010 method check dropped", "reported": expect}
    result["wall_seconds"] = round(time.monotonic() - started, 1)
    report.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    problems = [*result["harness_problems"], *(f"widened: {v}" for v in result["violations"])]
    _fail(session, problems)
    session.log(f"authz({pin}): {result['size']} no widening beyond the declared openings ({result['wall_seconds']}s)")


def _apply_json(session: nox.Session, out: Path, *args: str) -> None:
    """Apply the set strictly (fuzz 0) and keep ``apply_patches.py --json``'s answer in ``out``."""
    text = session.run(
        "python", "apply_patches.py", "--json", "--max-fuzz", "0", *args, silent=True, success_codes=[0, 1, 2]
    )
    out.write_text(str(text), encoding="utf-8")
    doc = json.loads(str(text))
    if not doc.get("ok"):
        session.error(f"applying the patch set failed: {doc.get('problems') or doc.get('error')}")


@nox.session(python="3.11")
def export_upstream(session: nox.Session) -> None:
    """Export the litellm patches of the 1.81.0 pin; `git am` them on a repository made from its sdist.

    The result must equal the patched site-packages files.
    """
    pin = "1.81.0"
    _install_pin(session, pin)
    session.install("pip")
    session.run("python", "apply_patches.py", "--max-fuzz", "0")
    tmp = Path(session.create_tmp())
    session.run(
        "python",
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--no-binary",
        ":all:",
        f"litellm=={pin}",
        "-d",
        str(tmp),
    )
    sdist = next(tmp.glob(f"litellm-{pin}.tar.gz"))
    out = session.run("python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", silent=True)
    session.run(
        "python",
        "-m",
        "pytest",
        "tests/unit/test_export_sdist.py",
        "-p",
        "no:randomly",
        env={"SITEPATCH_SDIST": str(sdist), "SITEPATCH_SITE": str(out).strip()},
    )


# Tagged "reports": they read the other sessions' reports, so CI runs them last, on every job's reports.
@nox.session(tags=["reports"])
def matrix(session: nox.Session) -> None:
    """Print the pins x patches matrix (applied / needed / fixed upstream) from the lock and the reports."""
    session.install(*RUNTIME)
    session.run("python", "tools/matrix.py", str(REPORTS))


@nox.session(tags=["reports"])
def report(session: nox.Session) -> None:
    """Render the pins x patches matrix as reports/matrix.md and reports/matrix.html (open it in a browser)."""
    session.install(*RUNTIME)
    session.run("python", "tools/report.py", str(REPORTS))


@nox.session(python="3.11", default=False)
@nox.parametrize("pin", [nox.param(p, id=p) for p in PINS])
def lock(session: nox.Session, pin: str) -> None:
    """Refresh a pin's entry in versions.lock: install it, apply the set, record what was applied."""
    _install_pin(session, pin)
    session.run("python", "apply_patches.py", "--max-fuzz", "0")
    session.run("python", "apply_patches.py", "lock", "update", "--pin", pin)


@nox.session(default=False)
def sweep(session: nox.Session) -> None:
    """Plan the patch set against every LiteLLM release on the index (no install): writes reports/sweep.json.

    Default range: the lowest pin to the newest release. Pass options after ``--``, e.g.
    ``nox -s sweep -- --from 1.83.0 --record coverage.json``. Files are fetched with HTTP range requests and
    cached in ``$SITEPATCH_CACHE_DIR`` (default ``~/.cache/sitepatch``); a warm run takes seconds.
    """
    session.install(*RUNTIME)
    REPORTS.mkdir(exist_ok=True)
    session.run("python", "apply_patches.py", "sweep", "-q", "--output", str(REPORTS / "sweep.json"), *session.posargs)


@nox.session(default=False)
def evidence(session: nox.Session) -> None:
    """Install group representatives and range ends, run their regression tests unpatched and patched.

    Reads reports/sweep.json (``nox -s sweep``); uv makes one venv per release. Spread it over CI jobs with
    ``nox -s evidence -- --shard 2/4``; merge into the coverage record with ``-- --record coverage.json``.
    """
    session.install(*RUNTIME, "uv")
    args = " ".join(session.posargs).replace("--shard ", "--shard=").split()
    shard = next((a.split("=", 1)[1] for a in args if a.startswith("--shard=")), "1-1").replace("/", "-")
    out = session.run(
        *("python", "apply_patches.py", "evidence", "--json", "--sweep", str(REPORTS / "sweep.json")),
        *("--work-dir", str(ROOT / ".nox" / "_evidence"), *session.posargs),
        silent=True,
        success_codes=[0, 1],
    )
    (REPORTS / f"evidence-{shard}.json").write_text(str(out), encoding="utf-8")
    doc = json.loads(str(out))
    for entry in doc.get("evidence", []):
        session.log(f"{entry['release']} {entry['patch']}: unpatched {entry['unpatched']}, patched {entry['patched']}")
    if not doc.get("ok"):
        session.error("some patched runs failed or some tests could not run; see the log above")


@nox.session(python="3.11", default=False)
def latest(session: nox.Session) -> None:
    """The newest LiteLLM on the index (not pinned): which patches apply, are upstream or conflict, which tests fail.

    Writes reports/latest.md. Not a default session: its result moves with the index.
    """
    # A resolver backtracks to an older litellm when the newest one's [proxy] pins cannot be met: find the
    # newest release first (its base install always resolves), then ask for exactly that one.
    session.install("litellm")
    newest = session.run("python", "-c", "import importlib.metadata as m; print(m.version('litellm'))", silent=True)
    packages = [f"litellm[proxy]=={str(newest).strip()}", "litellm-enterprise", "prisma", "pytest", "respx"]
    packages += ["pytest-randomly", *RUNTIME]
    try:
        session.install(*packages)
    except nox.command.CommandFailed:
        # The newest releases have pinned distributions the index lacks; the newest pin's overrides say why.
        overrides = [pin["overrides"] for pin in LOCK["pins"].values() if "overrides" in pin][-1]
        session.install("--override", str(ROOT / overrides), *packages)
    out = session.run("python", "apply_patches.py", "upstream-status", "--json", silent=True)
    rows = json.loads(str(out))
    report = REPORTS / "latest-unpatched-tests.json"
    numbers = ",".join(sorted({p["name"][:4] for p in rows["patches"] if p["status"] != "not-installed"}))
    _run_regression(session, numbers, report, success_codes=[0, 1, 5])
    tests = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {}
    versions = ", ".join(f"{k} {v}" for k, v in rows["distributions"].items() if k.startswith("litellm"))
    lines = [
        f"# Patches against the newest LiteLLM ({versions})",
        "",
        "| patch | against this release | recommendation | tests unpatched |",
        "|---|---|---|---|",
    ]
    for row in rows["patches"]:
        results = tests.get(row["name"][:4], {})
        failing = sum(1 for v in results.values() if v == "failed")
        verdict = f"{failing} of {len(results)} fail (needed)" if failing else f"all {len(results)} pass"
        lines.append(
            f"| {row['name']} | {row['status']} | {row['recommendation']} | {verdict if results else 'none ran'} |"
        )
    text = "\n".join(lines) + "\n"
    (REPORTS / "latest.md").write_text(text, encoding="utf-8")
    session.log("\n" + text)
