"""Test evidence for a sweep: install a release, run each patch's regression tests unpatched and patched.

Maintainers only (it installs LiteLLM into throwaway virtual environments with ``uv``). For each chosen release
(every group's representative, and the first and last release of every verdict range), :func:`run_release`:

1. creates a venv and installs ``litellm[proxy]==X`` plus the regression tests' dependencies with
   ``uv pip install --exclude-newer <upload date + 1 day>`` (dependencies as they were when X came out);
2. runs the regression tests of the patch ids in question **unpatched**: a patch shows its defect when its
   tests fail in the test body. Where the regression conftest has ``--verdicts`` (its own classifier: an
   ``AssertionError`` or the exception a ``defect`` marker declares, with the harness sound) that decides;
   otherwise pytest's ``--junitxml``: a ``<failure>`` is the defect, an ``<error>`` (setup, teardown,
   collection) a harness error, never evidence;
3. applies the patch set (a variant the sweep found applicable but whose ``Versions`` exclude X is forced in
   for this run only) and runs the same tests **patched**: they must all pass.

Results are cached per (release, patch sha256, test file sha256) in the work directory, so a rerun does only
what changed; :func:`merge_evidence` writes them into the coverage record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from sitepatch.errors import TargetError
from sitepatch.model import Patch

__all__ = [
    "EvidenceTask",
    "Runner",
    "classify_junit",
    "classify_verdicts",
    "merge_evidence",
    "plan_tasks",
    "run_release",
    "run_tasks",
    "shard",
    "version_problem",
]


def __dir__() -> list[str]:
    return __all__


Runner = Callable[[Sequence[str], Path], "subprocess.CompletedProcess[str]"]
"""``(command, cwd) -> completed process``: injected so that tests need no uv, no venv and no LiteLLM."""

TEST_DEPS = ("pytest", "respx", "httpx")
"""What the regression tests need beside ``litellm[proxy]`` (see pins/*.in)."""

NEEDS: tuple[tuple[str, str, str], ...] = (
    # From 1.89.1/1.90 on, and in the patch releases 1.84.8, 1.85.6, 1.86.6, 1.87.3 and 1.88.2 of older lines,
    # the proxy's auth error path calls is_prisma_engine_internal_error, which imports prisma: without it every
    # refused request is a 500, not the 401 the tests look for (pins/litellm-1.91.0.in installs it). Decided
    # by the installed code, not by the version number, because LiteLLM backports into older lines.
    ("litellm/proxy/db/exception_handler.py", "is_prisma_engine_internal_error", "prisma"),
)
"""(file in site-packages, text in it, requirement): what the tests need on a release whose code has that text."""
_TEST_FILE = re.compile(r"test_(\d{4})_")

REPAIRS: tuple[tuple[str, str], ...] = (
    # litellm 1.95-1.101 import fastapi.dependencies.utils.get_flat_dependant, which fastapi removed after
    # 0.139; releases uploaded after that resolve to a fastapi they cannot import (pins/litellm-1.96.0.in).
    ("get_flat_dependant", "fastapi<0.140"),
)
"""(text in the unpatched pytest output, requirement that repairs it): a release whose dependencies as of its
upload day break at import gets that one requirement added and is tested again; the entry says so."""


def _run(command: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - commands built here from validated versions
        list(command), cwd=cwd, capture_output=True, text=True, check=False, timeout=3600
    )


@dataclass(frozen=True, slots=True)
class EvidenceTask:
    """One release to install and test, and what to test there."""

    release: str
    upload_time: str
    paired: tuple[tuple[str, str], ...]
    patches: tuple[tuple[str, str, str], ...]
    """(patch id, variant file to apply or ``""`` for none, the sweep's verdict) for each patch id tested."""
    why: str
    """``group N representative`` or ``boundary of ...``."""


_NAME = re.compile(r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$")


def version_problem(text: object) -> str | None:
    """Why ``text`` cannot name a release here, or ``None`` when it can.

    A release's version becomes a directory name in the work dir (``venvs/<version>``, ``patches/<version>``)
    that is removed and refilled, and a requirement (``litellm[proxy]==<version>``): only a PEP 440 version in
    the normalized form ``sweep`` writes is taken, so it can hold no ``/``, ``..`` or space.

    >>> version_problem("1.81.0") is None
    True
    >>> version_problem("../x")
    "'../x' is not a PEP 440 version"
    """
    if not isinstance(text, str):
        return f"{text!r} is not a PEP 440 version (not a string)"
    try:
        normal = str(Version(text))
    except InvalidVersion:
        return f"{text!r} is not a PEP 440 version"
    if normal != text:
        return f"{text!r} is not a PEP 440 version as sweep writes it ({normal!r})"
    return None


def _checked_rows(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The document's release rows, each version (and paired version) checked; ``ValueError`` names the field."""
    rows: list[Mapping[str, Any]] = list(document["releases"])
    for i, row in enumerate(rows):
        problem = version_problem(row["version"])
        if problem is not None:
            msg = f"releases[{i}].version: {problem}"
            raise ValueError(msg)
        for name, version in dict(row.get("paired", {})).items():
            problem = version_problem(version)
            if problem is None and not _NAME.match(str(name)):
                problem = f"{name!r} is not a project name"
            if problem is not None:
                msg = f"releases[{i}].paired.{name}: {problem}"
                raise ValueError(msg)
    return rows


def _under(work: Path, *parts: str) -> Path:
    """``work/parts...``, which must stay inside ``work`` (the caller checked each part; this is the backstop).

    :raises TargetError: when it would not.
    """
    path = work.joinpath(*parts)
    if not path.resolve().is_relative_to(work.resolve()) or path.resolve() == work.resolve():
        msg = f"{path}: outside the work dir {work}; refusing to write or remove it"
        raise TargetError(msg)
    return path


def _check_task(task: EvidenceTask) -> None:
    problem = version_problem(task.release)
    problem = problem or next(filter(None, (version_problem(v) for _, v in task.paired)), None)
    if problem is not None:
        msg = f"release {task.release!r}: {problem}; the release names a directory in the work dir"
        raise TargetError(msg)


def plan_tasks(document: Mapping[str, Any], *, only: Sequence[str] = ()) -> list[EvidenceTask]:
    """The releases to test from a sweep document: each group's first release and each range's ends.

    :param only: patch ids to test (default: every patch id the sweep has).
    :raises ValueError: naming the field, when a version (or a paired one) is not a PEP 440 version as sweep
        writes it: each becomes a directory name in the work dir.
    """
    rows = {row["version"]: row for row in _checked_rows(document)}
    reasons: dict[str, list[str]] = {}
    seen: set[int] = set()
    for row in rows.values():
        if row["group"] not in seen:
            seen.add(row["group"])
            reasons.setdefault(row["version"], []).append(f"group {row['group']} representative")
    for number, runs in document.get("ranges", {}).items():
        for k, run in enumerate(runs):
            for end in {run["first"], run["last"]}:
                if end not in rows:
                    msg = f"ranges.{number}[{k}]: {end!r} is not the version of any release row"
                    raise ValueError(msg)
                reasons.setdefault(end, []).append(f"{number} {run['status']} range end")
    tasks = []
    for version, why in reasons.items():
        row = rows[version]
        chosen = []
        for number, cell in row["verdicts"].items():
            if only and number not in only:
                continue
            status = cell["status"]
            if status in ("applies", "already-present"):
                chosen.append((number, cell.get("variant", ""), status))
            elif status == "not-selected" and cell.get("candidates"):
                chosen.append((number, cell["candidates"][0], "candidate"))
            elif status == "not-selected" or (status == "fixed-upstream" and f"{number} {status} range end" in why):
                # Fixed upstream is proven once per range (at its ends), not on every group.
                chosen.append((number, "", status))
        if chosen:
            tasks.append(
                EvidenceTask(
                    release=version,
                    upload_time=row.get("upload_time", ""),
                    paired=tuple(row.get("paired", {}).items()),
                    patches=tuple(chosen),
                    why="; ".join(why),
                )
            )
    return sorted(tasks, key=lambda t: [int(p) if p.isdigit() else 0 for p in t.release.split(".")])


def shard(tasks: Sequence[EvidenceTask], spec: str) -> list[EvidenceTask]:
    """The tasks of shard ``i/n`` (1-based): every n-th task from the i-th.

    >>> [t for t in shard(list("abcde"), "2/2")]  # doctest: +SKIP
    ['b', 'd']
    """
    index, _, total = spec.partition("/")
    i, n = int(index), int(total)
    if not 1 <= i <= n:
        msg = f"--shard {spec}: write i/n with 1 <= i <= n"
        raise ValueError(msg)
    return [t for k, t in enumerate(tasks) if k % n == i - 1]


def classify_junit(xml_text: str) -> dict[str, dict[str, str]]:
    """Per patch id, each test's outcome from pytest's junit XML: passed, failed (in the body), error, skipped.

    A ``<failure>`` is pytest's report of the call phase failing (an assertion or an exception in the test
    body); an ``<error>`` is set-up, tear-down or collection failing, which says nothing about the defect.
    """
    outcomes: dict[str, dict[str, str]] = {}
    root = ET.fromstring(xml_text)  # noqa: S314 - our own pytest's output
    for case in root.iter("testcase"):
        classname = case.get("classname", "")
        match = _TEST_FILE.search(classname) or _TEST_FILE.search(case.get("file", "") or "")
        number = match.group(1) if match else "none"
        test_id = f"{classname}::{case.get('name', '')}"
        if case.find("error") is not None:
            outcome = "error"
        elif case.find("failure") is not None:
            outcome = "failed"
        elif case.find("skipped") is not None:
            outcome = "skipped"
        else:
            outcome = "passed"
        outcomes.setdefault(number, {})[test_id] = outcome
    return outcomes


def _unpatched_verdict(outcomes: Mapping[str, str]) -> str:
    values = set(outcomes.values())
    if not values:
        return "no-tests"
    if "error" in values:
        return "harness-error"
    if values <= {"failed"}:
        return "defect-shown"
    if values <= {"passed", "skipped"}:
        return "passed"
    return "partly-failed"


def _patched_verdict(outcomes: Mapping[str, str], unpatched: Mapping[str, str]) -> str:
    values = set(outcomes.values())
    if not values:
        return "no-tests"
    if "error" in values:
        # Set-up that breaks only once the patch is in (an import error in the patched module) is the
        # patch's failure, not the harness's.
        return "harness-error" if "error" in unpatched.values() else "failed"
    return "passed" if values <= {"passed", "skipped"} else "failed"


_MISSING_VERSION = re.compile(r"there is no version of ([A-Za-z0-9._-]+)==([A-Za-z0-9._+!-]+)")
_MISSING_PROJECT = re.compile(r"([A-Za-z0-9._-]+) was not found in the package registry")


def _overrides_for(message: str) -> list[str]:
    """Uv overrides for the pins a resolver error names as missing from the index.

    >>> _overrides_for("there is no version of litellm-proxy-extras==0.4.113 and ...")
    ['litellm-proxy-extras<=0.4.113']
    >>> _overrides_for("Because litellm-proxy was not found in the package registry")
    ['litellm-proxy ; sys_platform == "never"']
    """
    found = [f"{name}<={version}" for name, version in _MISSING_VERSION.findall(message)]
    found += [f'{name} ; sys_platform == "never"' for name in _MISSING_PROJECT.findall(message)]
    return list(dict.fromkeys(found))


def _rejudged(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A cached entry as this version judges it.

    Older entries of an id with no variant applied say ``not-applied`` although its tests ran with the set applied.
    """
    entry = dict(entry)
    tests: Mapping[str, Sequence[str]] = entry.get("tests", {})
    after = {k: v[1] for k, v in tests.items() if len(v) > 1 and v[1]}
    if entry.get("patched") == "not-applied" and after:
        entry["patched"] = _patched_verdict(after, {k: v[0] for k, v in tests.items() if v})
    return entry


def _needed(venv: Path) -> list[str]:
    """The :data:`NEEDS` requirements of the release installed in ``venv``."""
    found = []
    for member, marker, requirement in NEEDS:
        for path in venv.glob(f"lib/python*/site-packages/{member}"):
            if marker in path.read_text(encoding="utf-8", errors="replace"):
                found.append(requirement)
                break
    return found


def _exclude_newer(upload_time: str) -> str:
    moment = dt.datetime.fromisoformat(upload_time.replace("Z", "+00:00")) if upload_time else None
    if moment is None:
        return ""
    return (moment + dt.timedelta(days=1)).strftime("%Y-%m-%d")


def _test_files(repo: Path, number: str) -> list[Path]:
    return sorted((repo / "tests" / "regression").glob(f"test_{number}_*.py"))


def _sha(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _force_versions(data: bytes, release: str) -> bytes:
    """The patch file with its ``Versions`` replaced by ``==release`` (a candidate forced in for one run)."""
    return re.sub(rb"(?m)^Versions:.*$", f"Versions: =={release}".encode(), data, count=1)


@dataclass
class _Context:
    repo: Path
    patches: Sequence[Patch]
    work: Path
    runner: Runner
    python: str
    lock: threading.Lock = field(default_factory=threading.Lock)

    def cached(self) -> dict[str, Any]:
        path = self.work / "evidence-cache.json"
        with self.lock:
            return dict(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else {}

    def store(self, entries: Mapping[str, Any]) -> None:
        path = self.work / "evidence-cache.json"
        with self.lock:
            cache = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
            cache.update(entries)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(json.dumps(cache, indent=1), encoding="utf-8")
            tmp.replace(path)


def _cache_key(task: EvidenceTask, number: str, variant: str, context: _Context) -> str:
    shas = {p.name: p.sha256 for p in context.patches}
    tests = _sha(_test_files(context.repo, number))
    return f"{task.release}|{number}|{shas.get(variant, '')}|{tests}"


def run_release(task: EvidenceTask, context: _Context) -> list[dict[str, Any]]:
    """Install ``task.release``, run its patch ids' tests unpatched and patched; the evidence entries."""
    _check_task(task)
    cache = context.cached()
    keys = {n: _cache_key(task, n, v, context) for n, v, _ in task.patches}
    if all(k in cache for k in keys.values()):
        return [_rejudged(cache[k]) for k in keys.values()]
    venv = _under(context.work, "venvs", task.release)
    python = venv / "bin" / "python"
    run = context.runner
    date = _exclude_newer(task.upload_time)
    entries: list[dict[str, Any]] = []

    def entry(number: str, variant: str, status: str, **fields: Any) -> dict[str, Any]:  # noqa: ANN401
        shas = {p.name: p.sha256 for p in context.patches}
        return {
            "release": task.release,
            "patch": number,
            "variant": variant,
            "sweep": status,
            "patch_sha256": shas.get(variant),
            "test_sha256": _sha(_test_files(context.repo, number)),
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d"),
            "exclude_newer": date,
            **({"overrides": list(overrides)} if overrides else {}),
            **({"repairs": list(repairs)} if repairs else {}),
            **({"needed": list(needed)} if needed else {}),
            **fields,
        }

    shutil.rmtree(venv, ignore_errors=True)
    done = run(["uv", "venv", "-q", "--python", context.python, str(venv)], context.repo)
    install = ["uv", "pip", "install", "-q", "--python", str(python)]
    if date:
        install += ["--exclude-newer", date]
    packages = [f"litellm[proxy]=={task.release}", *(f"{n}=={v}" for n, v in task.paired), *TEST_DEPS]
    overrides: list[str] = []
    override_file = _under(context.work, "overrides", f"{task.release}.txt")
    repairs: list[str] = []
    needed: list[str] = []
    if done.returncode == 0:
        done = run([*install, *packages], context.repo)
    if done.returncode != 0:
        # A release whose [proxy] pins name files the index lacks: let the resolver pick the companion.
        packages = [f"litellm[proxy]=={task.release}", *TEST_DEPS]
        done = run([*install, *packages], context.repo)
    for _ in range(4):
        # Newer releases pin distributions the index does not have (litellm-proxy, X==Y.postN): override
        # exactly those, as pins/litellm-1.110.2-overrides.txt does by hand, and say so in the evidence.
        more = _overrides_for(done.stderr or "") if done.returncode != 0 else []
        if not more or set(more) <= set(overrides):
            break
        overrides.extend(m for m in more if m not in overrides)
        override_file.parent.mkdir(parents=True, exist_ok=True)
        override_file.write_text("\n".join(overrides) + "\n", encoding="utf-8")
        done = run([*install, "--override", str(override_file), *packages], context.repo)
    with_overrides = ("--override", str(override_file)) if overrides else ()
    if done.returncode == 0:
        needed = _needed(venv)
        if needed:
            done = run([*install, *with_overrides, *needed], context.repo)
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return [
            entry(n, v, s, unpatched="install-failed", patched="install-failed", note=why) for n, v, s in task.patches
        ]
    numbers = ",".join(n for n, _, _ in task.patches)
    unpatched, output = _pytest(task, context, python, numbers, "unpatched")
    for symptom, requirement in REPAIRS:
        if symptom in output and requirement not in repairs:
            fixed = run([*install, *with_overrides, requirement], context.repo)
            if fixed.returncode == 0:
                repairs.append(requirement)
                unpatched, output = _pytest(task, context, python, numbers, "unpatched")
    to_apply = _under(context.work, "patches", task.release)
    shutil.rmtree(to_apply, ignore_errors=True)
    to_apply.mkdir(parents=True)
    forced = {v for _, v, s in task.patches if s == "candidate"}
    for patch in context.patches:
        data = patch.path.read_bytes()
        (to_apply / patch.name).write_bytes(_force_versions(data, task.release) if patch.name in forced else data)
    applied = run(
        # This interpreter runs sitepatch (its unidiff and packaging); the venv is only the target.
        [sys.executable, str(context.repo / "apply_patches.py"), "--python", str(python), "--patches", str(to_apply)],
        context.repo,
    )
    patched = _pytest(task, context, python, numbers, "patched")[0] if applied.returncode == 0 else {}
    apply_note = [] if applied.returncode == 0 else (applied.stderr or applied.stdout).strip().splitlines()[-5:]
    for number, variant, status in task.patches:
        before = unpatched.get(number, {})
        after = patched.get(number, {})
        result = entry(
            number,
            variant,
            status,
            unpatched=_unpatched_verdict(before),
            # An id with no variant applied still has its tests run with the rest of the set applied: for a
            # patch fixed upstream that Depends on one the release still needs, that run is the proof.
            patched=(_patched_verdict(after, before) if variant or after else "not-applied")
            if applied.returncode == 0
            else "apply-failed",
            tests={k: [before.get(k, ""), after.get(k, "")] for k in sorted({*before, *after})},
        )
        if apply_note:
            result["note"] = apply_note
        entries.append(result)
    context.store({keys[e["patch"]]: e for e in entries})
    shutil.rmtree(venv, ignore_errors=True)
    return entries


def classify_verdicts(text: str) -> dict[str, dict[str, str]]:
    """Per patch id, each test's outcome from the regression conftest's ``--verdicts`` file.

    That file already tells a defect (a failure in the body on an ``AssertionError`` or the exception the
    test's ``defect`` marker declares) from a harness fault; its ``failed`` is the defect, ``error`` the harness.
    """
    document = json.loads(text)
    outcomes: dict[str, dict[str, str]] = {}
    for nodeid, verdict in dict(document.get("tests", {})).items():
        outcomes.setdefault(str(verdict.get("patch", "none")), {})[nodeid] = str(verdict.get("verdict", "error"))
    return outcomes


def _pytest(
    task: EvidenceTask, context: _Context, python: Path, numbers: str, phase: str
) -> tuple[dict[str, Any], str]:
    """Each test's outcome per patch id, and pytest's output (where :data:`REPAIRS` look for a symptom)."""
    report = _under(context.work, "junit", f"{task.release}-{phase}.xml")
    verdicts = report.with_suffix(".verdicts.json")
    report.parent.mkdir(parents=True, exist_ok=True)
    report.unlink(missing_ok=True)
    verdicts.unlink(missing_ok=True)
    conftest = context.repo / "tests" / "regression" / "conftest.py"
    # The regression harness's own classifier, where it has one; pytest's junit XML otherwise.
    classified = conftest.is_file() and "--verdicts" in conftest.read_text(encoding="utf-8")
    done = context.runner(
        [
            *(str(python), "-m", "pytest", "tests/regression", "-p", "no:cacheprovider", "-p", "no:randomly"),
            *("-o", "filterwarnings=default", "-o", "testpaths=tests/regression", "-q"),
            *(f"--patches={numbers}", f"--junitxml={report}"),
            *((f"--verdicts={verdicts}",) if classified else ()),
        ],
        context.repo,
    )
    output = f"{done.stdout or ''}{done.stderr or ''}"
    if classified and verdicts.is_file():
        return classify_verdicts(verdicts.read_text(encoding="utf-8")), output
    if not report.is_file():
        return {}, output
    return classify_junit(report.read_text(encoding="utf-8")), output


def run_tasks(  # noqa: PLR0913 - the run's inputs
    tasks: Sequence[EvidenceTask],
    *,
    repo: Path,
    patches: Sequence[Patch],
    work: Path,
    jobs: int = 1,
    runner: Runner = _run,
    python: str = "3.11",
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Run every task (``jobs`` at a time); the evidence entries, in task order.

    :raises TargetError: before anything runs, when a task's release is not a PEP 440 version (see
        :func:`version_problem`): it names directories in ``work`` that are removed and refilled.
    """
    for task in tasks:
        _check_task(task)
    context = _Context(repo=repo, patches=patches, work=work, runner=runner, python=python or sys.executable)

    def one(task: EvidenceTask) -> list[dict[str, Any]]:
        result = run_release(task, context)
        if progress is not None:
            progress(f"{task.release}: " + ", ".join(f"{e['patch']} {e['unpatched']}/{e['patched']}" for e in result))
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(one, tasks))
    return [e for r in results for e in r]


def merge_evidence(previous: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``previous`` with each (release, patch) entry replaced by its newer one from ``new``."""
    merged = {(e["release"], e["patch"]): dict(e) for e in previous}
    merged.update({(e["release"], e["patch"]): dict(e) for e in new})
    return [merged[k] for k in sorted(merged, key=lambda k: ([int(p) for p in re.findall(r"\d+", k[0])], k[1]))]
