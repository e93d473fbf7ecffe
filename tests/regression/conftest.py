"""Shared set-up for the LiteLLM regression tests.

These tests run inside a pin's virtual environment (see ``noxfile.py``), never in the engine's own test
session. The environment below must be in place before the first ``import litellm``: LiteLLM reads it at
import time, and without it importing LiteLLM reaches the network.

Also here: the ``patch`` and ``defect`` markers with ``--patches``, ``--patch-report`` and ``--verdicts``
(how each test's outcome is classified: :func:`classify`); the fixtures every test gets (LiteLLM imported
quietly, queued logging coroutines closed, LiteLLM's globals and the environment guarded against leaks,
Routers discarded: ``_isolation.py``); and the fixtures tests ask for: the database stand-in
``prisma_client`` (``_database.py``) and the managed-files proxies (``_managed_files_support.py``). The
support modules import LiteLLM only inside functions, so importing them here does not import it before
the environment is set.

**Verdicts.** A test shows its patch's defect only when it fails in its body (pytest's ``call`` phase) on
an assertion (``assert``, ``pytest.fail``, a ``pytest.raises`` that did not raise) or on the exception its
``@pytest.mark.defect(raises=..., match=...)`` marker declares, while the harness stayed sound. Anything
else is a broken harness, never evidence of a defect: an error in set-up or tear-down (a fixture, the leak
guard), another exception in the body, or a failure after the database stand-in or the network guard
refused something the code under test asked for (``_support.HARNESS_FAULTS``; the proxy turns those
refusals into HTTP 500s). Collection errors are reported too. ``--verdicts`` writes every test's verdict
with its reason (junit XML gets them as the properties ``sitepatch_verdict``/``sitepatch_reason``);
``noxfile.py`` judges them (``tools/verdicts.py``).
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from _database import PrismaClientStandIn
from _isolation import GlobalsSnapshot, RouterTracker, drain_background_logging
from _managed_files_support import ManagedProxy, build_managed_proxy
from _netguard import nonlocal_host
from _support import HARNESS_FAULTS, harness_fault, preload


def _refuse_network(event: str, args: tuple[object, ...]) -> None:
    """An audit hook: any socket connection or name lookup beyond this machine fails the test that made it.

    Provider HTTP is stubbed with respx and the proxy is driven in-process, so a real connection is a bug
    in the test (or LiteLLM reaching for the internet, e.g. a cost map download) that must not pass silently.
    """
    host = nonlocal_host(event, args, also_local=("testserver",))
    if host is None:
        return
    # harness_fault does not count a refusal inside LiteLLM's background logging (see there)
    raise RuntimeError(harness_fault(f"network access refused in a regression test: {event} {host} {_caller()}"))


def _caller() -> str:
    """Where a refused connection came from: the thread and the innermost frames outside the stdlib."""
    import threading
    import traceback

    stdlib = os.path.dirname(os.__file__)
    frames = [f for f in traceback.extract_stack()[:-3] if not f.filename.startswith(stdlib)]
    where = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames[-4:]))
    return f"(thread {threading.current_thread().name}: {where})"


sys.addaudithook(_refuse_network)

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("DISABLE_AIOHTTP_TRANSPORT", "True")
os.environ.setdefault("LITELLM_TELEMETRY", "False")


def _bundled_tokenizers() -> str | None:
    import importlib.util

    spec = importlib.util.find_spec("litellm")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "litellm_core_utils" / "tokenizers"
    return str(path) if path.is_dir() else None


_tok = _bundled_tokenizers()
if _tok is not None:
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", _tok)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--patches",
        default=None,
        help="comma-separated patch numbers whose tests to run (default: all)",
    )
    parser.addoption(
        "--patch-report",
        default=None,
        help="write a JSON report of test verdicts per patch number to this file",
    )
    parser.addoption(
        "--verdicts",
        default=None,
        help="write every test's verdict with its reason, and collection errors, as JSON to this file",
    )
    parser.addoption(
        "--harness-tests",
        action="store_true",
        default=False,
        help="with --patches: also run the harness's own tests (those without a patch marker)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "patch(number): the sitepatch patch this test proves")
    config.addinivalue_line(
        "markers",
        "defect(raises, match=None): the exception (a class, a class name or a tuple of them; its message "
        "matching the regular expression match) with which the test's body shows its patch's defect, "
        "besides AssertionError",
    )
    config.stash[_VERDICTS] = {}


_VERDICTS = pytest.StashKey[dict[str, dict[str, str]]]()
_PHASES = pytest.StashKey[dict[str, tuple[str, str]]]()


def patch_number(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("patch")
    return str(marker.args[0]) if marker is not None and marker.args else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = config.getoption("--patches")
    if wanted is None:
        return
    numbers = {n.strip() for n in wanted.split(",") if n.strip()}
    harness = config.getoption("--harness-tests")

    def keep(item: pytest.Item) -> bool:
        number = patch_number(item)
        return number in numbers or (harness and number is None)

    drop = [item for item in items if not keep(item)]
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = [item for item in items if keep(item)]


# --------------------------------------------------------------------------------------------------
# Verdicts
# --------------------------------------------------------------------------------------------------

PASSED = "passed"
DEFECT = "failed"  # the name the reports have always used: the test failed and so showed the defect
ERROR = "error"
SKIPPED = "skipped"


def _names(cls: type) -> set[str]:
    return {name for klass in cls.__mro__ for name in (klass.__qualname__, f"{klass.__module__}.{klass.__qualname__}")}


def expected_exception(item: pytest.Item, exc: BaseException) -> bool:
    """Whether ``exc`` is the exception the test's ``defect(raises=..., match=...)`` marker declares.

    ``raises`` is a class, a class name (``"APIConnectionError"``, ``"litellm.APIConnectionError"``) or a
    tuple of them; a name matches any class in the exception's MRO by its name or module-qualified name,
    so a test can name an exception of LiteLLM without importing LiteLLM before it is set up. ``match``
    (optional, a regular expression searched in ``str(exc)``) narrows it down: LiteLLM wraps most errors,
    a harness failure included, in a few exception types.
    """
    marker = item.get_closest_marker("defect")
    if marker is None:
        return False
    wanted = marker.kwargs.get("raises", marker.args[0] if marker.args else ())
    pattern = marker.kwargs.get("match")
    if pattern is not None and re.search(pattern, str(exc)) is None:
        return False
    for one in wanted if isinstance(wanted, tuple) else (wanted,):
        if isinstance(one, type) and isinstance(exc, one):
            return True
        if isinstance(one, str) and one in _names(type(exc)):
            return True
    return False


def classify(item: pytest.Item, phases: dict[str, tuple[str, str]]) -> tuple[str, str]:
    """The test's verdict and its reason, from each phase's (outcome, detail).

    ``phases`` maps ``setup``/``call``/``teardown`` to (``passed``/``failed``/``skipped``/``defect``,
    detail); :func:`pytest_runtest_makereport` has already decided whether a failed call is ``defect``.
    """
    for phase in ("setup", "call", "teardown"):
        outcome, detail = phases.get(phase, (PASSED, ""))
        if outcome == SKIPPED:
            return SKIPPED, f"skipped in {phase}: {detail}"
        if outcome == "failed":
            where = "in its body" if phase == "call" else f"in {phase}"
            return ERROR, f"harness error {where}: {detail}"
    if phases.get("call", (PASSED, ""))[0] == "defect":
        return DEFECT, phases["call"][1]
    if "call" not in phases:
        return ERROR, "the test body did not run"
    return PASSED, ""


# pytest.fail() and a pytest.raises() that "DID NOT RAISE" are assertions made through pytest
_ASSERTIONS = (AssertionError, pytest.fail.Exception)


def _exception_line(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    text = f"{excinfo.typename}: {excinfo.value}".strip()
    return text.splitlines()[0][:400] if text else excinfo.typename


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    report: pytest.TestReport = yield
    phases = item.stash.setdefault(_PHASES, {})
    faults = list(HARNESS_FAULTS)
    if report.skipped:
        phases[report.when] = (SKIPPED, str(report.longrepr)[-300:])
    elif report.passed:
        phases[report.when] = (PASSED, "")
    elif call.excinfo is None:
        phases[report.when] = ("failed", "failed without an exception")
    elif report.when != "call":
        phases[report.when] = ("failed", _exception_line(call.excinfo))
    elif faults:
        phases[report.when] = ("failed", "the harness refused what the code asked for: " + "; ".join(faults))
    elif isinstance(call.excinfo.value, _ASSERTIONS) or expected_exception(item, call.excinfo.value):
        phases[report.when] = ("defect", _exception_line(call.excinfo))
    else:
        phases[report.when] = (
            "failed",
            (
                f"unexpected {_exception_line(call.excinfo)} (if this exception is the defect, declare it: "
                "@pytest.mark.defect(raises=...))"
            ),
        )
    if report.when == "teardown":
        verdict, reason = classify(item, phases)
        item.config.stash[_VERDICTS][item.nodeid] = {
            "patch": patch_number(item) or "harness",
            "verdict": verdict,
            "reason": reason,
        }
        # junit XML (--junitxml) carries the same classification
        report.user_properties.append(("sitepatch_verdict", verdict))
        if reason:
            report.user_properties.append(("sitepatch_reason", reason))
    return report


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    HARNESS_FAULTS.clear()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    # LiteLLM logs each call in its thread pool after answering it: let that finish inside this test,
    # so none of it runs (and touches the globals or the network) while the next test runs.
    try:
        return (yield)
    finally:
        drain_background_logging()


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        COLLECTION_ERRORS.append(f"{report.nodeid or '<session>'}: {str(report.longrepr)[-600:]}")


COLLECTION_ERRORS: list[str] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import json

    verdicts = session.config.stash[_VERDICTS]
    errors = COLLECTION_ERRORS
    path = session.config.getoption("--patch-report")
    if path:
        report: dict[str, dict[str, str]] = {}
        for nodeid, result in verdicts.items():
            report.setdefault(result["patch"], {})[nodeid] = result["verdict"]
        Path(path).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    path = session.config.getoption("--verdicts")
    if path:
        document = {"exitstatus": int(exitstatus), "collection_errors": errors, "tests": verdicts}
        Path(path).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------------


# Imported once before the first test: importing them registers callbacks and sets globals, which the
# leak guard would otherwise blame on whichever test imports them first (see _support.preload).
PRELOADED = ("litellm.proxy.proxy_server", "litellm_enterprise.proxy.hooks.managed_files")


@pytest.fixture(scope="session", autouse=True)
def _litellm_imported() -> None:
    import importlib.util

    preload(*(m for m in PRELOADED if importlib.util.find_spec(m.split(".")[0]) is not None))


@pytest.fixture(autouse=True)
def _globals_unchanged(_litellm_imported: None) -> Iterator[GlobalsSnapshot]:
    """Fail the test that leaves LiteLLM's process-wide state or the environment changed (``_isolation.py``).

    The leaked state is restored before the failure is reported, so the next test starts clean.
    """
    snapshot = GlobalsSnapshot.take()
    yield snapshot
    leaks = snapshot.leaks()
    if leaks:
        snapshot.restore()
        pytest.fail(
            "the test leaked process-wide state (restored now; undo it in the test, e.g. with monkeypatch):\n  "
            + "\n  ".join(leaks),
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def _routers_discarded(_globals_unchanged: GlobalsSnapshot) -> Iterator[RouterTracker]:
    """Discard every ``litellm.Router`` the test made, with the callbacks it registered, after the test."""
    with RouterTracker().active() as tracker:
        yield tracker


def close_queued_logging_coroutines() -> None:
    """Close the logging coroutines still queued in litellm's global logging worker.

    Each TestClient request runs on its own short-lived event loop. A success-logging coroutine that
    litellm queued just before that loop closed is never run; when the worker later re-binds to a new
    loop (litellm >= 1.80.16 drops the old queue) the coroutine is garbage-collected and Python warns
    "coroutine 'Logging.async_success_handler' was never awaited" -- inside whichever test runs then,
    where a warnings-as-errors session fails it. Closing them before and after each test keeps the
    tests independent of their order. Only queued, never-started logging work is discarded.
    """
    logging_worker = sys.modules.get("litellm.litellm_core_utils.logging_worker")
    queue = getattr(getattr(logging_worker, "GLOBAL_LOGGING_WORKER", None), "_queue", None)
    if queue is None:
        return
    while True:
        try:
            task = queue.get_nowait()
        except (asyncio.QueueEmpty, RuntimeError):
            return
        coroutine = task.get("coroutine") if isinstance(task, dict) else None
        if coroutine is not None:
            coroutine.close()


@pytest.fixture(autouse=True)
def _no_queued_logging_coroutines() -> Iterator[None]:
    close_queued_logging_coroutines()
    yield
    close_queued_logging_coroutines()


@pytest.fixture
def prisma_client() -> PrismaClientStandIn:
    """A new, empty in-memory database behind LiteLLM's own query code."""
    return PrismaClientStandIn()


@pytest.fixture
def managed_proxy(monkeypatch: pytest.MonkeyPatch, prisma_client: PrismaClientStandIn) -> ManagedProxy:
    """The proxy with the real managed-files hook of litellm-enterprise registered."""
    return build_managed_proxy(monkeypatch, prisma_client, with_hook=True)


@pytest.fixture
def proxy_without_managed_files(monkeypatch: pytest.MonkeyPatch, prisma_client: PrismaClientStandIn) -> ManagedProxy:
    """The proxy as a wheel-only install runs it: no managed-files hook."""
    return build_managed_proxy(monkeypatch, prisma_client, with_hook=False)
